import type { ChildProcess } from 'node:child_process';
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { selfSignedCertificate } from '../../formats/self-signed-certificate.ts';
import { openStore } from '../../store/open-store.ts';
import { createToken } from '../../server/tokens.ts';
import { onStopSignal, SIGNAL_EXIT } from '../signals.ts';
import { stopChild } from '../stop-child.ts';
import { intFlag, printJson, say } from '../io.ts';
import { pct } from './bench-manager-run.ts';
import { startManager } from './bench-manager-spawn.ts';

export interface BenchAgentsFlags {
  agents: string;
  rounds: string;
  checkInterval: string;
  concurrency: string;
  json?: boolean;
}

/** A self-signed P-256 certificate for the emulated agents' listeners (the manager checks liveness only). */
async function agentTlsIdentity(): Promise<{ key: string; cert: string }> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const der = selfSignedCertificate({
    commonName: 'Catena bench agent',
    organization: 'Catena',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    spki: new Uint8Array(await webcrypto.subtle.exportKey('spki', keys.publicKey)),
    privateKey: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }),
    extensions: [],
  });
  return {
    key: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({
      format: 'pem',
      type: 'pkcs8',
    }) as string,
    cert: new X509Certificate(der).toString(),
  };
}

/** Reads one gauge from the manager's Prometheus text (GET /metrics). */
async function metric(url: string, token: string, names: string[]): Promise<Record<string, number>> {
  const text = await (
    await fetch(`${url}/metrics`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(30_000),
    })
  ).text();
  return Object.fromEntries(names.map((n) => [n, Number(new RegExp(`^${n} (\\S+)$`, 'm').exec(text)?.[1])]));
}

/** The manager's resident memory now and at its peak (MB), from /proc (Linux). */
function managerMemory(pid: number): { rssMb?: number; peakRssMb?: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
    return { rssMb: Math.round(kb('VmRSS') / 1024), peakRssMb: Math.round(kb('VmHWM') / 1024) };
  } catch {
    return {};
  }
}

/**
 * N agents, each an https listener of this process on its own 127.0.0.1 port (one certificate,
 * one handler: `GET /healthz` → 200, counted), each with its own agent token, register with a
 * fresh `catena manager` (SQLite) — C registrations in flight, each timed — and are then
 * health-checked by it every --check-interval ms. The timed window is R full rounds (every agent
 * checked R times) after the registrations; the manager's event-loop delay over that window comes
 * from its /metrics (catena_event_loop_delay_p99_seconds, read at both ends), its memory from /proc.
 */
export async function runBenchAgents(o: BenchAgentsFlags): Promise<void> {
  const n = intFlag('agents', o.agents, 1, 20_000);
  const rounds = intFlag('rounds', o.rounds, 1, 100);
  const interval = intFlag('check-interval', o.checkInterval, 100, 600_000);
  const conc = intFlag('concurrency', o.concurrency, 1, 1024);
  const log = (m: string) => process.stderr.write(`[bench agents] ${m}\n`);
  const tmp = await mkdtemp(join(tmpdir(), 'catena-bench-agents-'));
  const db = join(tmp, 'bench.db');
  let manager: ChildProcess | undefined;
  const servers: Server[] = [];
  const offSignal = onStopSignal((sig) => {
    void (manager ? stopChild(manager) : Promise.resolve())
      .then(() => rm(tmp, { recursive: true, force: true }))
      .finally(() => process.exit(SIGNAL_EXIT[sig]));
  });
  try {
    const store = await openStore(db);
    const admin = (await createToken(store, 'admin', 'bench')).token;
    log(`creating ${n} agent tokens`);
    const tokens = await Promise.all(
      Array.from({ length: n }, (_, i) => createToken(store, 'agent', 'bench', { agentId: `agent-${i}` })),
    );
    await store.close();
    const tls = await agentTlsIdentity();
    const checks = new Array<number>(n).fill(0);
    log(`starting ${n} agent listeners`);
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const server = createServer({ ...tls, minVersion: 'TLSv1.3' }, (req, res) => {
        if (req.url === '/healthz') checks[i]++;
        res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-length': '0' }).end();
      });
      await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
      servers.push(server);
      ports.push((server.address() as { port: number }).port);
    }
    const started = await startManager(db, join(tmp, 'manager-key.pem'), tmp, { agentCheckMs: interval });
    manager = started.child;
    const url = started.url;
    log(`registering ${n} agents, ${conc} in flight`);
    const regLat: number[] = [];
    let failed = 0;
    let next = 0;
    const r0 = performance.now();
    await Promise.all(
      Array.from({ length: conc }, async () => {
        for (;;) {
          const i = next++;
          if (i >= n) return;
          const s = performance.now();
          const res = await fetch(`${url}/v1/agents`, {
            method: 'POST',
            headers: { authorization: `Bearer ${tokens[i].token}`, 'content-type': 'application/json' },
            body: JSON.stringify({
              id: `agent-${i}`,
              cloud: `cloud-${i % 4}`,
              url: `https://127.0.0.1:${ports[i]}`,
              platforms: [{ index: 0, ppid: (i % 256).toString(16).padStart(2, '0').repeat(16) }],
            }),
            signal: AbortSignal.timeout(60_000),
          });
          await res.arrayBuffer();
          if (res.status === 201) regLat.push(performance.now() - s);
          else {
            failed++;
            if (failed <= 3) log(`registration failed: HTTP ${res.status}`);
          }
        }
      }),
    );
    const registerMs = performance.now() - r0;
    // The window: from now until every agent has been checked `rounds` more times.
    const names = ['catena_event_loop_delay_p99_seconds', 'catena_event_loop_delay_max_seconds'];
    await metric(url, admin, names); // starts the window
    const base = checks.slice();
    const t0 = performance.now();
    const deadline = t0 + (rounds + 2) * interval + 120_000;
    while (checks.some((c, i) => c - base[i] < rounds) && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const windowMs = performance.now() - t0;
    const loop = await metric(url, admin, names);
    const mem = manager.pid !== undefined ? managerMemory(manager.pid) : {};
    const agentsView = (await (
      await fetch(`${url}/v1/agents`, { headers: { authorization: `Bearer ${admin}` } })
    ).json()) as { agents: Array<{ status: string }> };
    regLat.sort((a, b) => a - b);
    const done = checks.map((c, i) => c - base[i]);
    const r = {
      agents: n,
      registered: regLat.length,
      failed,
      registerMs: Math.round(registerMs),
      registerP50Ms: regLat.length ? Number(pct(regLat, 50).toFixed(2)) : null,
      registerP99Ms: regLat.length ? Number(pct(regLat, 99).toFixed(2)) : null,
      checkIntervalMs: interval,
      rounds,
      windowMs: Math.round(windowMs),
      checksInWindow: done.reduce((a, b) => a + b, 0),
      agentsCheckedEveryRound: done.filter((c) => c >= rounds).length,
      active: agentsView.agents.filter((a) => a.status === 'active').length,
      eventLoopDelayP99Ms: Number((loop.catena_event_loop_delay_p99_seconds * 1000).toFixed(2)),
      eventLoopDelayMaxMs: Number((loop.catena_event_loop_delay_max_seconds * 1000).toFixed(2)),
      managerRssMb: mem.rssMb ?? null,
      managerPeakRssMb: mem.peakRssMb ?? null,
      cores: availableParallelism(),
      loadAvg1: Number(loadavg()[0].toFixed(2)),
    };
    if (o.json) printJson(r);
    else
      say(
        false,
        `${n} agents: registered ${r.registered} in ${r.registerMs} ms; ${rounds} check rounds: event-loop delay p99 ${r.eventLoopDelayP99Ms} ms (max ${r.eventLoopDelayMaxMs}); manager RSS ${r.managerRssMb} MB`,
      );
  } finally {
    offSignal();
    if (manager && manager.exitCode === null) {
      const exited = new Promise((res) => manager!.once('exit', res));
      manager.kill('SIGTERM');
      await exited;
    }
    await Promise.all(servers.map((s) => new Promise((res) => s.close(res))));
    await rm(tmp, { recursive: true, force: true });
  }
}
