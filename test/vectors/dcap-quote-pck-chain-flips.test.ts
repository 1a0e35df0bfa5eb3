import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collateralFromQvlJson, DcapVerifier, memoryCollateral } from '../../src/attestation/index.ts';
import { parseQuote } from '../../src/formats/index.ts';
import { skipWithoutVectors, vector, vectorText } from '../helpers/vectors.ts';

/**
 * The PCK chain inside a quote is covered by no signature of the quote itself, so its integrity rests
 * on the chain checks and on strict PEM/DER parsing (canonical base64, no ignored bytes). Every one of
 * its 28 384 single-bit flips must be rejected. A separate file because it is the slowest vector test.
 */
test(
  'every single-bit flip in the PCK certificate chain of the phala quote is rejected with ERR_PCK_CHAIN',
  { skip: skipWithoutVectors, timeout: 120_000 },
  async () => {
    const quote = vector('sgx-v3-phala/quote.dat');
    const collateral = collateralFromQvlJson(JSON.parse(vectorText('sgx-v3-phala/collateral.json')));
    const chainLen = parseQuote(quote).signatureData.qe.certification.data.length;
    const v = new DcapVerifier();
    const opts = {
      collateral: memoryCollateral(collateral),
      at: new Date('2025-07-01T00:00:00Z'),
      policy: { acceptedTcbStatuses: ['ConfigurationAndSWHardeningNeeded'] },
    };
    assert.equal((await v.verify(quote, opts)).verdict, 'accepted');
    const flipped = new Uint8Array(quote);
    const wrong: string[] = [];
    const t0 = Date.now();
    for (let i = quote.length - chainLen; i < quote.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        flipped[i] ^= 1 << bit;
        const a = await v.verify(flipped, opts);
        // No signature of the quote covers the chain: the chain checks must refuse every flip, as ERR_PCK_CHAIN.
        if (a.verdict !== 'rejected' || a.error?.code !== 'ERR_PCK_CHAIN')
          wrong.push(`bit ${i * 8 + bit}: ${a.verdict} ${a.error?.code ?? ''}`);
        flipped[i] ^= 1 << bit;
      }
    }
    assert.deepEqual(wrong.slice(0, 20), [], `${wrong.length} flips not rejected with ERR_PCK_CHAIN`);
    console.log(`# ${chainLen * 8} flips in ${Date.now() - t0} ms`);
  },
);
