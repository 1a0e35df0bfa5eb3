import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Lru } from '../../bytes/lru.ts';
import { hex } from '../../bytes/util.ts';
import { randomBytes } from '../../crypto/random.ts';

/**
 * Where measured module text becomes an importable file. Both runtimes import the module text
 * recovered from the measured pages (never the caller's `moduleSource`), written once per module
 * hash to `<dir>/<sha256>.mjs`. The default directory is `<catena package root>/.catena/enclave-modules`,
 * so that a module's bare imports resolve as from inside the package: `catena/...` (self-reference
 * through package.json "exports"), the package's dependencies, and node builtins.
 */
const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const DEFAULT_MODULE_DIR = join(PACKAGE_ROOT, '.catena', 'enclave-modules');

/**
 * Writes `text` to `<dir>/<hash>.mjs` if absent (atomically) and returns its file URL. `written`
 * (path → URL, owned by the caller: the platform's MeasurementCache) skips the file check for a
 * module this process already wrote.
 */
export function materializeModule(
  text: string,
  moduleHash: Uint8Array,
  dir: string = DEFAULT_MODULE_DIR,
  written?: Lru<string, string>,
): string {
  const path = join(dir, `${hex(moduleHash)}.mjs`);
  const cached = written?.get(path);
  if (cached) return cached;
  let present = false;
  try {
    present = statSync(path).size === Buffer.byteLength(text);
  } catch {
    present = false;
  }
  if (!present) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${path}.${hex(randomBytes(6))}.tmp`;
    writeFileSync(tmp, text, { mode: 0o644 });
    renameSync(tmp, path);
  }
  const url = pathToFileURL(path).href;
  written?.set(path, url);
  return url;
}
