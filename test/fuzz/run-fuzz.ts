import { performance } from 'node:perf_hooks';
import type { Seed, SeedData } from './corpus.ts';
import type { Field } from './fields.ts';
import { whyUntyped } from './judge.ts';
import { mutateBytes } from './mutate-bytes.ts';
import { mutateJson, stringify, type Json } from './mutate-json.ts';
import { Rng } from './prng.ts';
import type { Target } from './targets.ts';

/**
 * The fuzz loop. Input `i` of a target is a pure function of (run seed, target, i, corpus): the first
 * inputs are the seeds themselves, unmutated (they must parse), the rest are mutations of a seed
 * chosen by the input's own generator. Every input must be parsed or refused with a typed error
 * (judge.ts); a failure records everything needed to reproduce it.
 */
export interface TargetStats {
  target: string;
  seeds: number;
  inputs: number;
  parsed: number;
  refused: number;
  failures: number;
  /** Refusals by error code. */
  codes: Record<string, number>;
  ms: number;
  slowestMs: number;
  slowestIndex: number;
  /** Unmutated seeds that failed to parse (a broken corpus, reported but not a parser bug). */
  badSeeds: string[];
}

export interface FuzzFailure {
  target: string;
  seed: number;
  index: number;
  from: string;
  /** The input: hex for bytes, the text for text, JSON text for JSON values. */
  input: string;
  problem: string;
  stack?: string;
}

export interface FuzzOptions {
  seed: number;
  /** Inputs per target (seeds included). */
  count: number;
  /** Start at this input index (to re-run one input: count 1, from its index). */
  from?: number;
  codes?: ReadonlySet<string>;
  /** Stop a target after this many failures (default 5). */
  maxFailures?: number;
  onProgress?: (target: string, done: number, total: number) => void;
}

const fieldCache = new WeakMap<Seed, Field[]>();
const bytesCache = new WeakMap<Seed, Uint8Array>();
const jsonCache = new WeakMap<Seed, Json | undefined>();

function seedBytes(s: Seed): Uint8Array {
  let b = bytesCache.get(s);
  if (!b) {
    b =
      s.data instanceof Uint8Array
        ? s.data
        : new TextEncoder().encode(typeof s.data === 'string' ? s.data : JSON.stringify(s.data));
    bytesCache.set(s, b);
  }
  return b;
}
function seedJson(s: Seed): Json | undefined {
  if (!jsonCache.has(s)) {
    let v: Json | undefined;
    if (typeof s.data === 'string') {
      try {
        v = JSON.parse(s.data) as Json;
      } catch {
        v = undefined;
      }
    } else if (!(s.data instanceof Uint8Array)) v = s.data;
    jsonCache.set(s, v);
  }
  return jsonCache.get(s);
}

/** Generates input `index` of `target` (seeds first, unmutated; then mutations). */
export function generateInput(
  target: Target,
  seeds: readonly Seed[],
  seed: number,
  index: number,
): { input: SeedData; rng: Rng; from: string; seedName: string } {
  const rng = Rng.derive(seed, target.name, index);
  if (index < seeds.length) {
    const s = seeds[index];
    return {
      input: target.kind === 'bytes' ? seedBytes(s).slice() : target.kind === 'text' ? s.data : (seedJson(s) as Json),
      rng,
      from: `${s.name} (unmutated)`,
      seedName: s.name,
    };
  }
  const s = rng.pick(seeds);
  const others = seeds.filter((x) => x !== s);
  const byteMutation = (): Uint8Array => {
    let fields = fieldCache.get(s);
    if (!fields) fieldCache.set(s, (fields = target.fields ? target.fields(seedBytes(s)) : []));
    return mutateBytes(rng, seedBytes(s), {
      others: others.map(seedBytes),
      fields,
      dictionary: target.dictionary ?? [],
    });
  };
  if (target.kind === 'bytes') return { input: byteMutation(), rng, from: s.name, seedName: s.name };
  const json = seedJson(s);
  const otherJson = others.map(seedJson).filter((x): x is Json => x !== undefined);
  if (target.kind === 'text') {
    if (json !== undefined && rng.chance(0.55))
      return { input: stringify(rng, mutateJson(rng, json, otherJson)), rng, from: s.name, seedName: s.name };
    return { input: new TextDecoder().decode(byteMutation()), rng, from: s.name, seedName: s.name };
  }
  // JSON values: structural mutations, and now and then a byte-level one that still parses as JSON.
  if (rng.chance(0.15)) {
    try {
      return {
        input: JSON.parse(new TextDecoder().decode(byteMutation())) as Json,
        rng,
        from: s.name,
        seedName: s.name,
      };
    } catch {
      /* not JSON any more: JSON.parse is not the parser under test, mutate the structure instead */
    }
  }
  return { input: mutateJson(rng, json ?? null, otherJson), rng, from: s.name, seedName: s.name };
}

export function showInput(input: SeedData): string {
  if (input instanceof Uint8Array) return Buffer.from(input).toString('hex');
  if (typeof input === 'string') return input;
  return JSON.stringify(input);
}

/** Runs one input through a target: undefined when parsed or refused correctly, else the problem. */
export async function judgeOne(
  target: Target,
  input: SeedData,
  rng: Rng,
  unmutated: boolean,
  seedName: string,
  codes?: ReadonlySet<string>,
): Promise<{ problem?: string; stack?: string; code?: string }> {
  try {
    let result = (target.parse as (i: SeedData, r: Rng, u: boolean, n: string) => unknown)(
      input,
      rng,
      unmutated,
      seedName,
    );
    if (result instanceof Promise) result = await result;
    const p = target.inspect?.(result);
    if (p) return { problem: p };
    const label = target.refusal?.(result);
    return label ? { code: label } : {};
  } catch (e) {
    const why = whyUntyped(e, codes);
    if (why) return { problem: why, stack: (e as Error)?.stack ?? String(e) };
    return { code: (e as { code: string }).code };
  }
}

export async function fuzzTarget(
  target: Target,
  seeds: readonly Seed[],
  opts: FuzzOptions,
  failures: FuzzFailure[],
): Promise<TargetStats> {
  const stats: TargetStats = {
    target: target.name,
    seeds: seeds.length,
    inputs: 0,
    parsed: 0,
    refused: 0,
    failures: 0,
    codes: {},
    ms: 0,
    slowestMs: 0,
    slowestIndex: -1,
    badSeeds: [],
  };
  if (seeds.length === 0) return stats;
  const start = opts.from ?? 0;
  const max = opts.maxFailures ?? 5;
  const t0 = performance.now();
  for (let i = start; i < start + opts.count; i++) {
    const { input, rng, from, seedName } = generateInput(target, seeds, opts.seed, i);
    const t = performance.now();
    const r = await judgeOne(target, input, rng, i < seeds.length, seedName, opts.codes);
    const dt = performance.now() - t;
    if (dt > stats.slowestMs) {
      stats.slowestMs = dt;
      stats.slowestIndex = i;
    }
    stats.inputs++;
    if (r.problem) {
      stats.failures++;
      failures.push({
        target: target.name,
        seed: opts.seed,
        index: i,
        from,
        input: showInput(input),
        problem: r.problem,
        ...(r.stack ? { stack: r.stack } : {}),
      });
      if (stats.failures >= max) break;
    } else if (r.code) {
      stats.refused++;
      stats.codes[r.code] = (stats.codes[r.code] ?? 0) + 1;
      if (i < seeds.length) stats.badSeeds.push(`${seeds[i].name}: ${r.code}`);
    } else stats.parsed++;
    if (opts.onProgress && (i - start) % 5000 === 4999) opts.onProgress(target.name, i - start + 1, opts.count);
  }
  stats.ms = performance.now() - t0;
  return stats;
}
