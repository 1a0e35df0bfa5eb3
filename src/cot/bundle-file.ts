import { closeSync, createReadStream, openSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';

const CHUNK = 1 << 20;

/**
 * A file a proof bundle v2 is written to as it grows: bytes are gathered into 1 MiB and written
 * synchronously (a writer's `out`), so memory holds at most one chunk.
 */
export function bundleFileSink(path: string): { write: (b: Uint8Array) => void; close: () => void } {
  const fd = openSync(path, 'w');
  let buf = Buffer.allocUnsafe(CHUNK);
  let used = 0;
  const flush = () => {
    let off = 0;
    while (off < used) off += writeSync(fd, buf, off, used - off);
    used = 0;
  };
  return {
    write(b: Uint8Array) {
      if (used + b.length > buf.length) flush();
      if (b.length > buf.length) {
        let off = 0;
        while (off < b.length) off += writeSync(fd, b, off, b.length - off);
        return;
      }
      buf.set(b, used);
      used += b.length;
    },
    close() {
      flush();
      buf = Buffer.alloc(0);
      closeSync(fd);
    },
  };
}

/** The first bytes of a file (to tell a v2 bundle from a v1 JSON one). */
export async function fileHead(path: string, n: number): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(n);
    const { bytesRead } = await fh.read(b, 0, n, 0);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** A file's bytes in 1 MiB chunks. */
export function fileChunks(path: string): AsyncIterable<Uint8Array> {
  return createReadStream(path, { highWaterMark: CHUNK }) as AsyncIterable<Buffer>;
}
