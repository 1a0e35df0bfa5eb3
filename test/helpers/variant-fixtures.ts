import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCollateralDir } from '../../src/sgx/manufacturer/collateral.ts';
import { emulateEvidence, EVIDENCE_VARIANTS } from '../../src/sgx/manufacturer/variants.ts';

/**
 * The good emulated evidence and every named bad variant, written as `catena emulate quote --out`
 * writes them (DIR/<name>/quote.dat, collateral/, root.der; the good one in DIR/good), and the time
 * they were emulated at (every window holds then). Emulating all of them takes ~30 s of CPU, so
 * with CATENA_VARIANT_CACHE=DIR (the mutation run sets it) they are written once and reused while
 * the variant list is unchanged and they are less than 7 days old; without it, a fresh temporary directory.
 */
export interface VariantFixtures {
  dir: string;
  /** Verification time: when they were emulated. */
  at: Date;
  path(name: string, file: 'quote.dat' | 'collateral' | 'root.der'): string;
  bytes(name: string, file: 'quote.dat' | 'root.der'): Uint8Array;
  /** Removes a temporary directory (keeps the cache). */
  cleanup(): Promise<void>;
}

const WEEK = 7 * 86_400_000;

function fixtures(dir: string, at: Date, temporary: boolean): VariantFixtures {
  const path = (name: string, file: string) => join(dir, name, file);
  return {
    dir,
    at,
    path,
    bytes: (name, file) => new Uint8Array(readFileSync(path(name, file))),
    cleanup: async () => (temporary ? rm(dir, { recursive: true, force: true }) : undefined),
  };
}

/** `only`: the names needed (default all); with the cache, all are written anyway. */
export async function variantFixtures(only?: string[]): Promise<VariantFixtures> {
  const all = ['good', ...EVIDENCE_VARIANTS.map((v) => v.name)];
  const cache = process.env.CATENA_VARIANT_CACHE;
  const names = cache || !only ? all : only;
  const dir = cache ?? mkdtempSync(join(tmpdir(), 'catena-variants-'));
  if (cache && existsSync(join(cache, 'meta.json'))) {
    const meta = JSON.parse(readFileSync(join(cache, 'meta.json'), 'utf8')) as { at: string; names: string[] };
    const at = new Date(meta.at);
    if (JSON.stringify(meta.names) === JSON.stringify(names) && Date.now() - at.getTime() < WEEK)
      return fixtures(cache, at, false);
    await rm(join(cache, 'meta.json'));
  }
  const at = new Date();
  for (const name of names) {
    const ev = await emulateEvidence(name === 'good' ? {} : { variant: name });
    await mkdir(join(dir, name), { recursive: true });
    await writeFile(join(dir, name, 'quote.dat'), ev.quote);
    await writeCollateralDir(ev.collateral, join(dir, name, 'collateral'));
    await writeFile(join(dir, name, 'root.der'), ev.root);
  }
  await writeFile(join(dir, 'meta.json'), JSON.stringify({ at: at.toISOString(), names }) + '\n');
  return fixtures(dir, at, !cache);
}
