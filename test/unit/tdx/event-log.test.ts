import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import { parseEventLog } from '../../../src/formats/parse-tdx-event-log.ts';
import { writeEventLog } from '../../../src/formats/write-tdx-event-log.ts';
import { replayRtmrs } from '../../../src/formats/replay-rtmrs.ts';
import { EV } from '../../../src/formats/tdx-event-log.ts';
import { bootEvents } from '../../../src/tdx/measured-boot.ts';

const sha384 = (...p: Uint8Array[]) => {
  const h = createHash('sha384');
  for (const x of p) h.update(x);
  return new Uint8Array(h.digest());
};
const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'no error';
};

test('an event log round-trips and replays to RTMR = SHA-384(RTMR ‖ digest) per register', () => {
  const events = bootEvents({ workloads: ['sha256:aa', 'sha256:bb'] });
  const log = writeEventLog(events);
  const parsed = parseEventLog(log);
  assert.equal(parsed.events.length, events.length);
  assert.deepEqual(parsed.specId.algorithms, [{ algorithmId: 0x000c, digestSize: 48 }]);
  assert.deepEqual(writeEventLog(parsed.events), log);
  // An independent replay: one register at a time, by hand.
  const want = [0, 1, 2, 3].map((r) =>
    events.filter((e) => e.mrIndex === r + 1).reduce((acc, e) => sha384(acc, e.digest), new Uint8Array(48)),
  );
  assert.deepEqual(replayRtmrs(parsed.events), want);
  // RTMR3 holds the two workloads only.
  assert.deepEqual(
    want[3],
    sha384(sha384(new Uint8Array(48), sha384(Buffer.from('sha256:aa'))), sha384(Buffer.from('sha256:bb'))),
  );
});

test('the header layout: TCG_PCR_EVENT with EV_NO_ACTION and "Spec ID Event03", then TCG_PCR_EVENT2 records', () => {
  const log = writeEventLog([
    { mrIndex: 2, eventType: EV.IPL, digest: new Uint8Array(48).fill(7), data: Uint8Array.of(1, 2) },
  ]);
  const dv = new DataView(log.buffer, log.byteOffset);
  assert.equal(dv.getUint32(4, true), 3);
  assert.equal(Buffer.from(log.subarray(32, 48)).toString('latin1'), 'Spec ID Event03\0');
  const headerSize = 32 + dv.getUint32(28, true);
  assert.equal(dv.getUint32(headerSize, true), 2);
  assert.equal(dv.getUint32(headerSize + 8, true), 1);
  assert.equal(dv.getUint16(headerSize + 12, true), 0x000c);
  assert.equal(log.length, headerSize + 12 + 2 + 48 + 4 + 2);
});

test('short, long and trailing bytes, and bad fields, are typed errors', () => {
  const log = writeEventLog(bootEvents());
  assert.equal(
    code(() => parseEventLog(log.subarray(0, 20))),
    'ERR_SHORT_INPUT',
  );
  assert.equal(
    code(() => parseEventLog(log.subarray(0, log.length - 1))),
    'ERR_SHORT_INPUT',
  );
  const trailing = new Uint8Array(log.length + 5);
  trailing.set(log);
  assert.equal(
    code(() => parseEventLog(trailing)),
    'ERR_TRAILING_BYTES',
  );
  // a length field past the end (an event claiming more data than there is)
  const long = writeEventLog([
    { mrIndex: 1, eventType: EV.IPL, digest: new Uint8Array(48), data: Uint8Array.of(1, 2) },
  ]);
  new DataView(long.buffer).setUint32(long.length - 2 - 4, 0xffff, true);
  assert.equal(
    code(() => parseEventLog(long)),
    'ERR_SHORT_INPUT',
  );
  const badSig = Uint8Array.from(log);
  badSig[32] ^= 1;
  assert.equal(
    code(() => parseEventLog(badSig)),
    'ERR_EVENT_LOG',
  );
  const badIndex = writeEventLog([
    { mrIndex: 5, eventType: EV.IPL, digest: new Uint8Array(48), data: new Uint8Array(0) },
  ]);
  assert.equal(
    code(() => parseEventLog(badIndex)),
    'ERR_EVENT_LOG',
  );
});
