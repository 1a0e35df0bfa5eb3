import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type { QuoteSummary } from '../../../src/attestation/dcap/types.ts';
import { applyTdPolicy, eventLogCheck, parseTdPolicy } from '../../../src/attestation/td-policy.ts';
import { parsePolicy } from '../../../src/attestation/policy.ts';
import { EV, type TdEvent } from '../../../src/formats/tdx-event-log.ts';
import { writeEventLog } from '../../../src/formats/write-tdx-event-log.ts';

/**
 * The TD policy (td-policy.ts), exact: parsing field by field, and each policy.td.* check with its
 * detail and code on a hand-made TD quote summary, at the boundaries (masks, service TDs, NO_ACTION
 * events, a missing event log).
 */
const h = (b: string, n: number) => b.repeat(n);
const td = {
  teeTcbSvn: h('00', 16),
  mrSeam: h('00', 48),
  mrSignerSeam: h('00', 48),
  seamAttributes: h('00', 8),
  xfam: 'e702060000000000',
  mrConfigId: h('c1', 48),
  mrOwner: h('c2', 48),
  mrOwnerConfig: h('c3', 48),
  rtmr: [h('a0', 48), h('a1', 48), h('a2', 48), h('a3', 48)],
};
const quote: QuoteSummary = {
  version: 4,
  teeType: 'tdx',
  mrEnclave: h('dd', 48),
  mrSigner: '',
  isvProdId: 0,
  isvSvn: 0,
  debug: false,
  reportData: h('00', 64),
  attributes: '0000001000000000',
  qeSvn: 1,
  pceSvn: 1,
  td,
};
const sgx: QuoteSummary = { ...quote, teeType: 'sgx', td: undefined };
const ev = (digestByte: number, eventType = 0x80000001, mrIndex = 4): TdEvent => ({
  mrIndex,
  eventType,
  digest: new Uint8Array(48).fill(digestByte),
  data: new Uint8Array(0),
});
const CODE = 'ERR_TD_POLICY';

test('applyTdPolicy: an SGX quote fails policy.kind under a TD policy, and gets no TD check without one', () => {
  assert.deepEqual(applyTdPolicy({}, sgx, undefined), [
    {
      name: 'policy.kind',
      ok: false,
      detail: 'the policy names TD fields; the quote is of an SGX enclave',
      code: 'ERR_POLICY_KIND',
    },
  ]);
  assert.deepEqual(applyTdPolicy(undefined, sgx, undefined), []);
  assert.deepEqual(
    applyTdPolicy({}, { ...quote, td: undefined }, undefined).map((c) => c.name),
    ['policy.kind'],
  );
  assert.deepEqual(
    applyTdPolicy({}, { ...quote, teeType: 'sgx' }, undefined).map((c) => c.name),
    ['policy.kind'],
  );
});

test('applyTdPolicy: policy.serviceTd always, for a TD', () => {
  assert.deepEqual(applyTdPolicy(undefined, quote, undefined), [
    { name: 'policy.serviceTd', ok: true, detail: 'bound to no service TD' },
  ]);
  const zero = { ...quote, td: { ...td, mrServiceTd: h('00', 48) } };
  assert.equal(applyTdPolicy(undefined, zero, undefined)[0].ok, true, 'an all-zero MR_SERVICETD binds nothing');
  const bound = { ...quote, td: { ...td, mrServiceTd: h('00', 47) + '01' } };
  assert.deepEqual(applyTdPolicy(undefined, bound, undefined), [
    {
      name: 'policy.serviceTd',
      ok: false,
      detail: `the TD is bound to service TDs (MR_SERVICETD ${h('00', 47)}01); the policy does not allow it (allowServiceTd)`,
      code: 'ERR_SERVICE_TD',
    },
  ]);
  assert.equal(applyTdPolicy({ allowServiceTd: false }, bound, undefined)[0].ok, false);
  assert.deepEqual(applyTdPolicy({ allowServiceTd: true }, bound, undefined), [
    {
      name: 'policy.serviceTd',
      ok: true,
      detail: `bound to service TDs (MR_SERVICETD ${h('00', 47)}01), allowed by policy`,
    },
  ]);
});

test('applyTdPolicy: every field, met', () => {
  const checks = applyTdPolicy(
    {
      mrTd: [h('ee', 48), h('dd', 48)],
      rtmr0: td.rtmr[0],
      rtmr2: td.rtmr[2],
      eventDigests: [h('01', 48)],
      tdAttributes: '0000001100000000',
      tdAttributesMask: 'ffffffeeffffffff',
      xfam: 'e702060000000000',
      mrOwner: td.mrOwner,
    },
    quote,
    [ev(1), ev(2, EV.NO_ACTION), ev(1, 0x80000001, 2)],
  );
  assert.deepEqual(checks, [
    { name: 'policy.serviceTd', ok: true, detail: 'bound to no service TD' },
    { name: 'policy.td.mrTd', ok: true, detail: 'MRTD is in the policy' },
    { name: 'policy.td.rtmr', ok: true, detail: 'RTMR0..2 as expected' },
    { name: 'policy.td.eventDigests', ok: true, detail: 'all 3 events are in the policy' },
    { name: 'policy.td.attributes', ok: true, detail: 'TD_ATTRIBUTES as expected (masked)' },
    { name: 'policy.td.xfam', ok: true, detail: 'XFAM as expected (masked)' },
    { name: 'policy.td.owner', ok: true, detail: 'MRCONFIGID / MROWNER / MROWNERCONFIG as expected' },
  ]);
});

test('applyTdPolicy: every field, missed', () => {
  const checks = applyTdPolicy(
    {
      mrTd: [h('ee', 48)],
      rtmr1: h('ff', 48),
      rtmr2: h('fe', 48),
      eventDigests: [h('01', 48)],
      tdAttributes: '0000001100000000',
      xfam: 'e702060000000001',
      xfamMask: 'ffffffffffffff0f',
      mrConfigId: h('00', 48),
      mrOwnerConfig: h('00', 48),
    },
    quote,
    [ev(1), ev(5, 0x80000001, 3), ev(6)],
  );
  assert.deepEqual(checks, [
    { name: 'policy.serviceTd', ok: true, detail: 'bound to no service TD' },
    { name: 'policy.td.mrTd', ok: false, detail: `MRTD ${h('dd', 48)} is not in the policy`, code: CODE },
    {
      name: 'policy.td.rtmr',
      ok: false,
      detail: `RTMR1 ${td.rtmr[1]} is not ${h('ff', 48)}; RTMR2 ${td.rtmr[2]} is not ${h('fe', 48)}`,
      code: CODE,
    },
    {
      name: 'policy.td.eventDigests',
      ok: false,
      detail: `2 measured events not in the policy, first ${h('05', 48)} (RTMR2)`,
      code: CODE,
    },
    {
      name: 'policy.td.attributes',
      ok: false,
      detail: 'TD_ATTRIBUTES 0000001000000000 differ from 0000001100000000 under the mask',
      code: CODE,
    },
    {
      name: 'policy.td.xfam',
      ok: false,
      detail: 'XFAM e702060000000000 differs from e702060000000001 under the mask',
      code: CODE,
    },
    {
      name: 'policy.td.owner',
      ok: false,
      detail: `MRCONFIGID ${td.mrConfigId} is not ${h('00', 48)}; MROWNERCONFIG ${td.mrOwnerConfig} is not ${h('00', 48)}`,
      code: CODE,
    },
  ]);
  // The XFAM mask leaves the differing bit out: met.
  assert.equal(applyTdPolicy({ xfam: 'e702060000000001', xfamMask: 'fffffffffffffff0' }, quote, undefined)[1].ok, true);
  assert.equal(applyTdPolicy({ xfam: 'e702060000000001' }, quote, undefined)[1].ok, false, 'no XFAM mask: all bits');
  // Event digests without a replayed log.
  assert.deepEqual(applyTdPolicy({ eventDigests: [] }, quote, undefined)[1], {
    name: 'policy.td.eventDigests',
    ok: false,
    detail: 'the policy lists event digests: a replayed event log is needed (--event-log)',
    code: CODE,
  });
  assert.equal(applyTdPolicy({ eventDigests: [] }, quote, [])[1].ok, true, 'an empty log has nothing unlisted');
  assert.equal(
    applyTdPolicy({ eventDigests: [] }, quote, [ev(9, EV.NO_ACTION)])[1].ok,
    true,
    'NO_ACTION is not measured',
  );
  assert.equal(applyTdPolicy({}, quote, undefined).length, 1, 'no field set: only policy.serviceTd');
  assert.equal(applyTdPolicy({ rtmr1: td.rtmr[1] }, quote, undefined)[1].name, 'policy.td.rtmr');
  assert.equal(applyTdPolicy({ mrConfigId: td.mrConfigId }, quote, undefined)[1].name, 'policy.td.owner');
  assert.equal(applyTdPolicy({ mrOwnerConfig: td.mrOwnerConfig }, quote, undefined)[1].ok, true);
});

test('eventLogCheck: only for a TD; a log that does not parse fails with its own code', () => {
  assert.deepEqual(eventLogCheck(sgx, new Uint8Array(0)), {
    check: {
      name: 'td.eventLog',
      ok: false,
      detail: 'an event log was given for an SGX enclave quote',
      code: 'ERR_EVENT_LOG_MISMATCH',
    },
  });
  // The quote kind is read from teeType and the TD report both (a hand-made summary holding one only).
  const sgxWords = 'an event log was given for an SGX enclave quote';
  assert.equal(eventLogCheck({ ...quote, td: undefined }, new Uint8Array(0)).check.detail, sgxWords);
  assert.equal(eventLogCheck({ ...quote, teeType: 'sgx' }, new Uint8Array(0)).check.detail, sgxWords);
  const bad = eventLogCheck(quote, new Uint8Array([1, 2, 3]));
  assert.equal(bad.check.ok, false);
  assert.equal(bad.events, undefined);
  assert.match(bad.check.code ?? '', /^ERR_/);
  assert.notEqual(bad.check.code, 'ERR_EVENT_LOG_MISMATCH', 'the parser’s own code');
});

test('parseTdPolicy / parsePolicy: TD fields checked one by one; SGX and TD fields never mixed', () => {
  assert.deepEqual(
    parseTdPolicy({
      mrTd: [h('AB', 48)],
      eventDigests: [],
      rtmr0: h('0A', 48),
      xfamMask: h('ff', 8),
      allowServiceTd: true,
    }),
    { mrTd: [h('ab', 48)], eventDigests: [], rtmr0: h('0a', 48), xfamMask: h('ff', 8), allowServiceTd: true },
  );
  assert.deepEqual(parsePolicy({ mrOwner: h('01', 48) }), { td: { mrOwner: h('01', 48) } });
  const refused: Array<[Record<string, unknown>, string]> = [
    [{ mrTd: h('ab', 48) }, 'policy.mrTd: expected an array of 48-byte hex strings'],
    [{ eventDigests: [h('ab', 47)] }, 'policy.eventDigests[0]: expected 48 bytes of hex'],
    [{ mrTd: [h('ab', 48), 'x'] }, 'policy.mrTd[1]: expected 48 bytes of hex'],
    [{ tdAttributes: h('00', 9) }, 'policy.tdAttributes: expected 8 bytes of hex'],
    [{ mrConfigId: 5 }, 'policy.mrConfigId: expected 48 bytes of hex'],
    [{ rtmr2: h('0g', 48) }, 'policy.rtmr2: expected 48 bytes of hex'],
    [{ rtmr1: 'zz' + h('ab', 47) }, 'policy.rtmr1: expected 48 bytes of hex'],
    [{ rtmr1: h('ab', 47) + 'zz' }, 'policy.rtmr1: expected 48 bytes of hex'],
    [{ allowServiceTd: 'yes' }, 'policy.allowServiceTd: expected a boolean'],
  ];
  for (const [o, message] of refused) assert.throws(() => parseTdPolicy(o), { name: 'TypeError', message }, message);
  assert.throws(() => parsePolicy({ mrSigner: h('bb', 32), mrTd: [] }), {
    name: 'TypeError',
    message: 'policy: mrSigner is an SGX enclave field and mrTd is a TD field; a policy is for one kind',
  });
  assert.throws(() => parsePolicy({ mrEnclave: [], isvProdId: 1, rtmr0: h('00', 48), xfam: h('00', 8) }), {
    name: 'TypeError',
    message:
      'policy: mrEnclave, isvProdId are SGX enclave fields and rtmr0, xfam are TD fields; a policy is for one kind',
  });
});

test('eventLogCheck: a log that replays to the quoted RTMR0..3 passes with its events; one RTMR off fails naming it', () => {
  // RTMR0 and RTMR2 get one event each (RTMR = SHA-384(48 zero bytes ‖ digest), by node:crypto); RTMR1, RTMR3 none.
  const events = [ev(0x11, 0x80000001, 1), ev(0x22, 0x80000001, 3)];
  const extend = (d: number) =>
    createHash('sha384').update(new Uint8Array(48)).update(new Uint8Array(48).fill(d)).digest('hex');
  const rtmr = [extend(0x11), h('00', 48), extend(0x22), h('00', 48)];
  const log = writeEventLog(events);
  const good = eventLogCheck({ ...quote, td: { ...td, rtmr } }, log);
  assert.deepEqual(good.check, { name: 'td.eventLog', ok: true, detail: '2 events replay to the quoted RTMR0..3' });
  assert.deepEqual(
    good.events?.map((e) => [e.mrIndex, e.digest[0]]),
    [
      [1, 0x11],
      [3, 0x22],
    ],
  );
  const off = eventLogCheck({ ...quote, td: { ...td, rtmr: [rtmr[0], rtmr[1], h('00', 48), rtmr[3]] } }, log);
  assert.deepEqual(off, {
    check: {
      name: 'td.eventLog',
      ok: false,
      detail: 'the event log (2 events) does not replay to the quoted RTMR2',
      code: 'ERR_EVENT_LOG_MISMATCH',
    },
  });
  // The quote's own RTMRs (0xa0.. bytes) match no replay.
  assert.equal(
    eventLogCheck(quote, log).check.detail,
    'the event log (2 events) does not replay to the quoted RTMR0, RTMR1, RTMR2, RTMR3',
  );
});

test('parseTdPolicy / parsePolicy: a hex field must be a string, not an object that only prints as hex', () => {
  // A JavaScript caller's object with the right length and hex text is still refused, naming the field.
  const fake = (n: number) => ({ length: 2 * n, toString: () => h('ab', n) });
  assert.throws(() => parseTdPolicy({ rtmr0: fake(48) }), {
    name: 'TypeError',
    message: 'policy.rtmr0: expected 48 bytes of hex',
  });
  assert.throws(() => parsePolicy({ mrSigner: fake(32) }), {
    name: 'TypeError',
    message: 'policy.mrSigner: expected 32 bytes of hex',
  });
});
