/**
 * Proof bundle v2 as a byte stream, written (BundleWriter) and read back (BundleReader) on a synthetic
 * chain (test/helpers/synthetic-chain.ts, no emulated world): what is read is exactly what was written,
 * in any chunking; every truncation, every flipped byte of a record, every record out of place or
 * referring to what no earlier record holds is refused with its ERR_BUNDLE_ code at the record's index.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hex } from '../../../src/bytes/util.ts';
import { sha256, sha256Parts } from '../../../src/crypto/sha256.ts';
import { encodeCbor, encodeCborHead, type CborValue } from '../../../src/formats/cbor.ts';
import { BUNDLE_V2_MAGIC, recordValue, type BundleRecord } from '../../../src/chain/bundle-v2-records.ts';
import { BundleError, ChainError } from '../../../src/chain/errors.ts';
import {
  BundleReader,
  isBundleV2,
  readBundleV2,
  readBundleV2Sync,
  type BundleItem,
} from '../../../src/chain/read-bundle-v2.ts';
import { BundleWriter } from '../../../src/chain/write-bundle-v2.ts';
import type { Link, ProofBundle } from '../../../src/chain/types.ts';
import { COLLATERAL, COLLATERAL_ID, SynthChain } from '../../helpers/synthetic-chain.ts';

/** e1 (remote, a1) → e2 (local) → e3 (remote, a2, the same QE context as e1's) → td1 (remote, a3) → w1; e2 revoked. */
function chain(): { s: SynthChain; b: ProofBundle } {
  const s = new SynthChain({ maxDepth: 9 });
  s.remoteSgx('e1', null, 'a1');
  s.localSgx('e2', 'e1');
  s.remoteSgx('e3', 'e2', 'a2');
  s.td('td1', 'e3', 'a3', { workloads: ['sha256:aa'] });
  s.workload('w1', 'td1', 'sha256:aa', 1);
  s.revoke('e2');
  const b = s.bundle();
  b.elements.find((e) => e.id === 'e3')!.cloud = 'cloud-b';
  b.elements.find((e) => e.id === 'platform:a2')!.cloud = 'cloud-b';
  b.elements.find((e) => e.id === 'qe:a2')!.cloud = 'cloud-b';
  Object.assign(
    b.elements.find((e) => e.id === 'platform:a1')!,
    { tcbStatus: 'UpToDate', advisoryIds: ['INTEL-SA-1'] },
  );
  delete b.elements.find((e) => e.id === 'platform:a3')!.fmspc;
  return { s, b };
}

function write(b: ProofBundle) {
  const parts: Uint8Array[] = [];
  const w = new BundleWriter((x) => parts.push(x.slice()));
  w.header(b.chain);
  for (const r of b.revocations) w.revocation(r);
  for (const l of b.links) {
    const el = b.elements.find((e) => e.id === l.child)!;
    w.link(l, l.evidence.kind === 'dcap-quote' ? b.collateral[l.evidence.collateral] : undefined, el.cloud);
  }
  for (const e of b.elements) if (e.kind === 'platform') w.platform(e);
  const end = w.finish();
  return { bytes: new Uint8Array(Buffer.concat(parts)), end, w };
}

const { b: bundle } = chain();
const { bytes, end, w: writer } = write(bundle);
const items = readBundleV2Sync(bytes);

/** [start, end) of each record in `bytes`, after the magic. */
function recordSpans(x: Uint8Array): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let p = BUNDLE_V2_MAGIC.length;
  while (p < x.length) {
    const info = x[p] & 0x1f;
    const extra = info < 24 ? 0 : info === 24 ? 1 : info === 25 ? 2 : 4;
    let len = extra === 0 ? info : 0;
    for (let i = 0; i < extra; i++) len = len * 256 + x[p + 1 + i];
    out.push([p, p + 1 + extra + len]);
    p += 1 + extra + len;
  }
  return out;
}
const spans = recordSpans(bytes);

const refused = (x: Uint8Array, code: string, record: number, message?: RegExp, opts = {}) =>
  assert.throws(
    () => readBundleV2Sync(x, opts),
    (e) => {
      assert.ok(e instanceof BundleError, String(e));
      assert.equal(e.code, code);
      assert.equal(e.record, record);
      if (message) assert.match(e.message, message);
      return true;
    },
  );

test('the writer: records in order, shared blobs once, the counts and hash it returns', () => {
  // header, policy, revocation, collateral, qe-context, e1, e2, e3 (context shared), td1 (whole quote), w1,
  // three platforms, trailer.
  assert.deepEqual(
    items.map((i) => i.kind),
    ['header', 'revocation', 'link', 'link', 'link', 'link', 'link', 'platform', 'platform', 'platform', 'trailer'],
  );
  assert.deepEqual(
    items.map((i) => i.index),
    [1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13],
  );
  assert.equal(spans.length, 14);
  assert.deepEqual(end, { records: 14, bytes: bytes.length, hash: (items.at(-1) as { hash: string }).hash });
  assert.equal(writer.bytes, bytes.length);
  assert.deepEqual([...bytes.subarray(0, 8)], [...BUNDLE_V2_MAGIC]);
  const trailer = items.at(-1) as Extract<BundleItem, { kind: 'trailer' }>;
  assert.deepEqual(trailer.links, { local: 1, remote: 3, measured: 1 });
  assert.equal(trailer.records, 13);
  assert.equal(isBundleV2(bytes), true);
  assert.equal(isBundleV2(bytes.subarray(0, 7)), false);
  assert.equal(isBundleV2(new TextEncoder().encode('{"format":"catena-proof-bundle"}')), false);
});

test('the reader gives back exactly what was written: header, revocations, links, elements, collateral, platforms', () => {
  const header = items[0] as Extract<BundleItem, { kind: 'header' }>;
  assert.deepEqual(header.header, bundle.chain);
  assert.deepEqual((items[1] as Extract<BundleItem, { kind: 'revocation' }>).revocation, bundle.revocations[0]);
  const links = items.filter((i): i is Extract<BundleItem, { kind: 'link' }> => i.kind === 'link');
  assert.deepEqual(
    links.map((l) => l.link),
    bundle.links,
  );
  for (const l of links) {
    assert.deepEqual(
      l.element,
      bundle.elements.find((e) => e.id === l.link.child),
    );
    assert.deepEqual(l.collateral, l.link.evidence.kind === 'dcap-quote' ? COLLATERAL : undefined);
    assert.equal('collateral' in l, l.link.evidence.kind === 'dcap-quote');
  }
  const platforms = items.filter((i): i is Extract<BundleItem, { kind: 'platform' }> => i.kind === 'platform');
  assert.deepEqual(
    platforms.flatMap((p) => p.elements),
    bundle.elements.filter((e) => e.kind === 'platform' || e.kind === 'qe'),
  );
});

test('any chunking gives the same items', async () => {
  for (const size of [1, 7, 500, bytes.length]) {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.slice(i, i + size));
    const got: BundleItem[] = [];
    for await (const it of readBundleV2(chunks)) got.push(it);
    assert.deepEqual(got, items, `chunks of ${size}`);
  }
  // The push/next interface: nothing before the input is complete; then the items.
  const r = new BundleReader();
  r.push(bytes.subarray(0, spans[1][1] - 1));
  assert.equal(r.next(), undefined);
  r.push(bytes.subarray(spans[1][1] - 1));
  assert.equal(r.next()?.kind, 'header');
});

test('every truncation: ERR_BUNDLE_TRUNCATED at the record being read', () => {
  const cuts = new Set<number>();
  for (let i = 0; i < 80; i++) cuts.add(i);
  for (const [a, z] of spans) for (const d of [-1, 0, 1, 2, 33, 34]) for (const c of [a + d, z + d]) cuts.add(c);
  for (let i = 0; i < bytes.length; i += 97) cuts.add(i);
  for (const cut of [...cuts].filter((c) => c >= 0 && c < bytes.length).sort((x, y) => x - y)) {
    const record = spans.findIndex(([, z]) => cut < z);
    const boundary = cut === BUNDLE_V2_MAGIC.length || spans.some(([, z]) => z === cut);
    const inMagic = cut < BUNDLE_V2_MAGIC.length;
    refused(
      bytes.subarray(0, cut),
      'ERR_BUNDLE_TRUNCATED',
      inMagic ? 0 : record,
      boundary || cut === 0 ? /the input ends before the trailer$/ : /the input ends inside this record$/,
    );
  }
});

test('every flipped byte of a record: ERR_BUNDLE_SEQUENCE at that record; of the magic: ERR_BUNDLE_FORMAT at 0', () => {
  for (let i = 0; i < bytes.length; i += i < 600 ? 1 : 13) {
    const x = bytes.slice();
    x[i] ^= 0x01;
    const record = spans.findIndex(([, z]) => i < z);
    if (i < BUNDLE_V2_MAGIC.length) refused(x, 'ERR_BUNDLE_FORMAT', 0, /magic/);
    else {
      const [a] = spans[record];
      const headLen = (bytes[a] & 0x1f) < 24 ? 1 : (bytes[a] & 0x1f) === 24 ? 2 : (bytes[a] & 0x1f) === 25 ? 3 : 5;
      // A flip in a record's length head changes where records are cut: some ERR_BUNDLE_ at or after it.
      if (i < a + headLen)
        assert.throws(
          () => readBundleV2Sync(x),
          (e) => e instanceof BundleError && e.record >= record,
        );
      else refused(x, 'ERR_BUNDLE_SEQUENCE', record, /a record removed, duplicated, swapped or altered here/);
    }
  }
});

test('bytes after the trailer: ERR_BUNDLE_TRAILER', () => {
  refused(Uint8Array.from([...bytes, 0x40]), 'ERR_BUNDLE_TRAILER', 14, /bytes follow the trailer/);
  refused(Uint8Array.from([...bytes, ...bytes.subarray(8)]), 'ERR_BUNDLE_TRAILER', 14);
});

/** Records with valid chain hashes, as the writer frames them (`head` overrides the length head). */
function frame(values: Array<CborValue | Uint8Array>, o: { raw?: boolean } = {}): Uint8Array {
  let prev = sha256(BUNDLE_V2_MAGIC);
  const out: number[] = [...BUNDLE_V2_MAGIC];
  for (const v of values) {
    const body = o.raw && v instanceof Uint8Array ? v : encodeCbor(v);
    const h = sha256Parts(prev, body);
    out.push(...encodeCborHead(2, h.length + body.length), ...h, ...body);
    prev = h;
  }
  return Uint8Array.from(out);
}

const enc = new TextEncoder();
const canonicalPolicy = enc.encode('{"maxDepth":9}');
const rec = (r: BundleRecord) => recordValue(r);
const headerRec = (policy = canonicalPolicy) =>
  rec({
    kind: 'header',
    header: (() => {
      const { policy: _p, ...rest } = bundle.chain;
      return rest;
    })(),
    policyHash: hex(sha256(policy)),
  });
const blob = (kind: 'policy' | 'collateral' | 'qe-context', content: Uint8Array) =>
  rec({ kind: 'blob', blob: kind, content });
const policyBlob = blob('policy', canonicalPolicy);
const trailer = (records: number, local = 0, remote = 0, blobs = 1, measured?: number) =>
  rec({ kind: 'trailer', records, links: { local, remote, ...(measured ? { measured } : {}) }, blobs });
const linkRec = (l: Link, quoteHead?: Uint8Array, context: string | null = null, collateral = COLLATERAL_ID) => {
  const ev = l.evidence;
  return rec({
    kind: 'link',
    link: {
      ...l,
      ...(ev.kind === 'dcap-quote'
        ? {
            evidence: {
              kind: 'dcap-quote',
              quoteHead: quoteHead ?? Buffer.from(ev.quote, 'hex'),
              context,
              collateral,
              ...(ev.eventLog !== undefined ? { eventLog: ev.eventLog } : {}),
            },
          }
        : {}),
    },
  });
};
const L = (id: string) => bundle.links.find((l) => l.child === id)!;
const utf8Bad = Uint8Array.from([...enc.encode('{"a":"'), 0xff, ...enc.encode('"}')]);
const collateralBlob = blob('collateral', enc.encode(JSON.stringify(COLLATERAL, Object.keys(COLLATERAL).sort())));

test('a minimal stream of hand-framed records reads (the frame helper is the writer)', () => {
  const x = frame([headerRec(), policyBlob, collateralBlob, linkRec(L('e1')), trailer(4, 0, 1, 2)]);
  const got = readBundleV2Sync(x);
  assert.deepEqual(
    got.map((i) => i.kind),
    ['header', 'link', 'trailer'],
  );
  assert.deepEqual((got[1] as Extract<BundleItem, { kind: 'link' }>).link, L('e1'));
});

test('records out of place, references no earlier record holds, blobs that are not what they claim', () => {
  const h = headerRec();
  const e1 = linkRec(L('e1'));
  const cases: Array<[string, Array<CborValue | Uint8Array>, string, number, RegExp]> = [
    ['a blob first', [policyBlob], 'ERR_BUNDLE_FORMAT', 0, /a blob record cannot be here$/],
    ['a header, then no policy', [h, trailer(2)], 'ERR_BUNDLE_FORMAT', 1, /a trailer record cannot be here$/],
    [
      'a header, then a collateral blob',
      [h, collateralBlob],
      'ERR_BUNDLE_FORMAT',
      1,
      /a collateral blob record cannot be here$/,
    ],
    [
      'the policy of another hash',
      [headerRec(enc.encode('{}')), policyBlob],
      'ERR_BUNDLE_MISSING_REF',
      1,
      /is not this record$/,
    ],
    [
      'a policy that is not JSON',
      [headerRec(enc.encode('{')), blob('policy', enc.encode('{'))],
      'ERR_BUNDLE_FORMAT',
      1,
      /policy blob is not JSON$/,
    ],
    [
      'a policy that is a list',
      [headerRec(enc.encode('[]')), blob('policy', enc.encode('[]'))],
      'ERR_BUNDLE_FORMAT',
      1,
      /policy blob is not a JSON object$/,
    ],
    [
      'a policy that is null',
      [headerRec(enc.encode('null')), blob('policy', enc.encode('null'))],
      'ERR_BUNDLE_FORMAT',
      1,
      /not a JSON object$/,
    ],
    [
      'a policy not canonical',
      [headerRec(enc.encode('{ }')), blob('policy', enc.encode('{ }'))],
      'ERR_BUNDLE_FORMAT',
      1,
      /policy blob is not canonical JSON$/,
    ],
    [
      'a policy not UTF-8',
      [headerRec(Uint8Array.from([0xff])), blob('policy', Uint8Array.from([0xff]))],
      'ERR_BUNDLE_FORMAT',
      1,
      /not JSON$/,
    ],
    [
      'a policy with a string not UTF-8',
      [headerRec(utf8Bad), blob('policy', utf8Bad)],
      'ERR_BUNDLE_FORMAT',
      1,
      /policy blob is not JSON$/,
    ],
    [
      'a policy that is a number',
      [headerRec(enc.encode('1')), blob('policy', enc.encode('1'))],
      'ERR_BUNDLE_FORMAT',
      1,
      /policy blob is not a JSON object$/,
    ],
    [
      'a policy that is a string',
      [headerRec(enc.encode('"x"')), blob('policy', enc.encode('"x"'))],
      'ERR_BUNDLE_FORMAT',
      1,
      /policy blob is not a JSON object$/,
    ],
    [
      'a policy with a lone surrogate',
      [headerRec(enc.encode('{"a":"\\ud800"}')), blob('policy', enc.encode('{"a":"\\ud800"}'))],
      'ERR_BUNDLE_FORMAT',
      1,
      /policy blob is not canonical JSON$/,
    ],
    [
      'collateral with one field not text',
      [h, policyBlob, blob('collateral', enc.encode('{"a":"x","b":1}'))],
      'ERR_BUNDLE_FORMAT',
      2,
      /collateral blob has a field that is not a string$/,
    ],
    ['a header twice', [h, policyBlob, h], 'ERR_BUNDLE_FORMAT', 2, /a header record cannot be here$/],
    [
      'a policy blob again',
      [h, policyBlob, policyBlob],
      'ERR_BUNDLE_FORMAT',
      2,
      /a policy blob record cannot be here$/,
    ],
    ['a blob twice', [h, policyBlob, collateralBlob, collateralBlob], 'ERR_BUNDLE_FORMAT', 3, /is stored twice$/],
    [
      'collateral not all text',
      [h, policyBlob, blob('collateral', enc.encode('{"a":1}'))],
      'ERR_BUNDLE_FORMAT',
      2,
      /collateral blob has a field that is not a string$/,
    ],
    [
      'collateral not canonical',
      [h, policyBlob, blob('collateral', enc.encode('{"b":"1","a":"2"}'))],
      'ERR_BUNDLE_FORMAT',
      2,
      /collateral blob is not canonical JSON$/,
    ],
    [
      'a link before its collateral',
      [h, policyBlob, e1],
      'ERR_BUNDLE_MISSING_REF',
      2,
      /^record 2: collateral [0-9a-f]{64} is not in an earlier record$/,
    ],
    [
      'a link whose collateral is a QE context',
      [h, policyBlob, blob('qe-context', enc.encode(JSON.stringify(COLLATERAL, Object.keys(COLLATERAL).sort()))), e1],
      'ERR_BUNDLE_MISSING_REF',
      3,
      /collateral/,
    ],
    [
      'a link whose QE context is absent',
      [h, policyBlob, collateralBlob, linkRec(L('e1'), new Uint8Array(500), '00'.repeat(32))],
      'ERR_BUNDLE_MISSING_REF',
      3,
      /QE context 0{64} is not in an earlier record$/,
    ],
    [
      'a link whose QE context is a collateral',
      [h, policyBlob, collateralBlob, linkRec(L('e1'), new Uint8Array(500), COLLATERAL_ID)],
      'ERR_BUNDLE_MISSING_REF',
      3,
      /QE context/,
    ],
    [
      'a revocation after a link',
      [h, policyBlob, collateralBlob, e1, rec({ kind: 'revocation', revocation: bundle.revocations[0] })],
      'ERR_BUNDLE_FORMAT',
      4,
      /a revocation record cannot be here$/,
    ],
    [
      'a link after a platform',
      [h, policyBlob, collateralBlob, rec({ kind: 'platform', platform: 'a1' }), e1],
      'ERR_BUNDLE_FORMAT',
      4,
      /a link record cannot be here$/,
    ],
    [
      'a revocation after a platform',
      [
        h,
        policyBlob,
        rec({ kind: 'platform', platform: 'a1' }),
        rec({ kind: 'revocation', revocation: bundle.revocations[0] }),
      ],
      'ERR_BUNDLE_FORMAT',
      3,
      /a revocation record cannot be here$/,
    ],
    ['a body that is not CBOR', [h, policyBlob, Uint8Array.from([0xff])], 'ERR_BUNDLE_FORMAT', 2, /^record 2: cbor: /],
  ];
  for (const [name, values, code, record, message] of cases) {
    const x = frame(values, { raw: name === 'a body that is not CBOR' });
    assert.throws(
      () => readBundleV2Sync(x),
      (e) => e instanceof BundleError && e.code === code && e.record === record && message.test(e.message),
      name,
    );
  }
});

test('the trailer must count exactly the records, links by type and blobs read', () => {
  const base = [headerRec(), policyBlob, collateralBlob, linkRec(L('e1')), linkRec(L('e2'))];
  assert.equal(readBundleV2Sync(frame([...base, trailer(5, 1, 1, 2)])).length, 4);
  for (const t of [
    trailer(6, 1, 1, 2),
    trailer(5, 0, 1, 2),
    trailer(5, 1, 2, 2),
    trailer(5, 1, 1, 3),
    trailer(5, 1, 1, 2, 1),
  ])
    refused(
      frame([...base, t]),
      'ERR_BUNDLE_TRAILER',
      5,
      /^record 5: the trailer counts \d+ records, \d\+\d links, \d blobs; read 5, 1\+1, 2$/,
    );
  // Measured links are counted too.
  const { b } = chain();
  const td = b.links.find((l) => l.child === 'td1')!;
  const w1 = b.links.find((l) => l.child === 'w1')!;
  const withW = [headerRec(), policyBlob, collateralBlob, linkRec(td), rec({ kind: 'link', link: w1 })];
  assert.equal(readBundleV2Sync(frame([...withW, trailer(5, 0, 1, 2, 1)])).length, 4);
  refused(frame([...withW, trailer(5, 0, 1, 2)]), 'ERR_BUNDLE_TRAILER', 5);
});

test('record heads: a byte string, shortest length, a length within the limit and not below the chain hash', () => {
  const x = frame([headerRec(), policyBlob, trailer(2)]);
  const first = recordSpans(x)[0];
  const withHead = (head: number[]) => Uint8Array.from([...x.subarray(0, 8), ...head, ...x.subarray(first[0] + 3)]);
  assert.equal(x[first[0]], 0x59); // a 2-byte length head
  refused(
    Uint8Array.from([...x.subarray(0, 8), 0x80 | (x[8] & 0x1f), ...x.subarray(9)]),
    'ERR_BUNDLE_FORMAT',
    0,
    /a record is a CBOR byte string$/,
  );
  refused(withHead([0x5b, 0, 0, 0, 0, 0, 0, 0, 1]), 'ERR_BUNDLE_FORMAT', 0, /record length: unsupported head$/);
  refused(withHead([0x5f]), 'ERR_BUNDLE_FORMAT', 0, /unsupported head$/);
  refused(Uint8Array.from([...BUNDLE_V2_MAGIC, 0x58, 23]), 'ERR_BUNDLE_FORMAT', 0, /record length: non-shortest head$/);
  refused(Uint8Array.from([...BUNDLE_V2_MAGIC, 0x59, 0, 255]), 'ERR_BUNDLE_FORMAT', 0, /non-shortest head$/);
  refused(Uint8Array.from([...BUNDLE_V2_MAGIC, 0x5a, 0, 0, 255, 255]), 'ERR_BUNDLE_FORMAT', 0, /non-shortest head$/);
  // Shortest heads at their lower bounds: accepted as heads (then truncated).
  refused(Uint8Array.from([...BUNDLE_V2_MAGIC, 0x58, 33]), 'ERR_BUNDLE_TRUNCATED', 0);
  refused(Uint8Array.from([...BUNDLE_V2_MAGIC, 0x59, 1, 0]), 'ERR_BUNDLE_TRUNCATED', 0);
  refused(Uint8Array.from([...BUNDLE_V2_MAGIC, 0x5a, 0, 1, 0, 0]), 'ERR_BUNDLE_TRUNCATED', 0);
  refused(
    Uint8Array.from([...BUNDLE_V2_MAGIC, 0x58, 32, ...new Uint8Array(32)]),
    'ERR_BUNDLE_FORMAT',
    0,
    /record shorter than its chain hash$/,
  );
  refused(
    Uint8Array.from([...BUNDLE_V2_MAGIC, 0x57, ...new Uint8Array(23)]),
    'ERR_BUNDLE_FORMAT',
    0,
    /shorter than its chain hash$/,
  );
  refused(Uint8Array.from([...BUNDLE_V2_MAGIC, 0x40]), 'ERR_BUNDLE_FORMAT', 0, /shorter than its chain hash$/);
  refused(Uint8Array.from([...BUNDLE_V2_MAGIC, 0x58]), 'ERR_BUNDLE_TRUNCATED', 0, /the input ends inside this record$/);
  // 33 bytes: a chain hash and a one-byte body, read (and refused by its hash).
  refused(Uint8Array.from([...BUNDLE_V2_MAGIC, 0x58, 33, ...new Uint8Array(33)]), 'ERR_BUNDLE_SEQUENCE', 0);
  const len = x[first[0] + 1] * 256 + x[first[0] + 2];
  assert.equal(readBundleV2Sync(x, { maxRecordBytes: len }).length, 2);
  refused(x, 'ERR_BUNDLE_TOO_LARGE', 0, new RegExp(`^record 0: declares ${len} bytes, above the limit ${len - 1}$`), {
    maxRecordBytes: len - 1,
  });
  // Refused on its head alone, before the record's bytes arrive.
  const r = new BundleReader({ maxRecordBytes: 100 });
  assert.equal(r.maxRecordBytes, 100);
  assert.equal(new BundleReader().maxRecordBytes, 1 << 20);
  r.push(x.subarray(0, first[0] + 3));
  assert.throws(
    () => r.next(),
    (e) => e instanceof BundleError && e.code === 'ERR_BUNDLE_TOO_LARGE',
  );
  refused(Uint8Array.from([...BUNDLE_V2_MAGIC, 0x5a, 0, 0x10, 0, 1]), 'ERR_BUNDLE_TOO_LARGE', 0);
});

test('the writer refuses what it cannot write in order or cannot rebuild', () => {
  const { b, s } = chain();
  const bad = (f: (w: BundleWriter) => void, message: RegExp) =>
    assert.throws(
      () => f(new BundleWriter(() => {})),
      (e) => e instanceof ChainError && e.code === 'ERR_CHAIN_BUNDLE' && message.test(e.message),
    );
  const started = (w: BundleWriter) => w.header(b.chain);
  bad((w) => w.revocation(b.revocations[0]), /revocations cannot follow start/);
  bad((w) => w.link(b.links[1]), /links cannot follow start/);
  bad((w) => w.platform(b.elements[0]), /platforms cannot follow start/);
  bad((w) => w.finish(), /no header, or finished/);
  bad((w) => (started(w), w.header(b.chain)), /one header, first/);
  bad((w) => (started(w), w.link(b.links[1]), w.revocation(b.revocations[0])), /revocations cannot follow links/);
  bad((w) => (started(w), w.platform(b.elements[0]), w.link(b.links[1])), /links cannot follow platforms/);
  bad((w) => (started(w), w.finish(), w.finish()), /no header, or finished/);
  bad((w) => (started(w), w.finish(), w.platform(b.elements[0])), /platforms cannot follow done/);
  bad((w) => (started(w), w.link(b.links[0])), /remote link e1: its collateral is needed/);
  bad(
    (w) => (started(w), w.link(b.links[0], { other: 'x' })),
    /remote link e1: the collateral given is not the one it references/,
  );
  const qe = b.elements.find((e) => e.kind === 'qe')!;
  bad((w) => (started(w), w.platform(qe)), new RegExp(`^${qe.id} is not a platform element$`));
  // Phases may be skipped, and repeated: revocations then platforms; links then links.
  const w = new BundleWriter(() => {});
  started(w);
  w.revocation(b.revocations[0]);
  w.revocation(b.revocations[0]);
  w.platform(b.elements.find((e) => e.kind === 'platform')!);
  assert.deepEqual(w.finish().records, 6);
  void s;
});

test('the writer splits a quote only where its signature data length says the QE part begins', () => {
  const { b } = chain();
  const l = b.links[0];
  const quoteOf = (len: number, sigLen: number) => {
    const q = new Uint8Array(len).fill(7);
    if (len >= 436) new DataView(q.buffer).setUint32(432, sigLen, true);
    return q;
  };
  const heads = (q: Uint8Array, pass = false) => {
    const parts: Uint8Array[] = [];
    const w = new BundleWriter((x) => parts.push(x.slice()));
    w.header(b.chain);
    const link: Link = { ...l, evidence: { ...l.evidence, quote: hex(q) } as Link['evidence'] };
    w.link(link, COLLATERAL, undefined, pass ? q : undefined);
    w.finish();
    const got = readBundleV2Sync(new Uint8Array(Buffer.concat(parts)));
    const read = got.find((i) => i.kind === 'link') as Extract<BundleItem, { kind: 'link' }>;
    assert.equal((read.link.evidence as { quote: string }).quote, hex(q));
    // Records: header, policy, collateral, [qe-context], link, trailer.
    return got.at(-1)!.index + 1;
  };
  assert.equal(heads(quoteOf(501, 65)), 6); // split: a QE context blob
  assert.equal(heads(quoteOf(501, 65), true), 6);
  assert.equal(heads(quoteOf(500, 64)), 5); // nothing after the head: whole
  assert.equal(heads(quoteOf(501, 64)), 5); // a length that does not match: whole
  assert.equal(heads(quoteOf(501, 66)), 5);
  assert.equal(heads(quoteOf(499, 63)), 5); // shorter than a head: whole
  assert.equal(heads(quoteOf(40, 0)), 5);
});

test('a QE context shared by remote links is written once; a new one after 64 others is still found by its id', () => {
  const { b } = chain();
  const l = b.links[0];
  const parts: Uint8Array[] = [];
  const w = new BundleWriter((x) => parts.push(x.slice()));
  w.header(b.chain);
  const ctx = (i: number) => {
    const q = new Uint8Array(600).fill(i);
    new DataView(q.buffer).setUint32(432, 164, true);
    return q;
  };
  const order = [0, 1, 0, ...Array.from({ length: 66 }, (_, i) => i + 2), 0, 1];
  for (const [n, i] of order.entries())
    w.link({ ...l, child: `c${n}`, evidence: { ...l.evidence, quote: hex(ctx(i)) } as Link['evidence'] }, COLLATERAL);
  const { records } = w.finish();
  // header, policy, collateral, 68 contexts, the links, the trailer.
  assert.equal(records, 3 + 68 + order.length + 1);
  const got = readBundleV2Sync(new Uint8Array(Buffer.concat(parts)));
  const quotes = got.flatMap((i) => (i.kind === 'link' ? [(i.link.evidence as { quote: string }).quote] : []));
  assert.deepEqual(
    quotes,
    order.map((i) => hex(ctx(i))),
  );
});

test("the async reader refuses a truncated stream; a blob read earlier is a copy, not a view of the caller's chunk", async () => {
  await assert.rejects(
    (async () => {
      for await (const it of readBundleV2([bytes.slice(0, spans[5][1] + 3)])) void it;
    })(),
    (e) => e instanceof BundleError && e.code === 'ERR_BUNDLE_TRUNCATED' && e.record === 6,
  );
  // The QE context blob (record 4) arrives in a chunk the caller then overwrites.
  const r = new BundleReader();
  const first = bytes.slice(0, spans[4][1]);
  r.push(first);
  assert.equal(r.next()?.kind, 'header');
  assert.equal(r.next()?.kind, 'revocation');
  assert.equal(r.next(), undefined);
  first.fill(0);
  r.push(bytes.slice(spans[4][1]));
  const link = r.next() as Extract<BundleItem, { kind: 'link' }>;
  assert.deepEqual(link.link, bundle.links[0]);
});
