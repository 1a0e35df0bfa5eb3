import { Chain } from '../chain/chain.ts';
import { linkSigningBytes } from '../chain/signing.ts';
import type { Link } from '../chain/types.ts';
import { verifyBundleV2 } from '../chain/verify-bundle-v2.ts';
import { BundleWriter } from '../chain/write-bundle-v2.ts';
import type { CollateralBlob } from '../chain/types.ts';
import { bundleFileSink, fileChunks } from '../cot/bundle-file.ts';
import { LinkCryptoPool } from '../cot/link-crypto-pool.ts';
import { LinkPipeline } from '../cot/link-pipeline.ts';
import { SignatureLane } from '../cot/signature-lane.ts';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CotBuilder } from '../cot/builder.ts';
import { createDcapRemoteVerifier, verifiedQuotesOf } from '../cot/dcap-remote-verifier.ts';
import { buildElementImage } from '../cot/element.ts';
import { EmulatedWorld } from '../cot/world.ts';
import { generateP256 } from '../crypto/ecdsa.ts';
import { generateVendorKey } from '../crypto/rsa3072.ts';
import type { EnclaveImage } from '../sgx/build.ts';
import type { RuntimeKind } from '../sgx/enclave.ts';
import { Manufacturer } from '../sgx/manufacturer/manufacturer.ts';
import { defaultTcbLevels } from '../sgx/manufacturer/tcb-levels.ts';
import { DEFAULT_FMSPC, DEFAULT_PCE_SVN, DEFAULT_TCB_COMPONENTS } from '../sgx/platform.ts';
import { buildQuotingImages, type QuotingImages } from '../sgx/qe/quoting-service.ts';
import { BenchError } from './errors.ts';
import { LinkFloorSampler, measureCryptoFloor, type FloorParts } from './floor.ts';
import { leastSquares, logLogSlope, median, round } from './stats.ts';

/**
 * `catena bench cot` (issue 6): the seed's experiment — the cost of building a chain of trust against
 * its size — over emulated SGX platforms in several clouds, in one process.
 *
 * Once per run, MACHINE SETUP (not part of any chain's cost, reported as machineSetupMs): the emulated
 * manufacturer's keys and certificates, its signing of the QE/PCE images and of the collateral, the
 * enclave vendor's RSA-3072 key and its signing of the element image — all things a manufacturer or
 * vendor does once, offline, for every chain ever built.
 *
 * Per size, a fresh CHAIN on fresh platforms:
 *  - start-up (startupMs): boot the platforms (root secrets, CPU), launch each QE and PCE (attestation
 *    key and PCK key created inside, PCK certificate issued, QE certified by the PCE), load the
 *    collateral, create the chain (owner key, signed header) with a cold DCAP verifier, launch the
 *    first enclave and admit it (its quote checked by the owner) — everything before the second element;
 *  - then size−1 more elements, each a fresh enclave launch (element key created inside) admitted by a
 *    random earlier element (a random recursive tree: depth ~ ln n), locally (same platform, REPORT MAC)
 *    or remotely (another platform, DCAP quote checked inside the parent) in the proportion
 *    `localShare`, interleaved; each element's time (launch + admission + the chain's check) is charged
 *    to its link type;
 *  - buildMs = start-up + all elements (wall), cpuMs = process user+sys over the same span, peakRssMb =
 *    the largest RSS sampled during build and verify;
 *  - then the proof bundle is verified offline (verifyBundle, a new cold DCAP verifier): verifyMs.
 * Across sizes: marginalUs.local / .remote = least-squares slope of the time charged to each link type
 * against the number of links of that type; slope = least-squares slope of log(buildMs) against
 * log(size) over the sizes ≥ 1,000; floorUs = the crypto floor (floor.ts) measured in the same run.
 */

export interface CotBenchOptions {
  sizes: number[];
  runtime?: RuntimeKind;
  /** Share of local links among the links after the first element (0..1). Default 0.5. */
  localShare?: number;
  clouds?: number;
  platformsPerCloud?: number;
  /** Seed of the tree shape (parents, interleaving). */
  seed?: number;
  /**
   * Live elements: a new element's parent is drawn among the `live` most recent ones, and older ones
   * admit no more children (their enclaves are unloaded, the streaming chain forgets them). Default
   * 10,000: chains up to that size are the plain random recursive tree the seed's experiment defines
   * (the sizes `catena bench cot` runs by default), larger ones a random tree over a sliding window.
   * Why a window: a loaded enclave costs ≈ 12 KB of RSS, so a chain where every element may still
   * admit a child cannot stay under 1 GB at 100,000 elements (nor 2 GB at 1,000,000).
   */
  live?: number;
  /**
   * Chains of at least this many elements are built on two threads (LinkPipeline with a SignatureLane:
   * the chain's link-signature checks run on a worker while the next links are made; links in runs of
   * one type). Smaller ones are built on one thread, link types alternating, as before. Default 20,000:
   * the sizes `check bench` measures the CPU ratio at stay single-threaded (the lane's CPU overhead was
   * not measured on a quiet machine), the 100,000-element build uses the second core.
   */
  pipelineFrom?: number;
  /** The isolated runtime launches a worker per enclave: sizes above this are skipped (reported). */
  isolatedMaxSize?: number;
  onProgress?: (p: { size: number; phase: 'start' | 'build' | 'verify' | 'done'; done: number; total: number }) => void;
}

export interface CotSizeResult {
  size: number;
  buildMs: number;
  verifyMs: number;
  cpuMs: number;
  peakRssMb: number;
  /** The same over the build alone (verification's worker threads add their own heaps). */
  buildPeakRssMb: number;
  /** Start-up (everything before the second element), wall and CPU ms. */
  startupMs: number;
  startupCpuMs: number;
  verifyCpuMs: number;
  links: { local: number; remote: number };
  /** Wall and CPU time charged to each link type (ms). */
  linkMs: { local: number; remote: number };
  linkCpuMs: { local: number; remote: number };
  /** Mean enclave launch (load + element key) per element after the first (µs). */
  launchUs: number;
  /** Size of the proof bundle v2 written while the chain grew (bytes). */
  bundleBytes: number;
  /** Worker threads that checked link signatures and quotes during verification (besides the main thread). */
  verifyThreads: number;
  valid: boolean;
}

/** Captures the first local and remote link as they stream into the bundle (the crypto floor's real inputs). */
class SamplingWriter extends BundleWriter {
  first?: Link;
  local?: Link;
  remote?: Link;
  override link(l: Link, collateral?: CollateralBlob, cloud?: string, quote?: Uint8Array): void {
    if (l.parent === null) this.first ??= l;
    else if (l.type === 'local') this.local ??= l;
    else this.remote ??= l;
    super.link(l, collateral, cloud, quote);
  }
}

export interface CotBenchResult {
  sizes: CotSizeResult[];
  /** Median over sizes of each chain's start-up CPU time (see above), ms. */
  startupOffsetMs: number;
  /** The same in wall time (other processes on the machine inflate it). */
  startupOffsetWallMs: number;
  /** CPU µs per element, by link type (least squares over the sizes). */
  marginalUs: { local: number; remote: number };
  /** The same from wall time. */
  marginalWallUs: { local: number; remote: number };
  /** The crypto floor of one link (CPU µs): the link's primitives in its order, sampled over the run (floor.ts). */
  floorUs: { local: number; remote: number };
  /** marginal ÷ floor. */
  ratio: { local: number; remote: number };
  /** The sum of the primitives each timed alone in a tight loop (a lower bound no link reaches), and marginal ÷ it. */
  floorIsolatedUs: { local: number; remote: number };
  ratioIsolated: { local: number; remote: number };
  /** Floor batches taken (each of 10 local and 10 remote links). */
  floorSamples: number;
  /** log–log slope of build CPU time against size, sizes ≥ 1,000 (null with fewer than two such sizes). */
  slope: number;
  slopeWall: number;
  /** What the figures above measure. */
  metric: 'cpu';
  runtime: RuntimeKind;
  clouds: number;
  platforms: number;
  localShare: number;
  /** Live elements (see CotBenchOptions.live). */
  live: number;
  /** One-time manufacturer/vendor setup (ms): not part of any chain. */
  machineSetupMs: number;
  /** The first chain start-up of the process (module loading and JIT included), ms: not in the median. */
  coldStartMs: number;
  /** Mean per-enclave launch over all sizes (µs). */
  launchUs: number;
  floorParts: FloorParts;
  fit: {
    local: { interceptMs: number; r2: number };
    remote: { interceptMs: number; r2: number };
    slopeSizes: number[];
  };
  skipped: Array<{ size: number; reason: string }>;
  node: string;
  at: string;
}

/** mulberry32: a small deterministic PRNG for the tree shape. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Machine {
  manufacturer: Manufacturer;
  quotingImages: QuotingImages;
  image: EnclaveImage;
}

async function machineSetup(): Promise<Machine> {
  const manufacturer = await Manufacturer.create();
  const level = defaultTcbLevels({ components: [...DEFAULT_TCB_COMPONENTS], pceSvn: DEFAULT_PCE_SVN }, new Date())[0];
  manufacturer.ensureFmspc(DEFAULT_FMSPC, { components: [...DEFAULT_TCB_COMPONENTS], pceSvn: DEFAULT_PCE_SVN });
  const quotingImages = buildQuotingImages(manufacturer.enclaveSigningKey, level.pceSvn);
  await manufacturer.collateral(DEFAULT_FMSPC, 'processor'); // signs TCB info, QE identity, CRLs once
  const image = buildElementImage(generateVendorKey());
  return { manufacturer, quotingImages, image };
}

/**
 * Chains built on two threads interleave links by blocks of RUN: in each, a share `localShare` of local
 * links, then remote ones (128 and 128 by default), so that the pipeline runs within a type (see
 * buildOne). Single-threaded chains alternate link by link (blocks of 2), as every chain did before.
 */
const RUN = 256;

class RssSampler {
  peak = 0;
  sample(): void {
    const r = process.memoryUsage.rss();
    if (r > this.peak) this.peak = r;
  }
}

interface OneChain {
  result: CotSizeResult;
  samples: { local: Link | undefined; remote: Link | undefined; quote: Uint8Array | undefined };
}

async function buildOne(
  m: Machine,
  size: number,
  o: Required<
    Pick<CotBenchOptions, 'runtime' | 'localShare' | 'clouds' | 'platformsPerCloud' | 'seed' | 'live' | 'pipelineFrom'>
  >,
  progress: CotBenchOptions['onProgress'],
  floor?: LinkFloorSampler,
): Promise<OneChain> {
  // Two threads for large chains: the lane is opened before the chain's timing (its worker's start-up
  // belongs to no chain) and closed after the build, so verification does not carry its memory.
  const lane = size >= o.pipelineFrom ? await SignatureLane.open({ batch: 2 }) : undefined;
  const rand = prng(o.seed + size);
  const rss = new RssSampler();
  rss.sample();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const cpuMsSince = (c: NodeJS.CpuUsage) => {
    const d = process.cpuUsage(c);
    return (d.user + d.system) / 1000;
  };
  const world = await EmulatedWorld.create({
    clouds: o.clouds,
    platformsPerCloud: o.platformsPerCloud,
    runtime: o.runtime,
    manufacturer: m.manufacturer,
    quotingImages: m.quotingImages,
  });
  // The build runs in a function of its own: once it returns, nothing of the chain, the builder or
  // the writer is reachable (an async function's frame would keep them through verification).
  const grow = async () => {
    const collateral = await world.collateralFor();
    void collateral;
    // A cold DCAP verifier of its own that may reuse, at append, the accepted verification of the very
    // same quote, collateral and instant the parent enclave just made (docs/chain.md, "Verification reuse").
    const remote = createDcapRemoteVerifier(world.root, { reuse: verifiedQuotesOf(world.root) });
    // Streaming build: every accepted link goes to the v2 bundle file right away; the chain keeps none.
    const bundlePath = join(tmpdir(), `catena-bench-cot-${process.pid}-${size}.bundle`);
    const sink = bundleFileSink(bundlePath);
    const writer = new SamplingWriter(sink.write);
    const chain = Chain.create({
      stream: writer,
      name: `bench-${size}`,
      root: world.root,
      emulatedRoot: true,
      policy: {},
      owner: generateP256(),
      remote,
      now: new Date(),
      // The lane's verdicts on link signatures, computed while the next link was made (LinkPipeline).
      ...(lane ? { prefetched: lane.prefetched } : {}),
    });
    const builder = new CotBuilder(chain, world, world.root);
    const nPlatforms = world.platforms.length;
    const first = await builder.appendFirst(await world.loadElement(0, m.image));
    const startupMs = performance.now() - t0;
    const startupCpuMs = cpuMsSince(cpu0);
    // The live elements (the `live` most recent: parents are drawn among them) and their platforms,
    // as a window sliding over the elements: ids[k] is element base + k.
    let ids: string[] = [first.id];
    let platformOf: number[] = [0];
    let base = 0;
    const linkMs = { local: 0, remote: 0 };
    const linkCpuMs = { local: 0, remote: 0 };
    const links = { local: 0, remote: 0 };
    let launchMs = 0;
    const every = Math.max(1, Math.floor(size / 200));
    // Crypto-floor batches between elements (outside their timing), about one per 250 elements.
    const floorEvery = Math.max(250, Math.floor(size / 100));
    // Links are appended up to 8 behind (LinkPipeline): the chain's check of a link's signature runs
    // on the lane's thread while the next links are made. CPU and wall time are charged in consecutive
    // windows, each to one link type: a window holds making link k, maybe appending an earlier link and
    // the lane's work on earlier links, all of one type — at a change of type (links come in runs, RUN
    // above) the pipeline is flushed first, and so it is before anything done outside the elements'
    // timing (floor batches, unloading the enclaves that left the window): no thread's work on a link
    // goes uncharged or to the other type.
    // Single-threaded (no lane): every link appended as soon as it is made, link types alternating.
    const pipe = new LinkPipeline(builder, lane, lane ? 8 : 0);
    const run = lane ? RUN : 2;
    let pending: 'local' | 'remote' | undefined;
    let mark = process.cpuUsage();
    let markT = performance.now();
    const charge = (t: 'local' | 'remote') => {
      const c = process.cpuUsage();
      const n = performance.now();
      linkCpuMs[t] += (c.user - mark.user + c.system - mark.system) / 1000;
      linkMs[t] += n - markT;
      mark = c;
      markT = n;
    };
    const settle = async () => {
      if (!pending) return;
      await pipe.flush();
      charge(pending);
      pending = undefined;
    };
    // Elements that left the window, unloaded once their children's links are appended.
    const leaving: string[] = [];
    const untimed = async (i: number) => {
      for (const gone of leaving) {
        await builder.detach(gone).destroy();
        chain.retire(gone);
      }
      leaving.length = 0;
      if (floor && i < size && i % floorEvery === 0) floor.sample();
      mark = process.cpuUsage();
      markT = performance.now();
    };
    floor?.sample();
    await untimed(1);
    for (let i = 1; i < size; i++) {
      const local = nPlatforms < 2 || links.local < Math.round(Math.ceil(i / run) * run * o.localShare);
      const type = local ? 'local' : 'remote';
      // A parent drawn uniformly among the live elements: the `live` most recent (all of them while
      // the chain is smaller): a random recursive tree over a sliding window.
      const lo = Math.max(0, i - o.live);
      const p = lo + Math.floor(rand() * (i - lo)) - base;
      const parent = ids[p];
      const childPlatform = local
        ? platformOf[p]
        : (platformOf[p] + 1 + Math.floor(rand() * (nPlatforms - 1))) % nPlatforms;
      const due = floor !== undefined && i % floorEvery === 0;
      if (pending && (pending !== type || pipe.holds(parent) || due)) {
        await settle();
        await untimed(i);
      }
      const ts = performance.now();
      const handle = await world.loadElement(childPlatform, m.image);
      launchMs += performance.now() - ts;
      const made = await builder.make(type, parent, handle);
      await pipe.submit(made);
      charge(type);
      pending = type;
      links[type]++;
      ids.push(made.link.child);
      platformOf.push(childPlatform);
      // The element leaving the window admits no more children: its enclave is unloaded (outside
      // the elements' timing, as the floor's batches are) and the chain lets go of it.
      if (i + 1 > o.live) leaving.push(ids[i - o.live - base]);
      // Drop what left the window (in steps, so that the arrays are not copied per element).
      if (ids.length > 2 * o.live + 1024) {
        const drop = i + 1 - o.live - base;
        ids = ids.slice(drop);
        platformOf = platformOf.slice(drop);
        base += drop;
      }
      // In the next element's window (a few µs every `every` elements).
      if (i % every === 0) {
        rss.sample();
        progress?.({ size, phase: 'build', done: i + 1, total: size });
      }
    }
    await settle();
    await untimed(size);
    const written = chain.finishStream();
    sink.close();
    const buildMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    rss.sample();
    // The live enclaves are unloaded before verification (outside the build's time).
    await builder.destroyAll();
    return {
      bundlePath,
      written,
      buildMs,
      cpu,
      startupMs,
      startupCpuMs,
      links,
      linkMs,
      linkCpuMs,
      launchMs,
      sampleLocal: writer.local,
      sampleRemote: writer.remote,
      firstLink: writer.first!,
    };
  };
  let grown: Awaited<ReturnType<typeof grow>>;
  try {
    grown = await grow();
  } finally {
    await lane?.close();
  }
  try {
    const {
      bundlePath,
      written,
      buildMs,
      cpu,
      startupMs,
      startupCpuMs,
      links,
      linkMs,
      linkCpuMs,
      launchMs,
      sampleLocal,
      sampleRemote,
      firstLink,
    } = grown;
    const buildPeak = rss.peak;
    progress?.({ size, phase: 'verify', done: size, total: size });
    const tv = performance.now();
    const cv = process.cpuUsage();
    // Offline verification of the file, streamed, with link signatures and quotes checked ahead on
    // every core (worker start-up included in the time) and decided in order on this thread.
    const sampler = setInterval(() => rss.sample(), 50);
    const pool = new LinkCryptoPool(world.root);
    let v;
    try {
      v = await verifyBundleV2(fileChunks(bundlePath), {
        root: world.root,
        at: new Date(),
        remote: createDcapRemoteVerifier(world.root),
        prefetch: pool,
      });
    } finally {
      clearInterval(sampler);
      await pool.close();
      await rm(bundlePath, { force: true });
    }
    const verifyMs = performance.now() - tv;
    const verifyCpuMs = cpuMsSince(cv);
    rss.sample();
    if (!v.valid || v.links.local !== links.local || v.links.remote !== links.remote + 1) {
      throw new BenchError(
        'ERR_BENCH_RESULT',
        `the chain of ${size} does not verify: ${JSON.stringify(v.failures.slice(0, 3))}`,
      );
    }
    const quote =
      firstLink.evidence.kind === 'dcap-quote'
        ? Uint8Array.from(Buffer.from(firstLink.evidence.quote, 'hex'))
        : undefined;
    return {
      result: {
        size,
        buildMs: round(buildMs, 5),
        verifyMs: round(verifyMs, 5),
        cpuMs: round((cpu.user + cpu.system) / 1000, 5),
        peakRssMb: round(rss.peak / 2 ** 20, 4),
        buildPeakRssMb: round(buildPeak / 2 ** 20, 4),
        startupMs: round(startupMs, 4),
        startupCpuMs: round(startupCpuMs, 4),
        verifyCpuMs: round(verifyCpuMs, 5),
        links,
        linkMs: { local: round(linkMs.local, 5), remote: round(linkMs.remote, 5) },
        linkCpuMs: { local: round(linkCpuMs.local, 5), remote: round(linkCpuMs.remote, 5) },
        launchUs: size > 1 ? round((launchMs * 1000) / (size - 1), 4) : 0,
        bundleBytes: written.bytes,
        verifyThreads: pool.threads,
        valid: v.valid,
      },
      samples: { local: sampleLocal, remote: sampleRemote, quote },
    };
  } finally {
    await world.close();
  }
}

export async function benchCot(opts: CotBenchOptions): Promise<CotBenchResult> {
  const o = {
    runtime: opts.runtime ?? 'inline',
    localShare: opts.localShare ?? 0.5,
    clouds: opts.clouds ?? 3,
    platformsPerCloud: opts.platformsPerCloud ?? 1,
    seed: opts.seed ?? 1,
    live: opts.live ?? 10_000,
    pipelineFrom: opts.pipelineFrom ?? 20_000,
  };
  if (!opts.sizes.length || opts.sizes.some((s) => !Number.isSafeInteger(s) || s < 1 || s > 1_000_000))
    throw new BenchError('ERR_BENCH_ARGUMENT', 'sizes must be integers in [1, 1000000]');
  if (!(o.localShare >= 0 && o.localShare <= 1))
    throw new BenchError('ERR_BENCH_ARGUMENT', 'localShare must be in [0, 1]');
  if (!Number.isSafeInteger(o.live) || o.live < 1)
    throw new BenchError('ERR_BENCH_ARGUMENT', 'live must be a positive integer');
  if (!Number.isSafeInteger(o.pipelineFrom) || o.pipelineFrom < 1)
    throw new BenchError('ERR_BENCH_ARGUMENT', 'pipelineFrom must be a positive integer');
  if (!Number.isSafeInteger(o.clouds) || o.clouds < 1 || o.clouds > 64)
    throw new BenchError('ERR_BENCH_ARGUMENT', 'clouds must be in [1, 64]');
  if (o.clouds * o.platformsPerCloud < 2 && o.localShare < 1)
    throw new BenchError(
      'ERR_BENCH_ARGUMENT',
      'remote links need at least two platforms (more clouds, or localShare 1)',
    );
  const sizes = [...new Set(opts.sizes)].sort((a, b) => a - b);
  return runSizes(opts, o, sizes);
}

async function runSizes(
  opts: CotBenchOptions,
  o: Parameters<typeof buildOne>[2],
  sizes: number[],
): Promise<CotBenchResult> {
  const ts = performance.now();
  const machine = await machineSetup();
  const machineSetupMs = performance.now() - ts;
  const isolatedMax = opts.isolatedMaxSize ?? 50;
  // The process's first chain pays module loading and JIT warm-up: measured, reported, kept out of the
  // median start-up; its links give the floor its real inputs.
  const warm = await buildOne(machine, 3, { ...o, localShare: 0.5, clouds: Math.max(2, o.clouds) }, undefined);
  const coldStartMs = warm.result.startupCpuMs;
  const { local: ll, remote: rl, quote } = warm.samples;
  if (!ll || !rl || !quote) throw new BenchError('ERR_BENCH_RESULT', 'the warm-up chain lacks a local or remote link');

  const floorSampler = new LinkFloorSampler({
    localLinkBytes: linkSigningBytes(ll),
    remoteLinkBytes: linkSigningBytes(rl),
    quoteSigned: quote.subarray(0, 432),
  });
  const results: CotSizeResult[] = [];
  const skipped: CotBenchResult['skipped'] = [];
  for (const size of sizes) {
    if (o.runtime === 'isolated' && size > isolatedMax) {
      skipped.push({
        size,
        reason: `the isolated runtime starts a worker thread per enclave; sizes above ${isolatedMax} are not run`,
      });
      continue;
    }
    opts.onProgress?.({ size, phase: 'start', done: 0, total: size });
    const r = await buildOne(machine, size, o, opts.onProgress, floorSampler);
    results.push(r.result);
    opts.onProgress?.({ size, phase: 'done', done: size, total: size });
    (globalThis as { gc?: () => void }).gc?.();
  }
  if (!results.length) throw new BenchError('ERR_BENCH_ARGUMENT', 'no size could be run');

  const floor = measureCryptoFloor(
    {
      localLinkBytes: linkSigningBytes(ll),
      remoteLinkBytes: linkSigningBytes(rl),
      quoteSigned: quote.subarray(0, 432),
    },
    floorSampler,
  );

  const fitType = (k: 'local' | 'remote', time: 'linkMs' | 'linkCpuMs') => {
    const pts = results.filter((r) => r.links[k] > 0);
    const xs = pts.map((r) => r.links[k]);
    if (new Set(xs).size < 2)
      return pts.length
        ? { slopeUs: (pts.at(-1)![time][k] * 1000) / pts.at(-1)!.links[k], interceptMs: NaN, r2: NaN }
        : { slopeUs: NaN, interceptMs: NaN, r2: NaN };
    const f = leastSquares(
      xs,
      pts.map((r) => r[time][k]),
    );
    return { slopeUs: f.slope * 1000, interceptMs: f.intercept, r2: f.r2 };
  };
  const fl = fitType('local', 'linkCpuMs');
  const fr = fitType('remote', 'linkCpuMs');
  const big = results.filter((r) => r.size >= 1000);
  const slope = big.length >= 2 ? logLogSlope(big.map((r) => [r.size, r.cpuMs] as const)) : NaN;
  const slopeWall = big.length >= 2 ? logLogSlope(big.map((r) => [r.size, r.buildMs] as const)) : NaN;
  const launched = results.filter((r) => r.size > 1);
  const totalLaunched = launched.reduce((a, r) => a + r.size - 1, 0);
  return {
    sizes: results,
    startupOffsetMs: round(median(results.map((r) => r.startupCpuMs)), 4),
    startupOffsetWallMs: round(median(results.map((r) => r.startupMs)), 4),
    marginalUs: { local: round(fl.slopeUs, 4), remote: round(fr.slopeUs, 4) },
    marginalWallUs: {
      local: round(fitType('local', 'linkMs').slopeUs, 4),
      remote: round(fitType('remote', 'linkMs').slopeUs, 4),
    },
    floorUs: { local: round(floor.local, 4), remote: round(floor.remote, 4) },
    ratio: { local: round(fl.slopeUs / floor.local, 3), remote: round(fr.slopeUs / floor.remote, 3) },
    floorIsolatedUs: { local: round(floor.isolated.local, 4), remote: round(floor.isolated.remote, 4) },
    ratioIsolated: {
      local: round(fl.slopeUs / floor.isolated.local, 3),
      remote: round(fr.slopeUs / floor.isolated.remote, 3),
    },
    floorSamples: floorSampler.samples,
    slope: round(slope, 4),
    slopeWall: round(slopeWall, 4),
    metric: 'cpu',
    runtime: o.runtime,
    clouds: o.clouds,
    platforms: o.clouds * o.platformsPerCloud,
    localShare: o.localShare,
    live: o.live,
    machineSetupMs: round(machineSetupMs, 4),
    coldStartMs: round(coldStartMs, 4),
    launchUs: totalLaunched ? round(launched.reduce((a, r) => a + r.launchUs * (r.size - 1), 0) / totalLaunched, 4) : 0,
    floorParts: floor.parts,
    fit: {
      local: { interceptMs: round(fl.interceptMs, 4), r2: round(fl.r2, 4) },
      remote: { interceptMs: round(fr.interceptMs, 4), r2: round(fr.r2, 4) },
      slopeSizes: big.map((r) => r.size),
    },
    skipped,
    node: process.version,
    at: new Date().toISOString(),
  };
}
