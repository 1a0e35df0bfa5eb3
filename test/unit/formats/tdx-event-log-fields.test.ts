import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEventLog } from '../../../src/formats/parse-tdx-event-log.ts';
import { replayRtmrs } from '../../../src/formats/replay-rtmrs.ts';
import { EV } from '../../../src/formats/tdx-event-log.ts';
import { thrownCode } from '../../helpers/error-code.ts';

// The CCEL log built by hand from the TCG PC Client PFP layout (TCG_PCR_EVENT header with the
// TCG_EfiSpecIDEventStruct, then TCG_PCR_EVENT2 records, all little-endian), not by writeEventLog, so
// the Spec ID's algorithm list and each event's digest list can be what a test needs.
const SHA256 = 0x000b;
const SHA384 = 0x000c;
const NO_ACTION = 3;
const IPL = 0x0d;

const le = (n: number, size: 1 | 2 | 4) => {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (n >>> (8 * i)) & 0xff;
  return b;
};
const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

interface Header {
  index?: number;
  type?: number;
  signature?: string;
  version?: [minor: number, major: number, errata: number];
  /** The declared count; defaults to algorithms.length. */
  count?: number;
  algorithms?: Array<[id: number, size: number]>;
}
function header(h: Header = {}): Uint8Array {
  const algorithms = h.algorithms ?? [[SHA384, 48]];
  const [minor, major, errata] = h.version ?? [0, 2, 0];
  const body = cat(
    new TextEncoder().encode(h.signature ?? 'Spec ID Event03\0'),
    le(0, 4), // platform class
    le(minor, 1),
    le(major, 1),
    le(errata, 1),
    le(2, 1), // uintn size
    le(h.count ?? algorithms.length, 4),
    ...algorithms.flatMap(([id, size]) => [le(id, 2), le(size, 2)]),
    le(0, 1), // vendor info size
  );
  return cat(le(h.index ?? 0, 4), le(h.type ?? NO_ACTION, 4), new Uint8Array(20), le(body.length, 4), body);
}
function event(
  index: number,
  type: number,
  digests: Array<[alg: number, digest: Uint8Array]>,
  data = Uint8Array.of(9),
) {
  return cat(
    le(index, 4),
    le(type, 4),
    le(digests.length, 4),
    ...digests.flatMap(([alg, d]) => [le(alg, 2), d]),
    le(data.length, 4),
    data,
  );
}
const d48 = (fill: number) => new Uint8Array(48).fill(fill);
const d32 = (fill: number) => new Uint8Array(32).fill(fill);

const code = thrownCode;

test('the control: a hand-built SHA-384 log parses', () => {
  const log = parseEventLog(cat(header(), event(1, IPL, [[SHA384, d48(7)]])));
  assert.equal(log.events.length, 1);
  assert.deepEqual(log.events[0], { mrIndex: 1, eventType: IPL, digest: d48(7), data: Uint8Array.of(9) });
});

test('the first event must be the Spec ID event: CC MR index 0 and EV_NO_ACTION', () => {
  assert.equal(
    code(() => parseEventLog(cat(header({ index: 1 }), event(1, IPL, [[SHA384, d48(1)]])))),
    'ERR_EVENT_LOG',
  );
  assert.equal(
    code(() => parseEventLog(cat(header({ type: IPL }), event(1, IPL, [[SHA384, d48(1)]])))),
    'ERR_EVENT_LOG',
  );
});

test('the Spec ID version is [major, minor, errata] from the minor, major, errata bytes', () => {
  const log = parseEventLog(header({ version: [1, 2, 3] }));
  assert.deepEqual(log.specId.specVersion, [2, 1, 3]);
});

test('the Spec ID declares 1..8 algorithms, SHA-384 among them with 48-byte digests', () => {
  const many = (n: number): Array<[number, number]> => [
    [SHA384, 48],
    ...Array.from({ length: n - 1 }, (): [number, number] => [SHA256, 32]),
  ];
  assert.equal(
    code(() => parseEventLog(header({ algorithms: [], count: 0 }))),
    'ERR_EVENT_LOG',
  );
  // Eight is the most accepted; a ninth is refused as a corrupted count.
  assert.equal(parseEventLog(header({ algorithms: many(8) })).specId.algorithms.length, 8);
  assert.equal(
    code(() => parseEventLog(header({ algorithms: many(9) }))),
    'ERR_EVENT_LOG',
  );
  // SHA-384 need not come first.
  const both = parseEventLog(
    cat(
      header({
        algorithms: [
          [SHA256, 32],
          [SHA384, 48],
        ],
      }),
      event(2, IPL, [
        [SHA256, d32(5)],
        [SHA384, d48(6)],
      ]),
    ),
  );
  assert.deepEqual(both.events[0].digest, d48(6));
  assert.equal(
    code(() => parseEventLog(header({ algorithms: [[SHA256, 32]] }))),
    'ERR_EVENT_LOG',
  );
  assert.equal(
    code(() => parseEventLog(header({ algorithms: [[SHA384, 32]] }))),
    'ERR_EVENT_LOG',
  );
});

test('an event carries one digest per declared algorithm; its SHA-384 one is the event digest', () => {
  const spec = header({
    algorithms: [
      [SHA384, 48],
      [SHA256, 32],
    ],
  });
  // SHA-384 first: the later SHA-256 digest does not replace it.
  const log = parseEventLog(
    cat(
      spec,
      event(3, IPL, [
        [SHA384, d48(0xaa)],
        [SHA256, d32(0xbb)],
      ]),
    ),
  );
  assert.deepEqual(log.events[0].digest, d48(0xaa));
  // Two digests, both SHA-256: no SHA-384 digest.
  assert.equal(
    code(() =>
      parseEventLog(
        cat(
          spec,
          event(3, IPL, [
            [SHA256, d32(1)],
            [SHA256, d32(2)],
          ]),
        ),
      ),
    ),
    'ERR_EVENT_LOG',
  );
  // More digests than the Spec ID declares.
  assert.equal(
    code(() =>
      parseEventLog(
        cat(
          header(),
          event(1, IPL, [
            [SHA384, d48(1)],
            [SHA384, d48(2)],
          ]),
        ),
      ),
    ),
    'ERR_EVENT_LOG',
  );
  // A digest of an algorithm the Spec ID does not declare (here 48 bytes long, as SHA-384's would be).
  assert.equal(
    code(() => parseEventLog(cat(header(), event(1, IPL, [[SHA256, d48(1)]])))),
    'ERR_EVENT_LOG',
  );
});

test('EV_NO_ACTION events may carry any CC MR index and are not replayed; other events only 1..4', () => {
  const log = parseEventLog(
    cat(header(), event(0, NO_ACTION, [[SHA384, d48(1)]]), event(1, NO_ACTION, [[SHA384, d48(2)]])),
  );
  assert.deepEqual(
    log.events.map((e) => e.mrIndex),
    [0, 1],
  );
  assert.deepEqual(replayRtmrs(log.events), [d48(0), d48(0), d48(0), d48(0)]);
  assert.equal(
    code(() => parseEventLog(cat(header(), event(0, IPL, [[SHA384, d48(1)]])))),
    'ERR_EVENT_LOG',
  );
  assert.equal(parseEventLog(cat(header(), event(4, IPL, [[SHA384, d48(1)]]))).events[0].mrIndex, 4);
  assert.equal(
    replayRtmrs([{ mrIndex: 1, eventType: EV.NO_ACTION, digest: d48(3), data: new Uint8Array(0) }])[0].every(
      (b) => b === 0,
    ),
    true,
  );
});

test('after the last event, 12 bytes start an event header (cut: short input); 11 are trailing bytes', () => {
  const log = cat(header(), event(1, IPL, [[SHA384, d48(1)]]));
  const next = event(2, IPL, [[SHA384, d48(2)]]);
  assert.equal(
    code(() => parseEventLog(cat(log, next.subarray(0, 12)))),
    'ERR_SHORT_INPUT',
  );
  assert.equal(
    code(() => parseEventLog(cat(log, next.subarray(0, 11)))),
    'ERR_TRAILING_BYTES',
  );
});
