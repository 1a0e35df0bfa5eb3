import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VerificationCache } from '../../../src/attestation/dcap/cache.ts';
import { loadCert } from '../../../src/attestation/dcap/certs.ts';
import { checkCrl, parseCrl } from '../../../src/attestation/dcap/crl.ts';
import { Manufacturer } from '../../../src/sgx/manufacturer/manufacturer.ts';

/**
 * A CRL's own window, checked directly (the verifier's boundary tests reach it only when no
 * certificate made in the same second fails first): valid from thisUpdate to nextUpdate inclusive,
 * "not yet valid" a millisecond before, "stale" a millisecond after.
 */
test('checkCrl: a CRL is used only inside [thisUpdate, nextUpdate]', async () => {
  const m = await Manufacturer.create({});
  const cache = new VerificationCache();
  const crl = parseCrl(await m.pckCrl('processor'), cache);
  const issuer = loadCert(m.caCertificate('processor'), cache);
  assert.equal(checkCrl(crl, issuer, crl.thisUpdate, cache), undefined);
  assert.equal(checkCrl(crl, issuer, crl.nextUpdate, cache), undefined);
  assert.match(checkCrl(crl, issuer, new Date(crl.thisUpdate.getTime() - 1), cache) ?? '', /^not yet valid at /);
  assert.match(checkCrl(crl, issuer, new Date(crl.nextUpdate.getTime() + 1), cache) ?? '', /^stale at /);
});
