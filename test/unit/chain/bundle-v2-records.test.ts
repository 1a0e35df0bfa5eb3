/**
 * The records of proof bundle v2 (src/chain/bundle-v2-records.ts) on values built directly: each kind's
 * CBOR value item by item, a round trip through CBOR that gives the record back exactly, and every item
 * of every kind replaced by a value of another type, or the array made shorter or longer: refused with
 * ERR_BUNDLE_FORMAT at the record's index, never an exception of another class.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex } from '../../../src/bytes/util.ts';
import { CborMap, CborTag, decodeCbor, encodeCbor, type CborValue } from '../../../src/formats/cbor.ts';
import {
  BLOB,
  BLOB_NAMES,
  BUNDLE_V2_MAGIC,
  KIND,
  MAX_RECORD_BYTES,
  QUOTE_HEAD_BYTES,
  recordFromValue,
  recordValue,
  type BundleRecord,
} from '../../../src/chain/bundle-v2-records.ts';
import { BundleError, ChainError } from '../../../src/chain/errors.ts';
import type { EnclaveIdentity, TdIdentity } from '../../../src/chain/types.ts';

const h = (byte: string, n: number) => byte.repeat(n);
const B = (byte: string, n: number) => fromHex(h(byte, n));

const header: BundleRecord = {
  kind: 'header',
  header: {
    version: 1,
    id: 'chain-1',
    name: 'name',
    createdAt: '2026-12-04T00:00:00.000Z',
    rootSha256: h('a1', 32),
    emulatedRoot: true,
    ownerKey: h('a2', 64),
    signature: h('a3', 64),
  },
  policyHash: h('a4', 32),
};
const sgxId: EnclaveIdentity = {
  mrEnclave: h('b1', 32),
  mrSigner: h('b2', 32),
  isvProdId: 3,
  isvSvn: 4,
  attributes: h('b3', 16),
  debug: false,
};
const tdId: TdIdentity = {
  kind: 'tdx-td',
  mrTd: h('c1', 48),
  rtmr: [h('c2', 48), h('c3', 48), h('c4', 48), h('c5', 48)],
  tdAttributes: h('00', 8),
  xfam: h('e7', 8),
  mrConfigId: h('00', 48),
  mrOwner: h('00', 48),
  mrOwnerConfig: h('00', 48),
  mrSeam: h('c6', 48),
  debug: false,
};
const linkBase = {
  version: 1 as const,
  chain: '',
  parent: 'p' as string | null,
  child: 'c',
  nonce: h('d1', 32),
  childKey: h('d2', 64),
  childPlatform: h('d3', 16),
  at: '2026-12-04T01:00:00.000Z',
  signature: h('d4', 64),
};
const local: BundleRecord = {
  kind: 'link',
  link: {
    ...linkBase,
    type: 'local',
    childIdentity: sgxId,
    evidence: { kind: 'sgx-report', report: h('e1', 432) },
    appraisal: { verdict: 'accepted' },
  },
};
const remote: BundleRecord = {
  kind: 'link',
  link: {
    ...linkBase,
    parent: null,
    type: 'remote',
    childIdentity: sgxId,
    evidence: {
      kind: 'dcap-quote',
      quoteHead: B('e2', QUOTE_HEAD_BYTES),
      context: h('e3', 32),
      collateral: h('e4', 32),
    },
    appraisal: { verdict: 'accepted', tcbStatus: 'UpToDate', advisoryIds: ['INTEL-SA-1', 'INTEL-SA-2'] },
  },
  cloud: 'cloud-a',
};
const tdRemote: BundleRecord = {
  kind: 'link',
  link: {
    ...linkBase,
    type: 'remote',
    childIdentity: tdId,
    evidence: {
      kind: 'dcap-quote',
      quoteHead: B('e5', 700),
      context: null,
      collateral: h('e4', 32),
      eventLog: h('e6', 90),
    },
    appraisal: { verdict: 'accepted', tcbStatus: 'OutOfDate', advisoryIds: [] },
  },
};
const measured: BundleRecord = {
  kind: 'link',
  link: {
    ...linkBase,
    type: 'measured',
    childIdentity: { kind: 'td-workload', imageDigest: 'sha256:ab', event: 7 },
    evidence: { kind: 'td-event', event: 7, digest: h('f1', 48) },
    appraisal: { verdict: 'accepted' },
  },
  cloud: 'cloud-b',
};
const platformFull: BundleRecord = {
  kind: 'platform',
  platform: h('d3', 16),
  cloud: 'cloud-a',
  fmspc: '00906ed50000',
  tcbStatus: 'UpToDate',
  advisoryIds: ['INTEL-SA-3'],
};
const platformBare: BundleRecord = { kind: 'platform', platform: h('d5', 16) };
const records: BundleRecord[] = [
  header,
  { kind: 'blob', blob: 'policy', content: new TextEncoder().encode('{}') },
  { kind: 'blob', blob: 'collateral', content: B('0a', 5) },
  { kind: 'blob', blob: 'qe-context', content: new Uint8Array(0) },
  {
    kind: 'revocation',
    revocation: { element: 'c', reason: 'why', at: '2026-12-04T02:00:00.000Z', signature: h('f2', 64) },
  },
  local,
  remote,
  tdRemote,
  measured,
  platformFull,
  platformBare,
  { kind: 'trailer', records: 12, links: { local: 1, remote: 2 }, blobs: 3 },
  { kind: 'trailer', records: 13, links: { local: 1, remote: 2, measured: 4 }, blobs: 3 },
];

test('constants: the magic, the kinds, the blob kinds, the limits', () => {
  assert.deepEqual([...BUNDLE_V2_MAGIC], [...new TextEncoder().encode('CATENA\n'), 2]);
  assert.deepEqual(KIND, { header: 0, blob: 1, revocation: 2, link: 3, platform: 4, trailer: 5 });
  assert.deepEqual(BLOB, { policy: 0, collateral: 1, qeContext: 2 });
  assert.deepEqual(BLOB_NAMES, ['policy', 'collateral', 'qe-context']);
  assert.equal(MAX_RECORD_BYTES, 1048576);
  assert.equal(QUOTE_HEAD_BYTES, 500);
});

test('each record kind as its CBOR value, item by item', () => {
  assert.deepEqual(recordValue(header), [
    0,
    2,
    'chain-1',
    'name',
    '2026-12-04T00:00:00.000Z',
    B('a1', 32),
    true,
    B('a2', 64),
    B('a4', 32),
    B('a3', 64),
  ]);
  assert.deepEqual(recordValue(records[1]), [1, 0, new TextEncoder().encode('{}')]);
  assert.deepEqual(recordValue(records[2]), [1, 1, B('0a', 5)]);
  assert.deepEqual(recordValue(records[3]), [1, 2, new Uint8Array(0)]);
  assert.deepEqual(recordValue(records[4]), [2, 'c', 'why', '2026-12-04T02:00:00.000Z', B('f2', 64)]);
  const sgxItems = [B('b1', 32), B('b2', 32), 3, 4, B('b3', 16), false];
  const tail = (ev: CborValue, appraisal: CborValue, cloud: CborValue) => [
    ev,
    appraisal,
    '2026-12-04T01:00:00.000Z',
    B('d4', 64),
    cloud,
  ];
  const head = (parent: string | null, type: number, identity: CborValue) => [
    3,
    'c',
    parent,
    type,
    B('d1', 32),
    B('d2', 64),
    identity,
    B('d3', 16),
  ];
  assert.deepEqual(recordValue(local), [...head('p', 0, sgxItems), ...tail(B('e1', 432), [null, null], null)]);
  assert.deepEqual(recordValue(remote), [
    ...head(null, 1, sgxItems),
    ...tail([B('e2', 500), B('e3', 32), B('e4', 32)], ['UpToDate', ['INTEL-SA-1', 'INTEL-SA-2']], 'cloud-a'),
  ]);
  assert.deepEqual(recordValue(tdRemote), [
    ...head('p', 1, JSON.stringify(tdId, Object.keys(tdId).sort())),
    ...tail([B('e5', 700), null, B('e4', 32), B('e6', 90)], ['OutOfDate', []], null),
  ]);
  assert.deepEqual(recordValue(measured), [
    ...head('p', 2, '{"event":7,"imageDigest":"sha256:ab","kind":"td-workload"}'),
    ...tail([7, B('f1', 48)], [null, null], 'cloud-b'),
  ]);
  assert.deepEqual(recordValue(platformFull), [
    4,
    B('d3', 16),
    'cloud-a',
    B('00906ed50000', 1),
    'UpToDate',
    ['INTEL-SA-3'],
  ]);
  assert.deepEqual(recordValue(platformBare), [4, B('d5', 16), null, null, null, null]);
  assert.deepEqual(recordValue(records[11]), [5, 12, 1, 2, 3]);
  assert.deepEqual(recordValue(records[12]), [5, 13, 1, 2, 3, 4]);
  // A remote link whose quote travels whole (no QE context split off).
  const whole = structuredClone(remote);
  (whole.link as { evidence: unknown }).evidence = { kind: 'dcap-quote', quote: h('e7', 20), collateral: h('e4', 32) };
  assert.deepEqual((recordValue(whole) as CborValue[])[8], [B('e7', 20), null, B('e4', 32)]);
});

test('every record kind round-trips through CBOR exactly', () => {
  for (const [i, r] of records.entries()) {
    const back = recordFromValue(decodeCbor(encodeCbor(recordValue(r)), { simple: true }), i);
    assert.deepEqual(back, r, `record ${i} (${r.kind})`);
  }
});

test('a hex field the writer could not rebuild byte for byte: ERR_CHAIN_BUNDLE, short fields and long ones', () => {
  const bad = (f: (r: BundleRecord) => void) => {
    const r = structuredClone(local);
    f(r);
    assert.throws(
      () => recordValue(r),
      (e) => e instanceof ChainError && e.code === 'ERR_CHAIN_BUNDLE',
    );
  };
  const link = (r: BundleRecord) => (r as Extract<BundleRecord, { kind: 'link' }>).link;
  bad((r) => (link(r).nonce = h('D1', 32)));
  bad((r) => (link(r).nonce = `0x${h('d1', 31)}`));
  bad((r) => (link(r).nonce = h('d1', 32).slice(1)));
  // Longer than 1024 characters: checked by encoding back.
  bad((r) => ((link(r).evidence as { report: string }).report = h('E1', 600)));
  bad((r) => ((link(r).evidence as { report: string }).report = h('e1', 600) + 'g0'));
  const ok = structuredClone(local);
  (link(ok).evidence as { report: string }).report = h('e1', 600);
  assert.deepEqual((recordValue(ok) as CborValue[])[8], B('e1', 600));
});

/** A value of another CBOR type than `v` (and not null where null is allowed). */
function otherType(v: CborValue): CborValue[] {
  if (v instanceof Uint8Array) return ['x', 1, [v]];
  if (typeof v === 'string') return [1, new Uint8Array(1), [v]];
  if (typeof v === 'number') return ['1', true];
  if (typeof v === 'boolean') return [1, 'true'];
  if (v === null) return [];
  return ['x', 1];
}

// The message names the record, then what is wrong, led by the item's name ("chain id: expected text").
const refused = (v: CborValue, index: number, what: string) =>
  assert.throws(
    () => recordFromValue(v, index),
    (e) =>
      e instanceof BundleError &&
      e.code === 'ERR_BUNDLE_FORMAT' &&
      e.record === index &&
      new RegExp(`^record ${index}: [a-zA-Z]`).test(e.message),
    what,
  );

test('every item of every record kind replaced by another type, or the array one shorter or longer: ERR_BUNDLE_FORMAT at its index', () => {
  // Items that may hold any value of their place: the link's identity (an array or a JSON text) and the
  // link's parent, cloud and platform's optional items (null or text/bytes) are tried with what they refuse.
  let n = 0;
  for (const [ri, r] of records.entries()) {
    const v = recordValue(r) as CborValue[];
    const index = 100 + ri;
    for (let i = 1; i < v.length; i++) {
      for (const x of otherType(v[i])) {
        const w = [...v];
        w[i] = x;
        // A trailer's sixth item and an absent optional item are the cases handled below.
        if (r.kind === 'link' && i === 6 && typeof x === 'string') continue;
        refused(w, index, `${r.kind} item ${i} = ${JSON.stringify(x)}`);
        n++;
      }
      // Fixed-length bytes one byte longer.
      if (
        v[i] instanceof Uint8Array &&
        r.kind !== 'blob' &&
        !(r.kind === 'link' && (i === 7 || i === 8)) &&
        r.kind !== 'platform'
      ) {
        const w = [...v];
        w[i] = new Uint8Array((v[i] as Uint8Array).length + 1);
        refused(w, index, `${r.kind} item ${i} one byte longer`);
        n++;
      }
    }
    if (r.kind !== 'trailer') {
      refused(v.slice(0, -1), index, `${r.kind} one item short`);
      refused([...v, null], index, `${r.kind} one item more`);
    }
    refused([...v.slice(0, -1), new CborMap([])], index, `${r.kind} with a map`);
    refused([...v.slice(0, -1), new CborTag(1, 0)], index, `${r.kind} with a tag`);
  }
  assert.ok(n > 100, `${n} replacements tried`);
});

test('the items inside a link: identity, evidence and appraisal, each refused when off its schema', () => {
  const item = (r: BundleRecord, i: number, x: CborValue) => {
    const v = recordValue(r) as CborValue[];
    v[i] = x;
    return v;
  };
  const sgxItems = (recordValue(local) as CborValue[])[6] as CborValue[];
  for (let i = 0; i < 6; i++)
    for (const x of otherType(sgxItems[i])) {
      const id = [...sgxItems];
      id[i] = x;
      refused(item(local, 6, id), 7, `identity item ${i}`);
    }
  for (const len of [16, 31, 33]) {
    const id = [...sgxItems];
    id[0] = new Uint8Array(len);
    refused(item(local, 6, id), 7, `mrEnclave of ${len} bytes`);
  }
  refused(item(local, 6, sgxItems.slice(0, 5)), 7, 'identity of 5');
  refused(item(local, 6, 'not json'), 7, 'identity text not JSON');
  refused(item(local, 6, JSON.stringify(sgxId)), 7, 'an SGX identity as text');
  refused(item(local, 6, JSON.stringify({ ...tdId, extra: 1 })), 7, 'a TD identity with a field more');
  refused(item(local, 3, 3), 7, 'link type 3');
  refused(item(local, 3, '0'), 7, 'link type as text');
  // Evidence by link type.
  refused(item(measured, 8, [7]), 8, 'measured evidence of 1');
  refused(item(measured, 8, ['7', new Uint8Array(48)]), 8, 'event index as text');
  refused(item(measured, 8, [7, new Uint8Array(47)]), 8, 'event digest of 47 bytes');
  refused(item(remote, 8, [new Uint8Array(500), null]), 8, 'remote evidence of 2');
  refused(
    item(remote, 8, [new Uint8Array(500), null, new Uint8Array(32), new Uint8Array(1), null]),
    8,
    'remote evidence of 5',
  );
  refused(item(remote, 8, ['q', null, new Uint8Array(32)]), 8, 'quote head as text');
  refused(item(remote, 8, [new Uint8Array(500), new Uint8Array(31), new Uint8Array(32)]), 8, 'context id of 31');
  refused(item(remote, 8, [new Uint8Array(500), null, new Uint8Array(33)]), 8, 'collateral id of 33');
  refused(item(remote, 8, [new Uint8Array(500), null, new Uint8Array(32), 'log']), 8, 'event log as text');
  refused(item(local, 8, 'report'), 7, 'report as text');
  // Appraisal.
  refused(item(remote, 9, [null]), 9, 'appraisal of 1');
  refused(item(remote, 9, [1, null]), 9, 'tcbStatus as a number');
  refused(item(remote, 9, [null, 'INTEL-SA-1']), 9, 'advisories not a list');
  refused(item(remote, 9, [null, [1]]), 9, 'an advisory as a number');
  refused(item(platformFull, 5, [1]), 9, 'a platform advisory as a number');
  refused(item(platformFull, 5, 'INTEL-SA-3'), 9, 'platform advisories not a list');
});

test('records that are not records: ERR_BUNDLE_FORMAT at their index', () => {
  for (const v of [
    [],
    0,
    'x',
    null,
    new Uint8Array(1),
    ['0', 2],
    [true],
    [6],
    [-1],
    [0.5],
    new CborMap([]),
  ] as CborValue[])
    refused(v, 3, JSON.stringify(v));
  const v = recordValue(header) as CborValue[];
  for (const version of [1, 3, '2', null]) {
    const w = [...v];
    w[1] = version;
    refused(w, 4, `header version ${String(version)}`);
  }
  refused([1, 3, new Uint8Array(0)], 5, 'blob kind 3');
  refused([1, -1, new Uint8Array(0)], 5, 'blob kind -1');
  refused([5, 1, 2, 3, 4, 5, 6], 6, 'trailer of 7');
  refused([5, 1, 2, 3], 6, 'trailer of 4');
  refused([5, 1, 2, 3, 4, '5'], 6, 'trailer measured as text');
  // The message names the record and what is wrong.
  assert.throws(() => recordFromValue([9], 12), { message: 'record 12: unknown record kind 9' });
  // Led by something else than a number: refused as such, not as an unknown kind.
  for (const v of [['3'], [null, 1], [], 'x'])
    assert.throws(
      () => recordFromValue(v, 4),
      { message: 'record 4: a record is an array led by its kind' },
      JSON.stringify(v),
    );
  assert.throws(() => recordFromValue([1, 3, new Uint8Array(0)], 2), { message: 'record 2: unknown blob kind 3' });
  assert.throws(() => recordFromValue([0, 3, ...v.slice(2)], 1), { message: 'record 1: unsupported bundle version 3' });
  assert.throws(() => recordFromValue([0, '2', ...v.slice(2)], 1), {
    message: 'record 1: unsupported bundle version string',
  });
  assert.throws(() => recordFromValue([], 0), { message: 'record 0: a record is an array led by its kind' });
  assert.throws(() => recordFromValue([2, 'c'], 0), { message: 'record 0: revocation: expected an array of 5' });
  assert.throws(() => recordFromValue([2, 1, 'r', 'at', new Uint8Array(64)], 0), {
    message: 'record 0: element: expected text',
  });
  assert.throws(() => recordFromValue([1, 'x', new Uint8Array(0)], 0), {
    message: 'record 0: blob kind: expected an integer',
  });
  assert.throws(() => recordFromValue([2, 'c', 'r', 'at', new Uint8Array(63)], 0), {
    message: 'record 0: signature: expected 64 bytes',
  });
  assert.throws(() => recordFromValue([1, 0, 'x'], 0), { message: 'record 0: blob content: expected bytes' });
  assert.throws(
    () =>
      recordFromValue(
        [0, 2, 'i', 'n', 'c', new Uint8Array(32), 1, new Uint8Array(64), new Uint8Array(32), new Uint8Array(64)],
        0,
      ),
    {
      message: 'record 0: emulatedRoot: expected a boolean',
    },
  );
  assert.throws(() => recordFromValue([0, new CborMap([])], 0), { message: 'record 0: no maps or tags in a record' });
});

test('the writer names the hex field it cannot rebuild, for every hex field of every record kind', () => {
  const hexPaths = (v: unknown, path: string[] = []): string[][] =>
    typeof v === 'string'
      ? /^([0-9a-f]{2})+$/.test(v) && /[a-f]/.test(v)
        ? [path]
        : []
      : v && typeof v === 'object' && !(v instanceof Uint8Array)
        ? Object.entries(v).flatMap(([k, x]) => hexPaths(x, [...path, k]))
        : [];
  let n = 0;
  for (const r of [header, records[4], local, remote, tdRemote, measured, platformFull]) {
    // A TD's or workload's identity travels as its JSON text, not as bytes.
    const paths = hexPaths(r).filter((p) => !(p[1] === 'childIdentity' && r !== local && r !== remote));
    for (const p of paths) {
      const x = structuredClone(r) as unknown as Record<string, Record<string, unknown>>;
      const parent = p.slice(0, -1).reduce<Record<string, unknown>>((o, k) => o[k] as Record<string, unknown>, x);
      parent[p.at(-1)!] = (parent[p.at(-1)!] as string).toUpperCase();
      assert.throws(
        () => recordValue(x as unknown as BundleRecord),
        (e) =>
          e instanceof ChainError && /^[a-zA-Z][\w ]* is not lowercase hex: cannot be written as v2$/.test(e.message),
        p.join('.'),
      );
      n++;
    }
  }
  assert.equal(n, 35);
});

test('a remote link whose quote travels whole (too short to split): the writer names its quote or collateral id', () => {
  const whole = (quote: string, collateral: string): BundleRecord => {
    const r = structuredClone<Extract<BundleRecord, { kind: 'link' }>>(remote);
    r.link.evidence = { kind: 'dcap-quote', quote, collateral };
    return r;
  };
  assert.deepEqual((recordValue(whole(h('e6', 100), h('e4', 32))) as CborValue[])[8], [
    B('e6', 100),
    null,
    B('e4', 32),
  ]);
  for (const [r, name] of [
    [whole(h('E6', 100), h('e4', 32)), 'quote'],
    [whole(h('e6', 100), h('E4', 32)), 'collateral id'],
  ] as const)
    assert.throws(
      () => recordValue(r),
      (e) => e instanceof ChainError && e.message === `${name} is not lowercase hex: cannot be written as v2`,
    );
});
