import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openCollateral, verifyQuote, type Appraisal } from '../../src/attestation/index.ts';
import { skipWithoutVectors, vector, vectorPath } from '../helpers/vectors.ts';

/**
 * tdx.module on Intel's TDX vector: the TD's SEAM module must be one the TCB info names (MRSIGNER_SEAM,
 * masked SEAM attributes, TDX module identity by TEE_TCB_SVN). The TD report is signed, so any change
 * to it also breaks quote.signature, which comes first: the appraisal is rejected by the signature, and
 * the tdx.module check, still evaluated, fails with its own code.
 */
const AT = new Date(1751328000 * 1000);
const MR_SIGNER_SEAM = 48 + 16 + 48; // header, TEE_TCB_SVN, MRSEAM

const check = (a: Appraisal, name: string) => a.checks.find((c) => c.name === name);

test(
  "tdx.module: a TD whose MRSIGNER_SEAM is not the TCB info's module signer fails with ERR_TDX_MODULE",
  { skip: skipWithoutVectors },
  async () => {
    const collateral = await openCollateral(vectorPath('tdx-v4-phala/collateral.json'));
    const quote = vector('tdx-v4-phala/quote.dat');
    const good = await verifyQuote(quote, { collateral, at: AT });
    assert.equal(good.verdict, 'accepted', good.error?.message);
    assert.equal(check(good, 'tdx.module')?.ok, true);

    const other = Uint8Array.from(quote);
    other[MR_SIGNER_SEAM] ^= 0x01;
    const a = await verifyQuote(other, { collateral, at: AT });
    assert.equal(a.verdict, 'rejected');
    assert.equal(a.error?.code, 'ERR_QUOTE_SIGNATURE', 'the TD report is signed: the signature check fails first');
    const m = check(a, 'tdx.module');
    assert.ok(m && !m.ok && !m.skipped, JSON.stringify(m));
    assert.equal(m.code, 'ERR_TDX_MODULE');
    assert.match(m.detail ?? '', /MRSIGNER_SEAM/);
  },
);
