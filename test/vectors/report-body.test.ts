import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hex } from '../../src/bytes/util.ts';
import { attributesBytes } from '../../src/formats/attributes.ts';
import { parseReportBody, serializeReportBody } from '../../src/formats/report.ts';
import { skipWithoutVectors, vector } from '../helpers/vectors.ts';

/**
 * REPORT_BODY offsets checked on bytes Intel hardware produced: the application enclave report
 * inside a real DCAP quote v3 (48-byte header, then the 384-byte body), facts from the vectors README.
 */
const skip = skipWithoutVectors;

test(
  'REPORT_BODY of sgx-v3-phala/quote.dat: MRENCLAVE, MRSIGNER, ATTRIBUTES, REPORTDATA; re-serialises byte for byte',
  { skip },
  () => {
    const raw = vector('sgx-v3-phala/quote.dat').subarray(48, 48 + 384);
    const b = parseReportBody(raw);
    assert.equal(hex(b.mrEnclave), '33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb');
    assert.equal(hex(b.mrSigner), '815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6');
    assert.equal(hex(attributesBytes(b.attributes)), '0500000000000000e700000000000000');
    const text = new TextEncoder().encode('Hello, world!');
    assert.deepEqual(b.reportData.subarray(0, text.length), text);
    assert.ok(b.reportData.subarray(text.length).every((x) => x === 0));
    assert.deepEqual(serializeReportBody(b), raw);
  },
);

test('REPORT_BODY of sgx-v3-zkdcap/quote.dat: MRENCLAVE and MRSIGNER', { skip }, () => {
  const b = parseReportBody(vector('sgx-v3-zkdcap/quote.dat').subarray(48, 48 + 384));
  assert.equal(hex(b.mrEnclave), 'dca1a1841ab2e3fa7025c1d175d2c947df760b3baa4a9a0f30f4fd05718fcfe3');
  assert.equal(hex(b.mrSigner), '83d719e77deaca1470f6baf62a4d774303c899db69020f9c70ee1dfc08c7ce9e');
});
