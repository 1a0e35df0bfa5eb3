import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FormatError } from '../../../src/errors.ts';
import { parsePckExtension, SGX_EXTENSION_OID } from '../../../src/formats/index.ts';

/**
 * The SGX PCK extension parser against DER built here from the profile's ASN.1 (a minimal encoder, so the
 * test does not share code with the parser). The real certificates are covered by the vector tests.
 */
function tlv(tag: number, v: Uint8Array): Uint8Array {
  const n = v.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Uint8Array.from([tag, ...len, ...v]);
}
const seq = (...xs: Uint8Array[]) => tlv(0x30, Uint8Array.from(xs.flatMap((x) => [...x])));
function oid(dotted: string): Uint8Array {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [a * 40 + b];
  for (const n of rest) {
    const parts = [n & 0x7f];
    for (let m = n >> 7; m > 0; m >>= 7) parts.unshift((m & 0x7f) | 0x80);
    out.push(...parts);
  }
  return tlv(0x06, Uint8Array.from(out));
}
function int(n: number, tag = 0x02): Uint8Array {
  const b: number[] = [];
  do {
    b.unshift(n & 0xff);
    n >>= 8;
  } while (n > 0);
  if (b[0] & 0x80) b.unshift(0);
  return tlv(tag, Uint8Array.from(b));
}
const octets = (b: Uint8Array) => tlv(0x04, b);
const entry = (arc: string, value: Uint8Array) => seq(oid(`${SGX_EXTENSION_OID}.${arc}`), value);

interface Fields {
  ppid: Uint8Array;
  comps: number[];
  pceSvn: number;
  cpuSvn: Uint8Array;
  pceId: Uint8Array;
  fmspc: Uint8Array;
  sgxType: number;
}
function encode(f: Fields, opts: { skip?: string; dup?: string; extra?: Uint8Array[] } = {}): Uint8Array {
  const tcb = seq(
    ...f.comps.map((c, i) => entry(`2.${i + 1}`, int(c))),
    entry('2.17', int(f.pceSvn)),
    entry('2.18', octets(f.cpuSvn)),
  );
  const all: Array<[string, Uint8Array]> = [
    ['1', entry('1', octets(f.ppid))],
    ['2', entry('2', tcb)],
    ['3', entry('3', octets(f.pceId))],
    ['4', entry('4', octets(f.fmspc))],
    ['5', entry('5', int(f.sgxType, 0x0a))],
  ];
  const items = all.filter(([a]) => a !== opts.skip).map(([, e]) => e);
  if (opts.dup) items.push(all.find(([a]) => a === opts.dup)![1]);
  return seq(...items, ...(opts.extra ?? []));
}

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const fields: fc.Arbitrary<Fields> = fc.record({
  ppid: bytes(16),
  comps: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 }),
  pceSvn: fc.integer({ min: 0, max: 0xffff }),
  cpuSvn: bytes(16),
  pceId: bytes(2),
  fmspc: bytes(6),
  sgxType: fc.integer({ min: 0, max: 2 }),
});

test('parses every field of an SGX extension built from the profile', () => {
  fc.assert(
    fc.property(fields, (f) => {
      const e = parsePckExtension(encode(f));
      assert.deepEqual([...e.ppid], [...f.ppid]);
      assert.deepEqual(e.tcb.components, f.comps);
      assert.equal(e.tcb.pceSvn, f.pceSvn);
      assert.deepEqual([...e.tcb.cpuSvn], [...f.cpuSvn]);
      assert.deepEqual([...e.pceId], [...f.pceId]);
      assert.deepEqual([...e.fmspc], [...f.fmspc]);
      assert.equal(e.sgxType, f.sgxType);
    }),
    { numRuns: 100 },
  );
});

test('optional PlatformInstanceID and Configuration (Platform CA certificates) are read', () => {
  const [f] = fc.sample(fields, { numRuns: 1, seed: 5 });
  const pii = new Uint8Array(16).fill(7);
  const cfg = seq(entry('7.1', tlv(0x01, Uint8Array.of(0xff))), entry('7.2', tlv(0x01, Uint8Array.of(0))));
  const e = parsePckExtension(encode(f, { extra: [entry('6', octets(pii)), entry('7', cfg)] }));
  assert.deepEqual([...e.platformInstanceId!], [...pii]);
  assert.deepEqual(e.configuration, { dynamicPlatform: true, cachedKeys: false });
});

test('missing, duplicated, mis-sized or unknown entries and trailing bytes are FormatErrors', () => {
  const [f] = fc.sample(fields, { numRuns: 1, seed: 9 });
  const bad = (b: Uint8Array, why: string) =>
    assert.throws(
      () => parsePckExtension(b),
      (e: unknown) => e instanceof FormatError && e.code === 'ERR_PCK_EXTENSION',
      why,
    );
  for (const arc of ['1', '2', '3', '4', '5']) bad(encode(f, { skip: arc }), `missing .${arc}`);
  bad(encode(f, { dup: '4' }), 'duplicate FMSPC');
  bad(encode({ ...f, fmspc: new Uint8Array(5) }), 'short FMSPC');
  bad(encode({ ...f, ppid: new Uint8Array(17) }), 'long PPID');
  bad(encode({ ...f, comps: [...f.comps.slice(0, 15), 256] }), 'component out of range');
  bad(encode(f, { extra: [entry('9', octets(new Uint8Array(1)))] }), 'unknown entry');
  bad(Uint8Array.from([...encode(f), 0]), 'trailing byte');
  bad(encode(f).subarray(0, 40), 'truncated');
});
