import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the shared Intel vectors live: ../shared/vectors beside the checkout (never copied in).
 * Absent on a fresh clone: vector tests then skip with a message, unless CATENA_REQUIRE_VECTORS=1
 * (set by .ci/run), which makes their absence a failure.
 */
const here = dirname(fileURLToPath(import.meta.url));
export const VECTORS_DIR = resolve(process.env.CATENA_VECTORS ?? join(here, '..', '..', '..', 'shared', 'vectors'));
export const HAVE_VECTORS = existsSync(join(VECTORS_DIR, 'README.md'));

if (!HAVE_VECTORS && process.env.CATENA_REQUIRE_VECTORS === '1') {
  throw new Error(`shared vectors required but not found at ${VECTORS_DIR}`);
}

/** Pass as the `skip` option of a vector test: false when present, else the reason. */
export const skipWithoutVectors: false | string = HAVE_VECTORS ? false : `shared vectors not found at ${VECTORS_DIR}`;

export function vector(path: string): Uint8Array {
  return new Uint8Array(readFileSync(join(VECTORS_DIR, path)));
}
export function vectorText(path: string): string {
  return readFileSync(join(VECTORS_DIR, path), 'utf8');
}
export function vectorPath(path: string): string {
  return join(VECTORS_DIR, path);
}
