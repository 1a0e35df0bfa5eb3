/**
 * The structural check of a v1 proof bundle (src/chain/bundle-shape.ts), field by field on synthetic
 * bundles (test/helpers/synthetic-chain.ts): each change is refused with exactly its message, each
 * allowed edge accepted, and verifyBundle reports the refusal as `bundle-format`. Milliseconds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkBundleShape } from '../../../src/chain/bundle-shape.ts';
import { verifyBundle } from '../../../src/chain/verify-bundle.ts';
import type { ChainPolicy } from '../../../src/chain/types.ts';
import { SynthChain } from '../../helpers/synthetic-chain.ts';

/** elements: platform:a1, qe:a1, e1, e2, platform:a2, qe:a2, e3; links: e1, e2 (local), e3. */
function sgx(policy: ChainPolicy = {}): SynthChain {
  const s = new SynthChain(policy);
  s.remoteSgx('e1', null, 'a1');
  s.localSgx('e2', 'e1');
  s.remoteSgx('e3', 'e2', 'a2');
  s.revoke('e9');
  return s;
}
/** elements: platform:a1, qe:a1, e1, platform:a3, qe:a3, td1, w1, w2; links: e1, td1, w1, w2. */
function layered(): SynthChain {
  const s = new SynthChain();
  s.remoteSgx('e1', null, 'a1');
  s.td('td1', 'e1', 'a3', { workloads: ['sha256:aa', 'sha256:bb'] });
  s.workload('w1', 'td1', 'sha256:aa', 1);
  s.workload('w2', 'td1', 'sha256:bb', 2);
  return s;
}

type Json = Record<string, unknown>;
/** Sets (or, with `undefined`, deletes) the value at a dotted path; `=` replaces the whole bundle. */
function set(b: unknown, path: string, v: unknown): unknown {
  if (path === '=') return v;
  const keys = path.split('.');
  let o = b as Json;
  for (const k of keys.slice(0, -1)) o = o[k] as Json;
  const last = keys.at(-1)!;
  if (v === undefined) delete o[last];
  else o[last] = v;
  return b;
}

const S = sgx();
const LY = layered();
const hex = (n: number, c = 'ab') => c.repeat(n);
const id = { e1: 'elements.2', td1: 'elements.5', w1: 'elements.6' };
const HEADER = 'chain header is malformed';

// [bundle, path, value, message or 'ok']
const CASES: Array<[SynthChain, string, unknown, string]> = [
  [S, '=', [], 'bundle is not a JSON object'],
  [S, '=', null, 'bundle is not a JSON object'],
  [S, '=', 'x', 'bundle is not a JSON object'],
  [S, 'format', 'catena', 'not a catena proof bundle'],
  [S, 'version', 2, 'unsupported bundle version 2'],
  [S, 'chain', [], HEADER],
  [S, 'chain.version', 2, HEADER],
  [S, 'chain.id', 1, HEADER],
  [S, 'chain.name', null, HEADER],
  [S, 'chain.createdAt', 0, HEADER],
  [S, 'chain.rootSha256', hex(32, 'AB'), HEADER],
  [S, 'chain.rootSha256', hex(31), HEADER],
  [S, 'chain.emulatedRoot', 'true', HEADER],
  [S, 'chain.ownerKey', hex(63), HEADER],
  [S, 'chain.policy', [], HEADER],
  [S, 'chain.policy', null, HEADER],
  [S, 'chain.signature', 'a'.repeat(127), HEADER],
  [S, 'chain.policy', { maxDepth: -1 }, 'chain policy is malformed: policy.maxDepth must be a non-negative integer'],
  // Read leniently: a field of a later version is ignored.
  [S, 'chain.policy', { later: 1 }, 'ok'],
  [S, 'elements', {}, 'bundle sections missing'],
  [S, 'links', null, 'bundle sections missing'],
  [S, 'revocations', {}, 'bundle sections missing'],
  [S, 'collateral', [], 'bundle sections missing'],
  [S, 'elements.2', 'e1', 'element 2 is malformed'],
  [S, 'elements.2.id', 1, 'element 2 is malformed'],
  [S, 'elements.2.kind', 'sgx-enclave', 'element 2 is malformed'],
  [S, 'elements.2.parent', 0, 'element 2 is malformed'],
  [S, 'elements.2.platform', null, 'element 2 is malformed'],
  [S, 'elements.3.parent', 'e1', 'ok'],
  [S, `${id.e1}.identity`, [], 'enclave element e1 is malformed'],
  [S, `${id.e1}.identity.mrEnclave`, hex(31), 'enclave element e1 is malformed'],
  [S, `${id.e1}.identity.mrSigner`, hex(32, 'AB'), 'enclave element e1 is malformed'],
  [S, `${id.e1}.identity.isvProdId`, 1.5, 'enclave element e1 is malformed'],
  [S, `${id.e1}.identity.isvSvn`, -1, 'enclave element e1 is malformed'],
  [S, `${id.e1}.identity.isvSvn`, '2', 'enclave element e1 is malformed'],
  [S, `${id.e1}.identity.isvSvn`, 2 ** 53, 'enclave element e1 is malformed'],
  [S, `${id.e1}.identity.isvSvn`, 0, 'ok'],
  [S, `${id.e1}.identity.attributes`, hex(15), 'enclave element e1 is malformed'],
  [S, `${id.e1}.identity.debug`, 0, 'enclave element e1 is malformed'],
  [S, `${id.e1}.elementKey`, hex(63), 'enclave element e1 is malformed'],
  [LY, `${id.td1}.identity`, null, 'tdx-td element td1 is malformed'],
  [LY, `${id.td1}.identity.mrTd`, hex(47), 'tdx-td element td1 is malformed'],
  [LY, `${id.td1}.identity.rtmr`, 'ab', 'tdx-td element td1 is malformed'],
  [LY, `${id.td1}.identity.rtmr`, [hex(48), hex(48), hex(48)], 'tdx-td element td1 is malformed'],
  [LY, `${id.td1}.identity.rtmr.4`, hex(48), 'tdx-td element td1 is malformed'],
  [LY, `${id.td1}.identity.rtmr.1`, hex(47), 'tdx-td element td1 is malformed'],
  [LY, `${id.td1}.identity.tdAttributes`, hex(7), 'tdx-td element td1 is malformed'],
  [LY, `${id.td1}.identity.xfam`, hex(9), 'tdx-td element td1 is malformed'],
  [LY, `${id.td1}.identity.mrConfigId`, hex(47), 'tdx-td element td1 is malformed'],
  [LY, `${id.td1}.identity.mrOwner`, 1, 'tdx-td element td1 is malformed'],
  [LY, `${id.td1}.identity.mrOwnerConfig`, hex(49), 'tdx-td element td1 is malformed'],
  [LY, `${id.td1}.identity.mrSeam`, undefined, 'tdx-td element td1 is malformed'],
  [LY, `${id.td1}.identity.debug`, 'no', 'tdx-td element td1 is malformed'],
  [LY, `${id.td1}.identity.extra`, 1, 'tdx-td element td1 is malformed'],
  [LY, `${id.td1}.identity.kind`, 'td-workload', 'tdx-td element td1 is malformed'],
  [LY, `${id.td1}.elementKey`, hex(65), 'tdx-td element td1 is malformed'],
  [LY, `${id.w1}.identity.imageDigest`, '', 'td-workload element w1 is malformed'],
  [LY, `${id.w1}.identity.imageDigest`, 5, 'td-workload element w1 is malformed'],
  [LY, `${id.w1}.identity.imageDigest`, 'x'.repeat(1025), 'td-workload element w1 is malformed'],
  [LY, `${id.w1}.identity.imageDigest`, 'x'.repeat(1024), 'ok'],
  [LY, `${id.w1}.identity.imageDigest`, 'x', 'ok'],
  [LY, `${id.w1}.identity.imageDigest`, ['x'], 'td-workload element w1 is malformed'],
  [LY, 'links.2.childIdentity.kind', 'platform', 'link 2 (w1) is malformed'],
  [LY, `${id.w1}.identity.event`, -1, 'td-workload element w1 is malformed'],
  [LY, `${id.w1}.identity.extra`, 1, 'td-workload element w1 is malformed'],
  [LY, `${id.w1}.identity.kind`, 'platform', 'td-workload element w1 is malformed'],
  [LY, `${id.w1}.kind`, 'tdx-td', 'tdx-td element w1 is malformed'],
  [LY, `${id.w1}.elementKey`, undefined, 'td-workload element w1 is malformed'],
  [S, 'links.0', null, 'link 0 is malformed'],
  [S, 'links.0.version', 2, 'link 0 is malformed'],
  [S, 'links.0.chain', 1, 'link 0 is malformed'],
  [S, 'links.1.parent', 5, 'link 1 is malformed'],
  [S, 'links.1.child', null, 'link 1 is malformed'],
  [S, 'links.1.type', 'attested', 'link 1 is malformed'],
  [S, 'links.2.nonce', hex(31), 'link 2 (e3) is malformed'],
  [S, 'links.2.childKey', hex(64, 'zz'), 'link 2 (e3) is malformed'],
  [S, 'links.2.childIdentity', {}, 'link 2 (e3) is malformed'],
  [S, 'links.2.childIdentity.isvSvn', -2, 'link 2 (e3) is malformed'],
  [S, 'links.2.childIdentity.kind', 'sgx-enclave', 'link 2 (e3) is malformed'],
  [LY, 'links.1.childIdentity.debug', 1, 'link 1 (td1) is malformed'],
  [S, 'links.2.childPlatform', 7, 'link 2 (e3) is malformed'],
  [S, 'links.2.at', 7, 'link 2 (e3) is malformed'],
  [S, 'links.2.signature', hex(64, 'AB'), 'link 2 (e3) is malformed'],
  [S, 'links.2.evidence', [], 'link 2 (e3) evidence is malformed'],
  [S, 'links.2.evidence.kind', 'sgx-report', 'link 2 (e3) evidence is malformed'],
  [S, 'links.2.evidence.quote', 'zzab', 'link 2 (e3) evidence is malformed'],
  [S, 'links.2.evidence.quote', 'abzz', 'link 2 (e3) evidence is malformed'],
  [S, 'links.2.evidence.quote', 'abc', 'link 2 (e3) evidence is malformed'],
  [S, 'links.2.evidence.quote', 12, 'link 2 (e3) evidence is malformed'],
  [S, 'links.2.evidence.quote', ['ab'], 'link 2 (e3) evidence is malformed'],
  [S, 'links.2.evidence.quote', '', 'ok'],
  [S, 'links.2.evidence.collateral', hex(31), 'link 2 (e3) evidence is malformed'],
  [S, 'links.2.evidence.eventLog', 'a', 'link 2 (e3) evidence is malformed'],
  [S, 'links.2.evidence.eventLog', 'ab', 'ok'],
  [S, 'links.1.evidence.report', 7, 'link 1 (e2) evidence is malformed'],
  [S, 'links.1.evidence.kind', 'td-event', 'link 1 (e2) evidence is malformed'],
  [LY, 'links.2.evidence.event', 1.5, 'link 2 (w1) evidence is malformed'],
  [LY, 'links.2.evidence.digest', hex(32), 'link 2 (w1) evidence is malformed'],
  [LY, 'links.2.evidence.kind', 'dcap-quote', 'link 2 (w1) evidence is malformed'],
  [S, 'links.0.appraisal', 'accepted', 'link 0 appraisal is malformed'],
  [S, 'links.0.appraisal.verdict', 'refused', 'link 0 appraisal is malformed'],
  [S, 'revocations.0', [], 'revocation 0 is malformed'],
  [S, 'revocations.0.element', 1, 'revocation 0 is malformed'],
  [S, 'revocations.0.reason', null, 'revocation 0 is malformed'],
  [S, 'revocations.0.at', undefined, 'revocation 0 is malformed'],
  [S, 'revocations.0.signature', 64, 'revocation 0 is malformed'],
  // Read as it is: its signature is checked (revocation-signature), not its form.
  [S, 'revocations.0.signature', 'not hex', 'ok'],
];

test('checkBundleShape: a synthetic SGX chain and a layered one are well formed', () => {
  assert.deepEqual(checkBundleShape(S.bundle()), { ok: true });
  assert.deepEqual(checkBundleShape(LY.bundle()), { ok: true });
});

test('checkBundleShape: each field refused with its message (or accepted at its edge)', () => {
  for (const [s, path, v, message] of CASES) {
    const b = set(s.bundle(), path, structuredClone(v));
    assert.deepEqual(
      checkBundleShape(b),
      message === 'ok' ? { ok: true } : { ok: false, message },
      `${path} = ${String(v)}`,
    );
  }
});

test('checkBundleShape: collateral keyed by its id, each field text', () => {
  const cases: Array<[Json, string]> = [
    [{ [hex(32, 'AB')]: { a: 'x' } }, `collateral ${hex(32, 'AB')} is malformed`],
    [{ [hex(31)]: { a: 'x' } }, `collateral ${hex(31)} is malformed`],
    [{ [hex(32)]: [] }, `collateral ${hex(32)} is malformed`],
    [{ [hex(32)]: { a: 'x', b: 1 } }, `collateral ${hex(32)} is malformed`],
  ];
  for (const [collateral, message] of cases)
    assert.deepEqual(checkBundleShape({ ...S.bundle(), collateral }), { ok: false, message });
  assert.deepEqual(checkBundleShape({ ...S.bundle(), collateral: { [hex(32)]: {} } }), { ok: true });
});

test('verifyBundle: a malformed bundle is bundle-format with the shape message, nothing else checked', async () => {
  const b = set(S.bundle(), 'links.2.evidence.quote', 'abc');
  assert.deepEqual(await verifyBundle(b, S.opts()), {
    valid: false,
    size: 0,
    links: { local: 0, remote: 0 },
    failures: [{ link: '-', check: 'bundle-format', message: 'link 2 (e3) evidence is malformed' }],
    elements: {},
    emulatedRoot: false,
  });
});
