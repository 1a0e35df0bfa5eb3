import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collateralFromQvlJson, openCollateral, verifyQuote } from '../../src/attestation/index.ts';
import { skipWithoutVectors, vector, vectorPath, vectorText } from '../helpers/vectors.ts';

/**
 * Collateral for the other TEE, each piece validly signed by Intel: a TDX TCB info or a TD_QE identity
 * with an SGX quote is refused by the collateral check with its code. And zero padding, which Intel's
 * TDX quotes may carry, is accepted after a TDX v4 quote only.
 */
const PHALA_AT = new Date('2025-07-01T00:00:00Z');
const TDX_AT = new Date(1751328000 * 1000);
const policy = { acceptedTcbStatuses: ['ConfigurationAndSWHardeningNeeded'] };

test(
  'an SGX quote with a TDX TCB info is ERR_TCB_INFO; with a TD_QE identity, ERR_QE_IDENTITY',
  { skip: skipWithoutVectors },
  async () => {
    const quote = vector('sgx-v3-phala/quote.dat');
    const sgx = JSON.parse(vectorText('sgx-v3-phala/collateral.json')) as Record<string, string>;
    const tdx = JSON.parse(vectorText('tdx-v4-phala/collateral.json')) as Record<string, string>;
    const good = await verifyQuote(quote, { collateral: collateralFromQvlJson(sgx), at: PHALA_AT, policy });
    assert.equal(good.verdict, 'accepted', good.error?.message);
    const at = TDX_AT; // inside both vectors' windows
    const tcb = await verifyQuote(quote, {
      collateral: collateralFromQvlJson({ ...sgx, tcb_info: tdx.tcb_info, tcb_info_signature: tdx.tcb_info_signature }),
      at,
      policy,
    });
    assert.equal(tcb.error?.code, 'ERR_TCB_INFO', tcb.error?.message);
    assert.equal(tcb.error?.check, 'collateral.tcbInfo');
    assert.match(tcb.error.message, /does not fit a SGX quote/);
    const qe = await verifyQuote(quote, {
      collateral: collateralFromQvlJson({
        ...sgx,
        qe_identity: tdx.qe_identity,
        qe_identity_signature: tdx.qe_identity_signature,
      }),
      at,
      policy,
    });
    assert.equal(qe.error?.code, 'ERR_QE_IDENTITY', qe.error?.message);
    assert.equal(qe.error?.check, 'collateral.qeIdentity');
    assert.match(qe.error.message, /is not QE/);
  },
);

test(
  'zero padding after a TDX v4 quote is accepted; after an SGX v3 quote it is ERR_TRAILING_BYTES',
  { skip: skipWithoutVectors },
  async () => {
    const collateral = await openCollateral(vectorPath('tdx-v4-phala/collateral.json'));
    const q = vector('tdx-v4-phala/quote.dat');
    const padded = new Uint8Array(q.length + 16);
    padded.set(q);
    const a = await verifyQuote(padded, { collateral, at: TDX_AT });
    assert.equal(a.verdict, 'accepted', a.error?.message);
    const s = vector('sgx-v3-phala/quote.dat');
    const sPadded = new Uint8Array(s.length + 16);
    sPadded.set(s);
    const b = await verifyQuote(sPadded, {
      collateral: collateralFromQvlJson(JSON.parse(vectorText('sgx-v3-phala/collateral.json'))),
      at: PHALA_AT,
      policy,
    });
    assert.equal(b.error?.code, 'ERR_TRAILING_BYTES');
  },
);
