import type { KeyObject } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { p256PublicFromRaw, p256Verify } from '../crypto/ecdsa.ts';
import { Lru } from '../bytes/lru.ts';
import { LANE, type LaneLayout } from './signature-lane.ts';

// The worker of a SignatureLane: takes the jobs posted in shared memory in order, verifies each link
// signature exactly as LinkChecker does (p256Verify with the parent key decoded from its 64 raw bytes)
// and writes the verdict into the job's state word.
const { sab, layout } = workerData as { sab: SharedArrayBuffer; layout: LaneLayout };
const ctrl = new Int32Array(sab, 0, LANE.ctrlBytes(layout) / 4);
const data = new Uint8Array(sab, LANE.ctrlBytes(layout));

/** Parents' keys decoded once (a parent signs several links), least recently used dropped past the bound. */
// ≈ 5 KB of OpenSSL key each once used: 4,096 keys ≈ 20 MB (a miss costs a decode, ≈ 75 µs, on this thread).
const keys = new Lru<string, KeyObject>(4096);

function keyOf(raw: Uint8Array): KeyObject {
  const k = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');
  return keys.getOrSet(k, () => p256PublicFromRaw(raw));
}

function verdict(at: number): number {
  try {
    const len = new DataView(data.buffer, data.byteOffset + at, 4).getUint32(0, true);
    // Copies: OpenSSL must not read memory the host may reuse for the next job.
    const key = data.slice(at + 4, at + 68);
    const sig = data.slice(at + 68, at + LANE.head);
    const msg = data.slice(at + LANE.head, at + LANE.head + len);
    return p256Verify(keyOf(key), msg, sig) ? LANE.valid : LANE.invalid;
  } catch {
    return LANE.unanswered;
  }
}

parentPort!.postMessage({ ready: true });
for (let head = 0; ; head++) {
  while (Atomics.load(ctrl, LANE.tail) === head && !Atomics.load(ctrl, LANE.closed))
    Atomics.wait(ctrl, LANE.tail, head);
  if (Atomics.load(ctrl, LANE.closed)) break;
  const slot = head % layout.slots;
  const v = verdict(slot * layout.slotBytes);
  Atomics.store(ctrl, LANE.state + slot, v);
  Atomics.notify(ctrl, LANE.state + slot);
}
