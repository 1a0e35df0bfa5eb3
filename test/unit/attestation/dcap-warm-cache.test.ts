import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { collateralFromQvlJson } from '../../../src/attestation/collateral/from-qvl-json.ts';
import { DcapVerifier } from '../../../src/attestation/dcap/verify-quote.ts';
import { pemCertificates, toPem } from '../../../src/attestation/pem.ts';
import { skipWithoutVectors, vector, vectorText } from '../../helpers/vectors.ts';

/**
 * A warm verifier answers only for the bytes it saw: after accepting Intel's real quote and collateral,
 * the same verifier (same cache) is given each piece changed in one byte — a signature, a signed text,
 * a CRL, the quote — and must refuse each at its check, then accept the original again. A cache key
 * that left out any part of what it caches would answer the changed input from the cache.
 */
const AT = new Date('2025-07-01T00:00:00Z');
const policy = { acceptedTcbStatuses: ['ConfigurationAndSWHardeningNeeded'] };

/** `hex` with one hex digit at `i` changed (a different byte). */
function flipHex(hex: string, i: number): string {
  return hex.slice(0, i) + (hex[i] === '0' ? '1' : '0') + hex.slice(i + 1);
}

test(
  'a warm verifier refuses each one-byte change of Intel evidence, and accepts the original again',
  { skip: skipWithoutVectors },
  async () => {
    const json = JSON.parse(vectorText('sgx-v3-phala/collateral.json')) as Record<string, string>;
    const quote = vector('sgx-v3-phala/quote.dat');
    const v = new DcapVerifier();
    const check = async (q: Uint8Array, j: Record<string, string>) => {
      const a = await v.verify(q, { collateral: collateralFromQvlJson(j), at: AT, policy });
      return a.verdict === 'accepted' ? 'accepted' : a.error?.check;
    };
    assert.equal(await check(quote, json), 'accepted');
    const changed: Array<[string, Record<string, string>, string]> = [
      [
        'TCB info signature',
        { ...json, tcb_info_signature: flipHex(json.tcb_info_signature, 10) },
        'collateral.tcbInfo',
      ],
      [
        'QE identity signature',
        { ...json, qe_identity_signature: flipHex(json.qe_identity_signature, 70) },
        'collateral.qeIdentity',
      ],
      // A change of the signed text that still parses: the TCB evaluation number's last digit.
      [
        'TCB info text',
        {
          ...json,
          tcb_info: json.tcb_info.replace(
            /"tcbEvaluationDataNumber":(\d+)/,
            (_, n: string) => `"tcbEvaluationDataNumber":${Number(n) + 1}`,
          ),
        },
        'collateral.tcbInfo',
      ],
      [
        'QE identity text',
        {
          ...json,
          qe_identity: json.qe_identity.replace(
            /"tcbEvaluationDataNumber":(\d+)/,
            (_, n: string) => `"tcbEvaluationDataNumber":${Number(n) + 1}`,
          ),
        },
        'collateral.qeIdentity',
      ],
      // The last bytes of a CRL are its signature's s value.
      ['PCK CRL signature', { ...json, pck_crl: flipHex(json.pck_crl, json.pck_crl.length - 4) }, 'crl.pck'],
      [
        'Root CA CRL signature',
        { ...json, root_ca_crl: flipHex(json.root_ca_crl, json.root_ca_crl.length - 4) },
        'crl.rootCa',
      ],
    ];
    for (const [what, j, at] of changed) {
      assert.notEqual(JSON.stringify(j), JSON.stringify(json), what);
      assert.equal(await check(quote, j), at, what);
    }
    // The quote's ECDSA signature (after the 48-byte header and 384-byte report, a 4-byte length).
    const q = new Uint8Array(quote);
    q[48 + 384 + 4 + 10] ^= 0x01;
    assert.equal(await check(q, json), 'quote.signature');
    assert.equal(await check(quote, json), 'accepted', 'the original again');
    // Another trusted root on the same cache: the cached chain does not stand in for it.
    const other = await v.verify(quote, {
      collateral: collateralFromQvlJson(json),
      at: AT,
      policy,
      trustedRoots: [new Uint8Array(64).fill(7)],
    });
    assert.equal(other.error?.check, 'pck.chain');
  },
);

/** The quote with its embedded root certificate's key changed in one bit (same length, same PEM layout). */
function alterEmbeddedRoot(q: Uint8Array): Uint8Array {
  const text = Buffer.from(q).toString('latin1');
  const begin = text.lastIndexOf('-----BEGIN CERTIFICATE-----');
  const end = text.indexOf('-----END CERTIFICATE-----', begin) + '-----END CERTIFICATE-----'.length;
  const block = text.slice(begin, end);
  const [der] = pemCertificates(block);
  const point = new X509Certificate(der).publicKey.export({ format: 'der', type: 'spki' }).subarray(-65);
  const altered = Buffer.from(der);
  altered[altered.indexOf(point) + 10] ^= 0x01;
  const pem = toPem(altered, 'CERTIFICATE').trimEnd();
  assert.equal(pem.length, block.length);
  const out = Buffer.from(q);
  out.write(pem, begin, 'latin1');
  return new Uint8Array(out);
}

test(
  'a warm verifier reads the PCK chain of each quote: one it saw before does not stand in for another',
  { skip: skipWithoutVectors },
  async () => {
    const json = JSON.parse(vectorText('sgx-v3-phala/collateral.json')) as Record<string, string>;
    const quote = vector('sgx-v3-phala/quote.dat');
    const v = new DcapVerifier();
    const verify = (q: Uint8Array) => v.verify(q, { collateral: collateralFromQvlJson(json), at: AT, policy });
    assert.equal((await verify(quote)).verdict, 'accepted');
    const bad = await verify(alterEmbeddedRoot(quote));
    assert.equal(bad.error?.check, 'pck.chain');
    assert.equal((await verify(quote)).verdict, 'accepted');
  },
);
