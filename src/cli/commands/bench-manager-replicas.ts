import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { hex } from '../../bytes/util.ts';
import type { ChainPolicy } from '../../chain/types.ts';
import { generateVendorKey } from '../../crypto/rsa3072.ts';
import { EmulatedWorld } from '../../cot/world.ts';
import { openStore } from '../../store/open-store.ts';
import { callJson } from '../../server/http-json.ts';
import { LinkFactory, rekey } from '../../server/link-factory.ts';
import { loadOrCreateManagerKey } from '../../server/manager-key.ts';
import { createToken } from '../../server/tokens.ts';
import { onStopSignal, SIGNAL_EXIT } from '../signals.ts';
import { stopChild } from '../stop-child.ts';
import { intFlag, printJson, say } from '../io.ts';
import { BenchClient } from './bench-manager-driver.ts';
import { readBack } from './bench-manager-readback.ts';
import { pct, storeCommits, type BenchManagerFlags } from './bench-manager-run.ts';
import { startManager } from './bench-manager-spawn.ts';
import { AppendedEvents } from './bench-manager-sse.ts';
import { benchPgUrl, dropBenchSchema, pgBaseUrl } from './bench-manager-pg.ts';

/** Every DUPLICATE_EVERY-th link is sent to two replicas at once: exactly one may store it. */
const DUPLICATE_EVERY = 10;

/**
 * `catena bench manager --db postgres --replicas N`: N `catena manager` processes on one fresh
 * PostgreSQL schema, sharing the manager key, serve one chain. Link i goes to replica i mod N, and
 * every 10th also to the next replica at the same moment (the store must refuse one of the two).
 * Afterwards the chain and the whole audit log are read back from PostgreSQL (not from a replica):
 * `lost` counts acknowledged links not stored (and seq holes), `forks` links acknowledged twice,
 * duplicated seqs, missing parents and a broken audit chain (bench-manager-readback.ts). Each
 * replica's SSE stream is watched too: `sseMissed` counts acknowledged appends a replica's stream
 * did not carry within 10 s (events cross replicas by LISTEN/NOTIFY).
 */
export async function runBenchReplicas(o: BenchManagerFlags, replicas: number): Promise<void> {
  const n = intFlag('appends', o.appends, 1, 100_000);
  const conc = intFlag('concurrency', o.concurrency, 1, 256);
  const warmup = intFlag('warmup', o.warmup, 0, 10_000);
  const log = (m: string) => process.stderr.write(`[bench manager --replicas ${replicas}] ${m}\n`);
  const tmp = await mkdtemp(join(tmpdir(), 'catena-bench-rep-'));
  const schema = `bench_rep_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const { url: db } = benchPgUrl(pgBaseUrl(o.pgUrl), schema);
  const managers: ChildProcess[] = [];
  const offSignal = onStopSignal((sig) => {
    log(`${sig}: stopping the managers`);
    void Promise.all(managers.map((m) => stopChild(m)))
      .then(() => rm(tmp, { recursive: true, force: true }))
      .finally(() => process.exit(SIGNAL_EXIT[sig]));
  });
  const world = await EmulatedWorld.create({ clouds: 1, platformsPerCloud: 2 });
  const store = await openStore(db);
  const streams: AppendedEvents[] = [];
  try {
    await world.collateralFor();
    const admin = (await createToken(store, 'admin', 'bench')).token;
    const keyFile = join(tmp, 'manager-key.pem');
    const managerKey = await loadOrCreateManagerKey(keyFile); // the replicas share it
    const urls: string[] = [];
    log(`starting ${replicas} managers on one PostgreSQL schema`);
    for (let r = 0; r < replicas; r++) {
      const data = join(tmp, `replica-${r}`);
      await mkdir(data);
      const m = await startManager(db, keyFile, data);
      managers.push(m.child);
      urls.push(m.url);
    }
    const policy: ChainPolicy = { acceptedTcbStatuses: ['UpToDate'] };
    const chain = await callJson<{ id: string }>(`${urls[0]}/v1/chains`, {
      body: { name: 'bench', root: hex(world.root), emulatedRoot: true, policy },
      token: admin,
    });
    const img = world.elementImage(generateVendorKey());
    const [parent, child] = await Promise.all([world.loadElement(0, img), world.loadElement(1, img)]);
    const links = new LinkFactory(world, world.root);
    // A challenge of one replica answered at another (stateless challenges, shared manager key).
    const { nonce } = await callJson<{ nonce: string }>(`${urls[0]}/v1/chains/${chain.id}/challenge`, {
      method: 'POST',
      body: {},
      token: admin,
    });
    const first = await callJson<{ element: { id: string } }>(`${urls[replicas - 1]}/v1/chains/${chain.id}/elements`, {
      body: await links.first(chain.id, parent, nonce),
      token: admin,
    });
    for (const u of urls) streams.push(await AppendedEvents.open(u, admin, chain.id));
    log(`pre-building ${warmup} + ${n} signed remote links (not timed)`);
    const clients = urls.map((u) => new BenchClient(u, admin));
    const path = `/v1/chains/${chain.id}/elements`;
    const jobs: Array<{ id: string; requests: Array<{ r: number; bytes: Buffer }> }> = [];
    for (let i = 0; i < warmup + n; i++) {
      const b = await links.remote(chain.id, first.element.id, parent, child, policy, 2, await rekey(child));
      const body = Buffer.from(JSON.stringify({ link: b.link }));
      const targets = i % DUPLICATE_EVERY === DUPLICATE_EVERY - 1 ? [i % replicas, (i + 1) % replicas] : [i % replicas];
      jobs.push({ id: b.link.child, requests: targets.map((r) => ({ r, bytes: clients[r].request(path, body) })) });
    }
    const acked = new Map<string, number>([[first.element.id, 1]]);
    const lat: number[] = [];
    let failed = 0;
    let refusedDuplicates = 0;
    const drive = async (from: number, to: number, record: boolean): Promise<void> => {
      let next = from;
      await Promise.all(
        Array.from({ length: conc }, async () => {
          for (;;) {
            const i = next++;
            if (i >= to) return;
            const job = jobs[i];
            await Promise.all(
              job.requests.map(async ({ r, bytes }) => {
                const s = performance.now();
                const res = await clients[r].send(bytes);
                if (res.ok) {
                  acked.set(job.id, (acked.get(job.id) ?? 0) + 1);
                  if (record) lat.push(performance.now() - s);
                } else if (res.status === 409 && job.requests.length > 1) {
                  if (record) refusedDuplicates++;
                } else {
                  failed++;
                  if (failed <= 3) log(`append failed at replica ${r}: HTTP ${res.status} ${res.detail ?? ''}`);
                }
              }),
            );
          }
        }),
      );
    };
    if (warmup > 0) await drive(0, warmup, false);
    log(`driving ${n} links over ${replicas} replicas, ${conc} in flight`);
    const commits0 = await Promise.all(urls.map((u) => storeCommits(u, admin)));
    const t0 = performance.now();
    await drive(warmup, warmup + n, true);
    const ms = performance.now() - t0;
    const commits1 = await Promise.all(urls.map((u) => storeCommits(u, admin)));
    for (const c of clients) c.close();
    // The streams opened after the first element: every later acknowledged append must be on each.
    const streamed = [...acked.keys()].filter((id) => id !== first.element.id);
    const sseMissed = await Promise.all(streams.map((s) => s.missing(streamed, 10_000)));
    const back = await readBack(store, chain.id, acked, managerKey.publicKey);
    const verified = await Promise.all(
      urls.map((u) =>
        callJson<{ valid: boolean; size: number }>(`${u}/v1/chains/${chain.id}/verify`, {
          token: admin,
          timeoutMs: 300_000,
        }),
      ),
    );
    lat.sort((a, b) => a - b);
    const batches = commits0.map((c0, i) => {
      const c1 = commits1[i];
      return c0 && c1 && c1.commits > c0.commits
        ? Number(((c1.transactions - c0.transactions) / (c1.commits - c0.commits)).toFixed(2))
        : null;
    });
    const r = {
      db: 'postgres',
      replicas,
      appends: lat.length,
      failed,
      refusedDuplicates,
      duplicatesSent: jobs.slice(warmup).filter((j) => j.requests.length > 1).length,
      concurrency: conc,
      warmup,
      durationMs: Math.round(ms),
      appendsPerSec: Number((lat.length / (ms / 1000)).toFixed(1)),
      p50Ms: lat.length ? Number(pct(lat, 50).toFixed(2)) : null,
      p99Ms: lat.length ? Number(pct(lat, 99).toFixed(2)) : null,
      lost: back.lost,
      forks: back.forks,
      readBack: back.detail,
      sseMissed,
      appendsPerCommit: batches,
      chainValid: verified.every((v) => v.valid),
      chainSize: verified.map((v) => v.size),
      cores: availableParallelism(),
      loadAvg1: Number(loadavg()[0].toFixed(2)),
    };
    if (o.json) printJson(r);
    else
      say(
        false,
        `${replicas} replicas: ${r.appends} appends at ${r.appendsPerSec}/s, p99 ${r.p99Ms} ms; lost ${r.lost}, forks ${r.forks}; SSE missed ${sseMissed.join('/')}`,
      );
  } finally {
    offSignal();
    for (const s of streams) s.close();
    await Promise.all(
      managers.map(async (m) => {
        if (m.exitCode !== null || m.signalCode !== null) return;
        const done = new Promise((res) => m.once('exit', res));
        m.kill('SIGTERM');
        await done;
      }),
    );
    await store.close();
    await world.close();
    await dropBenchSchema(db, schema);
    await rm(tmp, { recursive: true, force: true });
  }
}
