import { readFile, writeFile } from 'node:fs/promises';

/**
 * The two file operations the Gramine attester performs, injectable so tests can imitate Gramine's
 * pseudo-files (which react to writes, unlike plain files). `node:fs/promises` satisfies it.
 */
export interface FileOps {
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
}

/** The real thing: whole-file reads and writes through node:fs/promises. */
export const nodeFileOps: FileOps = {
  readFile: async (path) => new Uint8Array(await readFile(path)),
  writeFile: (path, data) => writeFile(path, data),
};
