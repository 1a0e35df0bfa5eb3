/**
 * The layer model (src/chain/layers.ts) and the TD and workload appraisals (src/chain/appraise-layers.ts)
 * called directly, outcome by outcome: which kind an identity or element is, the checks listed per kind,
 * and each way a workload's event or a TD's log can fail to prove it. No chain, no quote: milliseconds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, hex } from '../../../src/bytes/util.ts';
import { sha384 } from '../../../src/crypto/sha384.ts';
import { EV, type TdEvent } from '../../../src/formats/tdx-event-log.ts';
import { replayRtmrs } from '../../../src/formats/replay-rtmrs.ts';
import { writeEventLog } from '../../../src/formats/write-tdx-event-log.ts';
import type { TdReport10 } from '../../../src/formats/quote.ts';
import { appraiseWorkload, checkTdPolicy, replayTdEventLog } from '../../../src/chain/appraise-layers.ts';
import {
  checksFor,
  elementKindOf,
  identityKind,
  isEnclaveIdentity,
  isMemberKind,
  LAYER_KINDS,
  layerOf,
  LINK_TYPES_BY_KIND,
  sameElementIdentity,
  tdDebug,
  WORKLOAD_MR_INDEX,
  workloadDigest,
  workloadEventData,
} from '../../../src/chain/layers.ts';
import type { ChainPolicy, ElementIdentity, EnclaveIdentity, WorkloadIdentity } from '../../../src/chain/types.ts';

const sgxId: EnclaveIdentity = {
  mrEnclave: '11'.repeat(32),
  mrSigner: '22'.repeat(32),
  isvProdId: 1,
  isvSvn: 2,
  attributes: '07'.padEnd(32, '0'),
  debug: false,
};
const wl = (imageDigest: string, event: number): WorkloadIdentity => ({ kind: 'td-workload', imageDigest, event });
const utf8 = (s: string) => new TextEncoder().encode(s);

test('kinds: members, reported kinds, stored kinds, the kind an identity describes', () => {
  assert.deepEqual(LAYER_KINDS, ['sgx-enclave', 'tdx-td', 'td-workload']);
  assert.deepEqual(['enclave', 'tdx-td', 'td-workload', 'platform', 'qe', 'sgx-enclave', ''].map(isMemberKind), [
    true,
    true,
    true,
    false,
    false,
    false,
    false,
  ]);
  assert.deepEqual(['enclave', 'tdx-td', 'td-workload', 'platform', 'qe', 'sgx-enclave'].map(layerOf), [
    'sgx-enclave',
    'tdx-td',
    'td-workload',
    undefined,
    undefined,
    undefined,
  ]);
  assert.deepEqual(LAYER_KINDS.map(elementKindOf), ['enclave', 'tdx-td', 'td-workload']);
  assert.equal(identityKind(sgxId), 'sgx-enclave');
  assert.equal(identityKind(wl('sha256:aa', 1)), 'td-workload');
  assert.equal(identityKind({ kind: 'tdx-td' } as unknown as ElementIdentity), 'tdx-td');
  // A kind that is not a layer's: an SGX enclave's identity (the shape check refuses it before).
  assert.equal(identityKind({ ...sgxId, kind: 'platform' } as unknown as ElementIdentity), 'sgx-enclave');
  assert.equal(isEnclaveIdentity(sgxId), true);
  assert.equal(isEnclaveIdentity(wl('x', 0)), false);
  assert.deepEqual(LINK_TYPES_BY_KIND, {
    'sgx-enclave': ['local', 'remote'],
    'tdx-td': ['remote'],
    'td-workload': ['measured'],
  });
});

test('TD DEBUG is bit 0 of TD_ATTRIBUTES[0], nothing else', () => {
  assert.deepEqual(
    [[0], [1], [2], [3], [0xfe], [0xff], [0, 1]].map((b) => tdDebug(Uint8Array.from(b))),
    [false, true, false, true, false, true, false],
  );
});

test('identities compare by canonical JSON; one with no canonical form equals nothing', () => {
  assert.equal(sameElementIdentity(wl('a', 1), { event: 1, imageDigest: 'a', kind: 'td-workload' }), true);
  assert.equal(sameElementIdentity(wl('a', 1), wl('a', 2)), false);
  assert.equal(sameElementIdentity(wl('\ud800', 1), wl('\ud800', 1)), false); // a lone surrogate
  assert.equal(sameElementIdentity(sgxId, { ...sgxId }), true);
});

test('a workload is measured as SHA-384 of its image digest, named "workload <digest>"', () => {
  assert.equal(workloadDigest('sha256:aa'), hex(sha384(utf8('sha256:aa'))));
  assert.equal(workloadEventData('sha256:aa'), 'workload sha256:aa');
  assert.equal(WORKLOAD_MR_INDEX, 4);
});

test('checksFor: exactly the checks of each kind and link type, policy checks only where the policy sets them', () => {
  const common = ['link-signature', 'nonce-reuse', 'evidence-age', 'policy-depth', 'policy-link-type'];
  const remote = ['quote', 'key-binding', 'policy-tcb-status'];
  assert.deepEqual(checksFor('sgx-enclave', 'local', {}), [
    ...common,
    'local-same-platform',
    'key-binding',
    'policy-debug',
    'revoked',
  ]);
  assert.deepEqual(checksFor('sgx-enclave', 'remote', { identities: [] }), [
    ...common,
    ...remote,
    'policy-debug',
    'revoked',
  ]);
  assert.deepEqual(checksFor('sgx-enclave', 'remote', { identities: [{ minIsvSvn: 1 }] }), [
    ...common,
    ...remote,
    'policy-debug',
    'policy-identity',
    'revoked',
  ]);
  const td = [...common, ...remote, 'td-event-log', 'policy-td-debug', 'policy-serviceTd'];
  assert.deepEqual(checksFor('tdx-td', 'remote', {}), [...td, 'revoked']);
  const h = 'ab'.repeat(48);
  const all: ChainPolicy = {
    tdx: { mrTd: [h], rtmr0: h, eventDigests: [h], tdAttributes: '00'.repeat(8), xfam: '00'.repeat(8), mrConfigId: h },
  };
  assert.deepEqual(checksFor('tdx-td', 'remote', all), [
    ...td,
    'policy-td-mrTd',
    'policy-td-rtmr',
    'policy-td-eventDigests',
    'policy-td-attributes',
    'policy-td-xfam',
    'policy-td-owner',
    'revoked',
  ]);
  for (const k of ['rtmr1', 'rtmr2'])
    assert.deepEqual(checksFor('tdx-td', 'remote', { tdx: { [k]: h } }), [...td, 'policy-td-rtmr', 'revoked'], k);
  for (const k of ['mrOwner', 'mrOwnerConfig'])
    assert.deepEqual(checksFor('tdx-td', 'remote', { tdx: { [k]: h } }), [...td, 'policy-td-owner', 'revoked'], k);
  assert.deepEqual(checksFor('td-workload', 'measured', {}), [...common, 'workload-measured', 'revoked']);
  assert.deepEqual(checksFor('td-workload', 'measured', { workloads: {} }), [
    ...common,
    'workload-measured',
    'revoked',
  ]);
  assert.deepEqual(checksFor('td-workload', 'measured', { workloads: { imageDigests: [] } }), [
    ...common,
    'workload-measured',
    'policy-workload-image',
    'revoked',
  ]);
});

/** RTMR0 event, then workloads a and b in RTMR3 (events 1, 2). */
const event = (mrIndex: number, image: string, digestOf = image, data = workloadEventData(image)): TdEvent => ({
  mrIndex,
  eventType: EV.IPL,
  digest: fromHex(workloadDigest(digestOf)),
  data: utf8(data),
});
const events: TdEvent[] = [
  { mrIndex: 1, eventType: EV.EFI_PLATFORM_FIRMWARE_BLOB2, digest: sha384(utf8('fw')), data: utf8('fw') },
  event(4, 'sha256:aa'),
  event(4, 'sha256:bb'),
  event(3, 'sha256:cc'), // RTMR2: not where workloads are measured
  event(4, 'sha256:dd', 'sha256:xx'), // names dd, extends xx
  event(4, 'sha256:ee', 'sha256:ee', 'workload sha256:ff'), // extends ee, names ff
];
const appraise = (
  identity: ElementIdentity,
  ev: { event: number; digest: string },
  policy?: { imageDigests?: string[] },
) => appraiseWorkload({ identity, evidence: { kind: 'td-event', ...ev }, parentEvents: events, policy });
const ok = (image: string, event: number) => ({ event, digest: workloadDigest(image) });

test('appraiseWorkload: each way an event fails to measure a workload, by check and message', () => {
  assert.equal(appraise(wl('sha256:aa', 1), ok('sha256:aa', 1)), undefined);
  assert.equal(appraise(wl('sha256:bb', 2), ok('sha256:bb', 2), { imageDigests: ['sha256:bb'] }), undefined);
  const cases: Array<[ElementIdentity, { event: number; digest: string }, string, RegExp, string[]?]> = [
    [sgxId, ok('sha256:aa', 1), 'evidence-kind', /^a measured link admits a td-workload element, not a sgx-enclave$/],
    [
      { ...wl('sha256:aa', 1), kind: 'tdx-td' } as unknown as ElementIdentity,
      ok('sha256:aa', 1),
      'evidence-kind',
      /not a tdx-td$/,
    ],
    [wl('sha256:aa', 1), ok('sha256:aa', 2), 'link-structure', /^the evidence names another event than the identity$/],
    [
      wl('sha256:aa', 9),
      ok('sha256:aa', 9),
      'workload-measured',
      /^the TD's event log has no event 9: workload sha256:aa is not measured$/,
    ],
    [wl('sha256:cc', 3), ok('sha256:cc', 3), 'workload-measured', /^event 3 is in RTMR2, not RTMR3$/],
    [wl('sha256:dd', 4), ok('sha256:dd', 4), 'workload-measured', /^event 4 does not measure workload sha256:dd$/],
    [wl('sha256:aa', 1), ok('sha256:bb', 1), 'workload-measured', /^event 1 does not measure workload sha256:aa$/],
    [wl('sha256:ee', 5), ok('sha256:ee', 5), 'workload-measured', /^event 5 names another workload$/],
    [
      wl('sha256:bb', 2),
      ok('sha256:bb', 2),
      'policy-workload-image',
      /^workload image sha256:bb is not in the policy$/,
      ['sha256:aa'],
    ],
  ];
  for (const [identity, ev, check, message, images] of cases) {
    const r = appraise(identity, ev, images ? { imageDigests: images } : undefined);
    assert.equal(r?.check, check, `${JSON.stringify(identity)} ${check}`);
    assert.match(r.message, message);
  }
  assert.deepEqual(
    appraiseWorkload({
      identity: wl('sha256:aa', 1),
      evidence: { kind: 'td-event', ...ok('sha256:aa', 1) },
      parentEvents: undefined,
      policy: undefined,
    }),
    { ok: false, check: 'link-type', message: "a measured link's parent is a TD (its event log is the evidence)" },
  );
});

const td = (o: Partial<TdReport10> = {}): TdReport10 => ({
  teeTcbSvn: new Uint8Array(16),
  mrSeam: new Uint8Array(48),
  mrSignerSeam: new Uint8Array(48),
  seamAttributes: new Uint8Array(8),
  tdAttributes: new Uint8Array(8),
  xfam: new Uint8Array(8),
  mrTd: new Uint8Array(48).fill(5),
  mrConfigId: new Uint8Array(48),
  mrOwner: new Uint8Array(48),
  mrOwnerConfig: new Uint8Array(48),
  rtmr: replayRtmrs(events),
  reportData: new Uint8Array(64),
  ...o,
});

test('replayTdEventLog: absent, unparsable, or replaying to other RTMRs, each named', () => {
  const log = hex(writeEventLog(events));
  const r = replayTdEventLog(log, td());
  assert.ok(Array.isArray(r), 'the log replays');
  assert.equal(r.length, events.length);
  const fails: Array<[string | undefined, TdReport10, RegExp]> = [
    [undefined, td(), /^a TD's remote link carries its event log$/],
    ['ff', td(), /^the event log does not parse: ./],
    [
      log,
      td({ rtmr: [new Uint8Array(48), ...replayRtmrs(events).slice(1)] as TdReport10['rtmr'] }),
      /^the event log \(6 events\) does not replay to the quoted RTMR0$/,
    ],
    [
      log,
      td({ rtmr: [new Uint8Array(48), new Uint8Array(48), new Uint8Array(48), new Uint8Array(48)] }),
      /does not replay to the quoted RTMR0, RTMR2, RTMR3$/,
    ],
  ];
  for (const [l, t, message] of fails) {
    const f = replayTdEventLog(l, t);
    assert.ok(!Array.isArray(f), String(message));
    assert.equal(f.check, 'td-event-log');
    assert.match(f.message, message);
  }
});

test('checkTdPolicy: DEBUG refused unless allowed, then the td-policy fields, named as checks', () => {
  assert.deepEqual(checkTdPolicy(undefined, td({ tdAttributes: Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0]) }), events), {
    ok: false,
    check: 'policy-td-debug',
    message: 'DEBUG TD refused by the chain policy (tdx.allowDebug)',
  });
  assert.equal(
    checkTdPolicy({ allowDebug: true }, td({ tdAttributes: Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0]) }), events),
    undefined,
  );
  assert.equal(checkTdPolicy(undefined, td(), events), undefined);
  const r = checkTdPolicy({ mrTd: ['00'.repeat(48)] }, td(), events);
  assert.equal(r?.check, 'policy-td-mrTd');
  assert.match(r.message, /^MRTD 0505.* is not in the policy$/);
  assert.equal(checkTdPolicy({ mrTd: ['05'.repeat(48)] }, td(), events), undefined);
});
