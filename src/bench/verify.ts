import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collateralFromQvlJson } from '../attestation/collateral/from-qvl-json.ts';
import { DcapVerifier } from '../attestation/dcap/verify-quote.ts';
import { BenchError } from './errors.ts';
import { round } from './stats.ts';

/**
 * `catena bench verify`: quotes per second verifying ONE real Intel quote (sgx-v3-phala from the
 * shared vectors, at 2025-07-01T00:00:00Z) three ways, interleaved in rounds so machine noise hits
 * all three alike:
 *  - catena cold: a new DcapVerifier AND a fresh parse of the collateral JSON per quote — nothing
 *    cached, every check of docs/verification.md runs (chain signatures, CRLs, collateral signatures…);
 *  - catena warm: one DcapVerifier and one parsed collateral for all quotes — results for bytes it has
 *    verified before are reused by content, time-dependent checks re-run at each `at`;
 *  - @phala/dcap-qvl `verify(quote, collateralJson, nowSecs)`, its normal API (it parses the JSON per call).
 * Every result is checked against the known outcome (ConfigurationAndSWHardeningNeeded); any other
 * outcome aborts the benchmark.
 */

export const PHALA_AT = new Date('2025-07-01T00:00:00Z');
export const PHALA_STATUS = 'ConfigurationAndSWHardeningNeeded';

export interface VerifyBenchOptions {
  /** The shared vectors folder (default: ../shared/vectors beside the checkout, or $CATENA_VECTORS). */
  vectorsDir?: string;
  /** Seconds per contender (split over the rounds). Default 2. */
  seconds?: number;
  rounds?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface VerifyBenchResult {
  catena: { cold: number; warm: number };
  dcapQvl: number;
  /** Catena ÷ dcap-qvl. */
  ratio: { cold: number; warm: number };
  quote: string;
  at: string;
  /** Quotes verified per contender (all with the expected result). */
  counts: { cold: number; warm: number; dcapQvl: number };
  seconds: number;
}

const here = dirname(fileURLToPath(import.meta.url));

/** Where the shared vectors are: an explicit folder, $CATENA_VECTORS, or ../shared/vectors beside the checkout. */
export function resolveVectorsDir(explicit?: string): string {
  const dir = resolve(explicit ?? process.env.CATENA_VECTORS ?? join(here, '..', '..', '..', 'shared', 'vectors'));
  if (
    !existsSync(join(dir, 'sgx-v3-phala', 'quote.dat')) ||
    !existsSync(join(dir, 'sgx-v3-phala', 'collateral.json'))
  ) {
    throw new BenchError(
      'ERR_BENCH_VECTORS',
      `the shared vectors are not at ${dir} (need sgx-v3-phala/quote.dat and collateral.json); pass --vectors DIR or set CATENA_VECTORS`,
    );
  }
  return dir;
}

/**
 * dcap-qvl is the comparison, a devDependency: an installed package without it cannot run this bench.
 * `load` is the module loader (injected by the test that plays the package without it).
 */
export function loadQvl(load: (id: string) => unknown = createRequire(import.meta.url)): QvlModule {
  try {
    return load('@phala/dcap-qvl') as QvlModule;
  } catch {
    throw new BenchError(
      'ERR_BENCH_DEPENDENCY',
      '`bench verify` compares with @phala/dcap-qvl, which is not installed (npm install -D @phala/dcap-qvl, or run from a checkout)',
    );
  }
}

export interface QvlModule {
  verify(quote: Uint8Array, collateral: unknown, nowSecs: number): { status: string; advisory_ids: string[] };
}

async function timed(budgetMs: number, once: () => Promise<void> | void): Promise<{ n: number; ms: number }> {
  const t0 = performance.now();
  let n = 0;
  // Bounded: stops at the budget, and never runs away if one call is pathologically slow.
  while (performance.now() - t0 < budgetMs && n < 10_000_000) {
    await once();
    n++;
  }
  return { n, ms: performance.now() - t0 };
}

export async function benchVerify(opts: VerifyBenchOptions = {}): Promise<VerifyBenchResult> {
  const seconds = opts.seconds ?? 2;
  const rounds = opts.rounds ?? 3;
  if (!(seconds > 0 && seconds <= 600))
    throw new BenchError('ERR_BENCH_ARGUMENT', `seconds must be in (0, 600], got ${seconds}`);
  const dir = resolveVectorsDir(opts.vectorsDir);
  const quote = new Uint8Array(readFileSync(join(dir, 'sgx-v3-phala', 'quote.dat')));
  const json = JSON.parse(readFileSync(join(dir, 'sgx-v3-phala', 'collateral.json'), 'utf8')) as Record<string, string>;
  const qvl = loadQvl();
  const at = PHALA_AT;
  const nowSecs = at.getTime() / 1000;
  const policy = { acceptedTcbStatuses: [PHALA_STATUS] };

  const expect = (who: string, status: string | undefined, ok: boolean) => {
    if (!ok || status !== PHALA_STATUS)
      throw new BenchError('ERR_BENCH_RESULT', `${who}: expected ${PHALA_STATUS}, got ${status ?? 'a rejection'}`);
  };
  const cold = async () => {
    const a = await new DcapVerifier().verify(quote, { collateral: collateralFromQvlJson(json), at, policy });
    expect('catena cold', a.tcbStatus, a.verdict === 'accepted');
  };
  const warmVerifier = new DcapVerifier();
  const warmCollateral = collateralFromQvlJson(json);
  const warm = async () => {
    const a = await warmVerifier.verify(quote, { collateral: warmCollateral, at, policy });
    expect('catena warm', a.tcbStatus, a.verdict === 'accepted');
  };
  const theirs = () => {
    const r = qvl.verify(quote, json, nowSecs);
    expect('dcap-qvl', r.status, true);
  };
  // Warm-up (JIT, lazy module state) — also proves all three give the known result before timing.
  for (let i = 0; i < 3; i++) {
    await cold();
    await warm();
    theirs();
  }
  const acc = { cold: { n: 0, ms: 0 }, warm: { n: 0, ms: 0 }, qvl: { n: 0, ms: 0 } };
  const slice = (seconds * 1000) / rounds;
  for (let r = 0; r < rounds; r++) {
    for (const [k, f] of [
      ['cold', cold],
      ['warm', warm],
      ['qvl', theirs],
    ] as const) {
      const t = await timed(slice, f);
      acc[k].n += t.n;
      acc[k].ms += t.ms;
    }
    opts.onProgress?.(r + 1, rounds);
  }
  const rate = (x: { n: number; ms: number }) => (x.n * 1000) / x.ms;
  const c = rate(acc.cold);
  const w = rate(acc.warm);
  const q = rate(acc.qvl);
  return {
    catena: { cold: round(c, 4), warm: round(w, 4) },
    dcapQvl: round(q, 4),
    ratio: { cold: round(c / q, 3), warm: round(w / q, 3) },
    quote: 'sgx-v3-phala/quote.dat',
    at: at.toISOString(),
    counts: { cold: acc.cold.n, warm: acc.warm.n, dcapQvl: acc.qvl.n },
    seconds,
  };
}
