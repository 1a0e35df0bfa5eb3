import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkIdentity } from '../../../src/attestation/identity-policy.ts';
import { ATTR } from '../../../src/formats/attributes.ts';

/** checkIdentity (local attestation, RA-TLS peers), exact: each field at its boundary, in order, with its reason. */
const body = {
  mrEnclave: new Uint8Array(32).fill(0xaa),
  mrSigner: new Uint8Array(32).fill(0xbb),
  isvProdId: 7,
  isvSvn: 4,
  attributes: { flags: ATTR.INIT | ATTR.MODE64BIT, xfrm: 3n },
};
const debug = { ...body, attributes: { flags: body.attributes.flags | ATTR.DEBUG, xfrm: 3n } };
const A = 'aa'.repeat(32);
const B = 'bb'.repeat(32);
const mismatch = (reason: string) => ({ ok: false, code: 'ERR_IDENTITY_MISMATCH', reason });

test('checkIdentity: accepted by MRENCLAVE (any case, one of a list) or by MRSIGNER with bounds met exactly', () => {
  assert.deepEqual(checkIdentity(body, { mrEnclave: ['cc'.repeat(32), A.toUpperCase()] }), { ok: true });
  assert.deepEqual(checkIdentity(body, { mrSigner: B.toUpperCase(), isvProdId: 7, minIsvSvn: 4 }), { ok: true });
  assert.deepEqual(checkIdentity(debug, { mrSigner: B, allowDebug: true }), { ok: true });
});

test('checkIdentity: each refusal, the first failing field named', () => {
  assert.deepEqual(checkIdentity(debug, { mrEnclave: ['cc'.repeat(32)] }), {
    ok: false,
    code: 'ERR_DEBUG_ENCLAVE',
    reason: 'DEBUG enclave refused (set allowDebug to accept)',
  });
  assert.deepEqual(checkIdentity(debug, { mrSigner: B, allowDebug: false }).ok, false);
  assert.deepEqual(
    checkIdentity(body, { mrEnclave: ['cc'.repeat(32)], mrSigner: 'dd'.repeat(32) }),
    mismatch(`MRENCLAVE ${A} is not in the policy`),
  );
  assert.deepEqual(
    checkIdentity(body, { mrSigner: 'DD'.repeat(32), isvProdId: 1 }),
    mismatch(`MRSIGNER ${B} is not ${'dd'.repeat(32)}`),
  );
  assert.deepEqual(checkIdentity(body, { mrSigner: B, isvProdId: 8, minIsvSvn: 9 }), mismatch('ISVPRODID 7 is not 8'));
  assert.deepEqual(checkIdentity(body, { mrSigner: B, isvProdId: 0 }), mismatch('ISVPRODID 7 is not 0'));
  assert.deepEqual(checkIdentity(body, { mrSigner: B, minIsvSvn: 5 }), mismatch('ISVSVN 4 is below the minimum 5'));
  const nothing = mismatch('the policy names no MRENCLAVE and no MRSIGNER: nothing would be checked');
  assert.deepEqual(checkIdentity(body, {}), nothing);
  assert.deepEqual(checkIdentity(body, { mrEnclave: [] }), nothing);
  assert.deepEqual(checkIdentity(body, { isvProdId: 7, minIsvSvn: 0 }), nothing);
  assert.deepEqual(checkIdentity(body, { mrEnclave: [], mrSigner: B }), { ok: true });
});
