import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateP256 } from '../../../src/crypto/ecdsa.ts';
import { createRatlsCertificate } from '../../../src/channel/ratls-cert.ts';
import { readCertificateParts } from '../../../src/formats/x509-reader.ts';
import { issueCertificate, newSerial } from '../../../src/sgx/manufacturer/issue-certificate.ts';
import { x509 } from '../../helpers/peculiar-oracle.ts';

// The strict DER reading of a certificate's key, validity and extensions agrees with @peculiar/x509's
// (the parser it replaced on the RA-TLS handshake path), on Catena's own certificates of both kinds.
async function samples(): Promise<Uint8Array[]> {
  const ra = await createRatlsCertificate({ issue: async () => new Uint8Array(600).fill(7) });
  const ca = generateP256();
  const pck = await issueCertificate({
    subject: 'PCK',
    issuer: 'CA',
    issuerKey: ca.privateKey,
    publicKey: generateP256().publicKey,
    notBefore: new Date('2026-01-01T00:00:00Z'),
    notAfter: new Date('2051-01-01T00:00:00Z'),
    crlUrl: 'https://pcs.example/crl',
    serial: newSerial(),
    sgxExtension: new Uint8Array([0x30, 0]),
  });
  return [ra.certificate, pck];
}

test('readCertificateParts reads what @peculiar/x509 reads: SPKI, validity, every extension with its criticality', async () => {
  for (const der of await samples()) {
    const ours = readCertificateParts(der);
    const theirs = new x509.X509Certificate(new Uint8Array(der));
    assert.deepEqual(Buffer.from(ours.spki), Buffer.from(theirs.publicKey.rawData));
    assert.equal(ours.notBefore.getTime(), theirs.notBefore.getTime());
    assert.equal(ours.notAfter.getTime(), theirs.notAfter.getTime());
    assert.deepEqual(
      ours.extensions.map((e) => [e.oid, e.critical, Buffer.from(e.value).toString('hex')]),
      [...theirs.extensions].map((e) => [e.type, e.critical, Buffer.from(e.value).toString('hex')]),
    );
  }
});

test('readCertificateParts refuses truncated, trailing and mis-tagged input with ERR_DER', async () => {
  const [der] = await samples();
  const isDer = (e: unknown) => (e as { code?: string }).code === 'ERR_DER';
  assert.throws(() => readCertificateParts(der.subarray(0, der.length - 1)), isDer);
  assert.throws(() => readCertificateParts(new Uint8Array([...der, 0])), isDer);
  const retagged = der.slice();
  retagged[0] = 0x31; // SET instead of SEQUENCE
  assert.throws(() => readCertificateParts(retagged), isDer);
  assert.throws(() => readCertificateParts(new Uint8Array([0x30, 0x00])), isDer);
});
