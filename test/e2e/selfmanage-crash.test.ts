import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pcsCollateral } from '../../src/attestation/collateral/from-pcs.ts';
import { hex } from '../../src/bytes/util.ts';
import { stopChild } from '../../src/cli/stop-child.ts';
import { buildElementImage } from '../../src/cot/element.ts';
import { generateVendorKey } from '../../src/crypto/rsa3072.ts';
import { agentPeerVerification, buildAgentEnclaveImage } from '../../src/server/agent-enclave.ts';
import { CotDriver } from '../../src/server/cot-driver.ts';
import { callJson } from '../../src/server/http-json.ts';
import { startEmulatedPcs } from '../helpers/emulated-pcs.ts';

const BIN = fileURLToPath(new URL('../../bin/catena.js', import.meta.url));

/** Starts the CLI; resolves with its first JSON document on stdout (and the child). */
function start(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; ready: Promise<Record<string, any>>; exited: Promise<NodeJS.Signals | number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CATENA_AGENT_TOKEN: '', ...env },
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const exited = new Promise<NodeJS.Signals | number | null>((r) => child.on('exit', (code, sig) => r(sig ?? code)));
  const ready = new Promise<Record<string, any>>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no JSON within 90 s: ${err.slice(-500)}`)), 90_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      try {
        const j = JSON.parse(out) as Record<string, any>;
        clearTimeout(timer);
        resolve(j);
      } catch {
        /* not complete yet */
      }
    });
    void exited.then((x) => {
      clearTimeout(timer);
      reject(new Error(`exited ${String(x)} before it was ready: ${err.slice(-800)}`));
    });
  });
  ready.catch(() => {});
  return { child, ready, exited };
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) assert.fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Issue 13, "Bad input and faults": the manager is SIGKILLed in the middle of a migration (right after
 * the replacement enclave was loaded, before its parent admitted it). Restarted on the same data, it
 * takes the job over once the dead runner's lease expires, continues from the recorded progress (the
 * enclave already loaded is the one admitted: nothing is done twice), and the chain and the audit log
 * verify.
 */
test(
  'SIGKILL of the manager mid-migration: after restart the migration completes exactly once, the chain verifies, catena audit verify passes',
  { timeout: 300_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'catena-e2e-smcrash-'));
    const children: ChildProcess[] = [];
    const { pcs, pcsUrl, root } = await startEmulatedPcs(dir);
    try {
      const vendor = generateVendorKey();
      await writeFile(join(dir, 'vendor.pem'), vendor.export({ format: 'pem', type: 'pkcs8' }) as string, {
        mode: 0o600,
      });
      const agentMrSigner = hex(buildAgentEnclaveImage(vendor).mrSigner);
      const managerArgs = (listen: string, agentListen: string) => [
        'manager',
        '--data',
        join(dir, 'm'),
        '--listen',
        listen,
        '--agent-listen',
        agentListen,
        '--agent-mrsigner',
        agentMrSigner,
        '--trust-root',
        join(dir, 'root.der'),
        '--pcs',
        pcsUrl,
        '--agent-check',
        '500',
        '--watch-interval',
        '1s',
        '--log-level',
        'warn',
        '--json',
      ];
      // The first manager dies right after the migration's first step is committed.
      const m1 = start(managerArgs('127.0.0.1:0', '127.0.0.1:0'), { CATENA_FAILPOINT: 'step:migrate.load' });
      children.push(m1.child);
      const info = await m1.ready;
      const managerUrl = info.url as string;
      const tok = spawnSync(
        process.execPath,
        [BIN, 'admin', 'token', 'create', '--data', join(dir, 'm'), '--role', 'admin', '--json'],
        { encoding: 'utf8' },
      );
      assert.equal(tok.status, 0, tok.stderr);
      const admin = (JSON.parse(tok.stdout) as { token: string }).token;

      const agent = (cloud: string) => {
        const a = start([
          'agent',
          '--manager',
          info.agentListener.url,
          '--manager-cert',
          info.agentListener.certificate,
          '--cloud',
          cloud,
          '--platforms',
          '2',
          '--manufacturer',
          join(dir, 'mfr'),
          '--vendor-key',
          join(dir, 'vendor.pem'),
          '--trust-root',
          join(dir, 'root.der'),
          '--collateral',
          pcsUrl,
          '--json',
        ]);
        children.push(a.child);
        return a;
      };
      const [a, b] = [agent('cloud-a'), agent('cloud-b')];
      const [ai, bi] = [await a.ready, await b.ready];

      const verify = agentPeerVerification({
        roots: [root],
        collateral: pcsCollateral(pcsUrl),
        mrSigner: agentMrSigner,
      });
      const driver = await CotDriver.createChain(
        managerUrl,
        admin,
        {
          name: 'crash',
          root: hex(root),
          emulatedRoot: true,
          policy: {
            identities: [{ mrSigner: hex(buildElementImage(vendor).mrSigner), isvProdId: 1, minIsvSvn: 1 }],
            acceptedTcbStatuses: ['UpToDate'],
            reactions: { 'agent-lost': ['migrate'] },
          },
        },
        { ratls: { verify }, token: admin },
      );
      const e0 = await driver.load(ai.url as string, 0);
      await driver.appendFirst(e0);
      const e1 = await driver.load(bi.url as string, 0);
      await driver.append(e0, e1, 'remote');
      const e2 = await driver.load(bi.url as string, 0);
      await driver.append(e1, e2, 'local');
      const chain = driver.chain.id;

      // Agent B is lost; the manager starts moving e1 (and e2 under it) to agent A, and dies.
      b.child.kill('SIGKILL');
      assert.equal(await m1.exited, 'SIGKILL', 'the failpoint killed the manager mid-migration');

      const u = new URL(managerUrl);
      const agentPort = new URL(info.agentListener.url as string).port;
      const m2 = start(managerArgs(`127.0.0.1:${u.port}`, `127.0.0.1:${agentPort}`));
      children.push(m2.child);
      await m2.ready;
      const get = <T>(path: string) => callJson<T>(`${managerUrl}${path}`, { token: admin });
      type Row = { id: string; status: string; agent?: string; parent: string | null };
      // The dead runner's lease (30 s) expires, the new one resumes the job from its progress.
      const rows = await until('e1 and e2 run on agent A instead', async () => {
        const els = (await get<{ elements: Row[] }>(`/v1/chains/${chain}/elements`)).elements;
        return els.length === 3 && els.every((e) => e.agent === ai.id) ? els : undefined;
      });
      assert.equal(rows[0].id, e0.element, 'the first enclave stays');
      assert.ok(!rows.some((r) => r.id === e1.element || r.id === e2.element), 'the old elements are retired');
      assert.equal(rows[2].parent, rows[1].id, 'the local child was re-admitted by the moved parent');
      const v = await get<{ valid: boolean; failures: unknown[] }>(`/v1/chains/${chain}/verify`);
      assert.deepEqual([v.valid, v.failures], [true, []]);

      // Exactly once: one load and one admission per moved element, the one loaded before the crash reused.
      const audit = (
        await get<{ records: { action: string; detail: { name?: string; detail?: { from?: string } } }[] }>(
          '/v1/audit?limit=1000',
        )
      ).records;
      const steps = (name: string, from: string) =>
        audit.filter((r) => r.action === 'job.step' && r.detail.name === name && r.detail.detail?.from === from).length;
      for (const from of [e1.element, e2.element]) {
        assert.equal(steps('migrate.load', from), 1, `one enclave loaded for ${from}`);
        assert.equal(steps('migrate.admit', from), 1, `one admission for ${from}`);
      }
      assert.equal(audit.filter((r) => r.action === 'element.append').length, 5, '3 appends, then 2 replacements');
      await stopChild(m2.child, 10_000);
      const av = spawnSync(process.execPath, [BIN, 'audit', 'verify', '--data', join(dir, 'm'), '--json'], {
        encoding: 'utf8',
      });
      assert.equal(av.status, 0, av.stdout + av.stderr);
    } finally {
      await Promise.all(children.map((c) => stopChild(c, 5000)));
      await pcs.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
);
