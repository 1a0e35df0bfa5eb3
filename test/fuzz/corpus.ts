import { readFileSync, writeFileSync } from 'node:fs';
import type { Json } from './mutate-json.ts';

/**
 * The seed corpus: valid encodings per target, each named by where it came from. Emulated seeds are
 * made fresh on each run (the emulator's keys are random), so a run is reproduced exactly by its seed
 * and its corpus: `--corpus-out FILE` saves the corpus, `--corpus FILE` replays against it.
 */
export type SeedData = Uint8Array | string | Json;
export interface Seed {
  name: string;
  data: SeedData;
}

export interface Corpus {
  seeds: Record<string, Seed[]>;
  /** What the proof-bundle target verifies against: the emulated root (hex DER) and the time. */
  bundle?: { rootHex: string; at: string };
  /**
   * What the DCAP-verifying targets check against, by seed name: the quote, its dcap-qvl collateral,
   * the time, and the root (hex DER; absent: Intel's pinned key). A `quote-verify` seed is verified with
   * its collateral, a `collateral-verify` seed verifies its quote.
   */
  verify?: Record<string, VerifyContext>;
}

export interface VerifyContext {
  quoteHex: string;
  collateral: Record<string, string>;
  at: string;
  rootHex?: string;
}

export function addSeed(c: Corpus, target: string, name: string, data: SeedData): void {
  (c.seeds[target] ??= []).push({ name, data });
}

export function mergeCorpora(...cs: Corpus[]): Corpus {
  const out: Corpus = { seeds: {} };
  for (const c of cs) {
    for (const [t, seeds] of Object.entries(c.seeds)) for (const s of seeds) addSeed(out, t, s.name, s.data);
    if (c.bundle) out.bundle = c.bundle;
    if (c.verify) out.verify = { ...out.verify, ...c.verify };
  }
  return out;
}

type Stored = { name: string; hex?: string; text?: string; json?: Json };

export function saveCorpus(c: Corpus, file: string): void {
  const seeds: Record<string, Stored[]> = {};
  for (const [t, list] of Object.entries(c.seeds)) {
    seeds[t] = list.map((s) =>
      s.data instanceof Uint8Array
        ? { name: s.name, hex: Buffer.from(s.data).toString('hex') }
        : typeof s.data === 'string'
          ? { name: s.name, text: s.data }
          : { name: s.name, json: s.data },
    );
  }
  writeFileSync(file, JSON.stringify({ seeds, bundle: c.bundle, verify: c.verify }));
}

export function loadCorpus(file: string): Corpus {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as {
    seeds: Record<string, Stored[]>;
    bundle?: Corpus['bundle'];
    verify?: Corpus['verify'];
  };
  const c: Corpus = { seeds: {} };
  for (const [t, list] of Object.entries(raw.seeds)) {
    for (const s of list)
      addSeed(
        c,
        t,
        s.name,
        s.hex !== undefined
          ? new Uint8Array(Buffer.from(s.hex, 'hex'))
          : s.text !== undefined
            ? s.text
            : (s.json as Json),
      );
  }
  if (raw.bundle) c.bundle = raw.bundle;
  if (raw.verify) c.verify = raw.verify;
  return c;
}
