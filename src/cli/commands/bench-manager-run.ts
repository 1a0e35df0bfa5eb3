import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { hex } from '../../bytes/util.ts';
import type { ChainPolicy } from '../../chain/types.ts';
import { generateVendorKey } from '../../crypto/rsa3072.ts';
import { EmulatedWorld } from '../../cot/world.ts';
import { openStore } from '../../store/open-store.ts';
import { callJson } from '../../server/http-json.ts';
import { LinkFactory, rekey } from '../../server/link-factory.ts';
import { createToken } from '../../server/tokens.ts';
import { onStopSignal, SIGNAL_EXIT } from '../signals.ts';
import { stopChild } from '../stop-child.ts';
import { enumFlag, intFlag, printJson, say, UsageError } from '../io.ts';
import { BenchClient, mainThreadCpuMs, processCpuMs } from './bench-manager-driver.ts';
import { startManager } from './bench-manager-spawn.ts';
import { benchPgUrl, cpuBetween, dropBenchSchema, pgBackendsCpuMs, pgBaseUrl } from './bench-manager-pg.ts';

/** The manager's group-commit counters (GET /metrics): SQLite commits, or PostgreSQL append batches. */
export async function storeCommits(
  url: string,
  token: string,
): Promise<{ transactions: number; commits: number } | undefined> {
  try {
    const text = await (
      await fetch(`${url}/metrics`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(10_000),
      })
    ).text();
    const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    const r = { transactions: read('catena_store_write_transactions'), commits: read('catena_store_commits') };
    return Number.isFinite(r.transactions) && Number.isFinite(r.commits) ? r : undefined;
  } catch {
    return undefined;
  }
}

export const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

export interface BenchManagerFlags {
  db: string;
  pgUrl?: string;
  appends: string;
  concurrency: string;
  warmup: string;
  managerUrl?: string;
  token?: string;
  sendCollateral?: boolean;
  verifyThreads?: string;
  profile?: string;
  replicas?: string;
  json?: boolean;
}

/**
 * `catena bench manager`: sustained appends with remote evidence over HTTP on loopback. The manager
 * runs as its own process (`catena manager`); this process pre-builds N signed remote links (each a
 * fresh element key inside one child enclave, its quote verified and the link signed inside the
 * parent enclave), then POSTs them with C requests in flight. The manager re-verifies every quote
 * (warm DCAP verifier) and commits each append durably before answering.
 */
export async function runBenchManager(o: BenchManagerFlags): Promise<void> {
  if (o.managerUrl && !o.token) throw new UsageError('--manager-url needs --token');
  enumFlag('db', o.db, ['sqlite', 'postgres'] as const);
  const n = intFlag('appends', o.appends, 1, 100_000);
  const conc = intFlag('concurrency', o.concurrency, 1, 256);
  const log = (m: string) => process.stderr.write(`[bench manager] ${m}\n`);
  const tmp = await mkdtemp(join(tmpdir(), 'catena-bench-mgr-'));
  // A schema of its own per run (time and random: benches of several users on one server never meet).
  const schema = `bench_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const pgTarget = o.db === 'postgres' ? benchPgUrl(pgBaseUrl(o.pgUrl), schema) : undefined;
  const db = pgTarget?.url ?? join(tmp, 'bench.db');
  let manager: ChildProcess | undefined;
  // Ctrl-C, SIGTERM or SIGHUP: stop the manager we started and remove the temporary files, then exit 128 + n.
  const offSignal = onStopSignal((sig) => {
    log(`${sig}: stopping the manager`);
    void (manager ? stopChild(manager) : Promise.resolve())
      .then(() => rm(tmp, { recursive: true, force: true }))
      .finally(() => process.exit(SIGNAL_EXIT[sig]));
  });
  const world = await EmulatedWorld.create({ clouds: 1, platformsPerCloud: 2 });
  try {
    await world.collateralFor();
    let m: { url: string };
    let admin: string;
    if (o.managerUrl) {
      m = { url: o.managerUrl.replace(/\/+$/, '') };
      admin = o.token!;
    } else {
      const store = await openStore(db);
      admin = (await createToken(store, 'admin', 'bench')).token;
      await store.close();
      log(`starting the manager (${o.db})`);
      const started = await startManager(db, join(tmp, 'manager-key.pem'), tmp, {
        ...(o.profile ? { profileDir: resolve(o.profile) } : {}),
        ...(o.verifyThreads !== undefined ? { verifyThreads: intFlag('verify-threads', o.verifyThreads, 0, 64) } : {}),
      });
      manager = started.child;
      m = started;
    }
    const policy: ChainPolicy = { acceptedTcbStatuses: ['UpToDate'] };
    const chain = await callJson<{ id: string }>(`${m.url}/v1/chains`, {
      body: { name: 'bench', root: hex(world.root), emulatedRoot: true, policy },
      token: admin,
    });
    const vendor = generateVendorKey();
    const img = world.elementImage(vendor);
    const [parent, child] = await Promise.all([world.loadElement(0, img), world.loadElement(1, img)]);
    const links = new LinkFactory(world, world.root);
    const { nonce } = await callJson<{ nonce: string }>(`${m.url}/v1/chains/${chain.id}/challenge`, {
      method: 'POST',
      body: {},
      token: admin,
    });
    const first = await callJson<{ element: { id: string } }>(`${m.url}/v1/chains/${chain.id}/elements`, {
      body: await links.first(chain.id, parent, nonce),
      token: admin,
    });
    const warmup = intFlag('warmup', o.warmup, 0, 10_000);
    log(
      `pre-building ${warmup} + ${n} signed remote links (quote + DCAP check + signature inside the parent enclave; not timed)`,
    );
    // Evidence is prepared before the timed phase: making quotes and signing links is the agents'
    // work, not the manager's. Bodies are serialised here too, so the timed phase only sends bytes.
    const client = new BenchClient(m.url, admin);
    const path = `/v1/chains/${chain.id}/elements`;
    const requests: Buffer[] = [];
    for (let i = 0; i < warmup + n; i++) {
      const b = await links.remote(chain.id, first.element.id, parent, child, policy, 2, await rekey(child));
      // The link names its collateral by SHA-256; the chain holds it since the first element.
      requests.push(client.request(path, Buffer.from(JSON.stringify(o.sendCollateral ? b : { link: b.link }))));
    }
    const lat: number[] = [];
    let failed = 0;
    const drive = async (from: number, to: number, record: boolean): Promise<void> => {
      let next = from;
      await Promise.all(
        Array.from({ length: conc }, async () => {
          for (;;) {
            const i = next++;
            if (i >= to || performance.now() > deadline) return;
            const s = performance.now();
            const res = await client.send(requests[i]);
            if (res.ok) {
              if (record) lat.push(performance.now() - s);
            } else {
              failed++;
              if (failed <= 3) log(`append failed: HTTP ${res.status} ${res.detail ?? ''}`);
            }
          }
        }),
      );
    };
    let deadline = performance.now() + 120_000;
    // Warm-up, not measured: connections opened, JIT and the manager's caches warm.
    if (warmup > 0) await drive(0, warmup, false);
    failed = 0;
    log(`driving ${n} appends, ${conc} in flight`);
    const commits0 = await storeCommits(m.url, admin);
    const managerCpu0 = manager?.pid !== undefined ? processCpuMs(manager.pid) : undefined;
    const loopCpu0 = manager?.pid !== undefined ? mainThreadCpuMs(manager.pid) : undefined;
    const pgCpu0 = pgTarget && manager ? await pgBackendsCpuMs(db, schema) : undefined;
    const driverCpu0 = process.cpuUsage();
    const t0 = performance.now();
    deadline = t0 + 120_000;
    await drive(warmup, warmup + n, true);
    const ms = performance.now() - t0;
    const driverCpu = process.cpuUsage(driverCpu0);
    const managerCpu1 = manager?.pid !== undefined ? processCpuMs(manager.pid) : undefined;
    const loopCpu1 = manager?.pid !== undefined ? mainThreadCpuMs(manager.pid) : undefined;
    const pgCpu1 = pgCpu0 ? await pgBackendsCpuMs(db, schema) : undefined;
    client.close();
    const commits1 = await storeCommits(m.url, admin);
    const secs = ms / 1000;
    lat.sort((a, b) => a - b);
    const v = await callJson<{ valid: boolean; size: number }>(`${m.url}/v1/chains/${chain.id}/verify`, {
      token: admin,
      timeoutMs: 300_000,
    });
    const done = Math.max(1, lat.length);
    const r = {
      db: o.db,
      appends: lat.length,
      failed,
      concurrency: conc,
      warmup,
      collateral: o.sendCollateral ? 'sent' : 'by reference',
      evidence: 'prepared before the timed phase',
      durationMs: Math.round(ms),
      seconds: Number(secs.toFixed(2)),
      appendsPerSec: Number((lat.length / secs).toFixed(1)),
      p50Ms: lat.length ? Number(pct(lat, 50).toFixed(2)) : null,
      p99Ms: lat.length ? Number(pct(lat, 99).toFixed(2)) : null,
      ...(managerCpu0 !== undefined && managerCpu1 !== undefined
        ? { cpuMsPerAppend: Number(((managerCpu1 - managerCpu0) / done).toFixed(3)) }
        : {}),
      ...(loopCpu0 !== undefined && loopCpu1 !== undefined
        ? { eventLoopCpuMsPerAppend: Number(((loopCpu1 - loopCpu0) / done).toFixed(3)) }
        : {}),
      ...(commits0 && commits1 && commits1.commits > commits0.commits
        ? {
            transactionsPerCommit: Number(
              ((commits1.transactions - commits0.transactions) / (commits1.commits - commits0.commits)).toFixed(2),
            ),
          }
        : {}),
      ...(pgCpu0 && pgCpu1 ? { pgBackendCpuMsPerAppend: Number((cpuBetween(pgCpu0, pgCpu1) / done).toFixed(3)) } : {}),
      ...(pgTarget ? { pgTransport: pgTarget.transport } : {}),
      driverCpuMsPerAppend: Number(((driverCpu.user + driverCpu.system) / 1000 / done).toFixed(3)),
      cores: availableParallelism(),
      loadAvg1: Number(loadavg()[0].toFixed(2)),
      chainValid: v.valid,
      chainSize: v.size,
    };
    if (o.json) printJson(r);
    else
      say(
        false,
        `manager (${r.db}): ${r.appends} appends in ${r.seconds} s = ${r.appendsPerSec}/s; p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms; chain valid: ${r.chainValid}`,
      );
  } finally {
    offSignal();
    if (manager && manager.exitCode === null) {
      const done = new Promise((r) => manager!.once('exit', r));
      manager.kill('SIGTERM');
      await done;
    }
    await world.close();
    if (pgTarget && !o.managerUrl) await dropBenchSchema(db, schema);
    await rm(tmp, { recursive: true, force: true });
  }
}
