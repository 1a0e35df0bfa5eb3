import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { hex } from '../../../src/bytes/util.ts';
import { generateP256 } from '../../../src/crypto/ecdsa.ts';
import { children, parseDer } from '../../../src/formats/der-reader.ts';
import { pckExtensionFromCertificate } from '../../../src/formats/pck-extension.ts';
import {
  issueCertificate,
  KEY_USAGE,
  keyIdentifier,
  newSerial,
  wholeSeconds,
  type CertificateSpec,
} from '../../../src/sgx/manufacturer/issue-certificate.ts';
import { SGX_EXTENSION_OID } from '../../../src/sgx/manufacturer/names.ts';
import { encodeSgxExtension, SGX_TYPE } from '../../../src/sgx/manufacturer/sgx-extension.ts';
import { dn, ECDSA_SHA256, publicCryptoKey, signingCryptoKey, x509 } from '../../helpers/peculiar-oracle.ts';

// The certificate Catena encodes itself must be the one @peculiar/x509 makes of the same spec
// (its former implementation): same TBS bytes; only the ECDSA signature (random k) differs.
async function reference(spec: CertificateSpec & { serial: Uint8Array }): Promise<Uint8Array> {
  const extensions: x509.Extension[] = [
    new x509.AuthorityKeyIdentifierExtension(hex(keyIdentifier(spec.issuerKey))),
    new x509.CRLDistributionPointsExtension([spec.crlUrl]),
    new x509.SubjectKeyIdentifierExtension(hex(keyIdentifier(spec.publicKey))),
    new x509.KeyUsagesExtension(spec.ca ? KEY_USAGE.ca : KEY_USAGE.leaf, true),
    spec.ca
      ? new x509.BasicConstraintsExtension(true, spec.ca.pathLength, true)
      : new x509.BasicConstraintsExtension(false, undefined, true),
  ];
  if (spec.sgxExtension)
    extensions.push(new x509.Extension(SGX_EXTENSION_OID, false, Uint8Array.from(spec.sgxExtension)));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: hex(spec.serial),
    subject: dn(spec.subject),
    issuer: dn(spec.issuer),
    notBefore: wholeSeconds(spec.notBefore),
    notAfter: wholeSeconds(spec.notAfter),
    publicKey: await publicCryptoKey(spec.publicKey),
    signingKey: await signingCryptoKey(spec.issuerKey),
    signingAlgorithm: ECDSA_SHA256,
    extensions,
  });
  return new Uint8Array(cert.rawData);
}

const tbsOf = (der: Uint8Array) => hex(children(parseDer(der))[0].raw);

const ca = generateP256();
const leaf = generateP256();
const sgxExtension = encodeSgxExtension({
  ppid: new Uint8Array(16).fill(7),
  tcbComponents: Array.from({ length: 16 }, (_, i) => (i * 37) % 256),
  pceSvn: 13,
  cpuSvn: new Uint8Array(16).fill(2),
  pceId: 0,
  fmspc: Uint8Array.from([0, 0x90, 0x6e, 0xa1, 0, 0]),
  sgxType: SGX_TYPE.STANDARD,
});
const cases: Array<[string, CertificateSpec & { serial: Uint8Array }]> = [
  [
    'self-signed root (CA, path length 1, UTCTime)',
    {
      subject: 'Root',
      issuer: 'Root',
      issuerKey: ca.privateKey,
      publicKey: ca.publicKey,
      notBefore: new Date('2026-01-02T03:04:05.678Z'),
      notAfter: new Date('2049-12-31T23:59:59Z'),
      ca: { pathLength: 1 },
      crlUrl: 'https://pcs.example/root?encoding=der',
      serial: newSerial(),
    },
  ],
  [
    'intermediate CA, path length 0, GeneralizedTime after 2049',
    {
      subject: 'Processor CA',
      issuer: 'Root',
      issuerKey: ca.privateKey,
      publicKey: leaf.publicKey,
      notBefore: new Date('2026-01-02T00:00:00Z'),
      notAfter: new Date('2051-06-01T00:00:00Z'),
      ca: { pathLength: 0 },
      crlUrl: 'https://pcs.example/x',
      serial: newSerial(),
    },
  ],
  [
    'PCK leaf with the SGX extension',
    {
      subject: 'PCK Certificate',
      issuer: 'Processor CA',
      issuerKey: ca.privateKey,
      publicKey: leaf.publicKey,
      notBefore: new Date('2026-11-27T10:00:00Z'),
      notAfter: new Date('2033-11-27T10:00:00Z'),
      crlUrl: 'https://pcs.example/sgx/certification/v4/pckcrl?ca=processor&encoding=der',
      sgxExtension,
      serial: newSerial(),
    },
  ],
  [
    'leaf given its private key, long CRL URL (long-form lengths)',
    {
      subject: 'TCB Signing',
      issuer: 'Root',
      issuerKey: ca.privateKey,
      publicKey: leaf.privateKey,
      notBefore: new Date('2026-11-27T10:00:00Z'),
      notAfter: new Date('2033-11-27T10:00:00Z'),
      crlUrl: `https://pcs.example/${'a'.repeat(300)}`,
      serial: newSerial(),
    },
  ],
];

for (const [name, spec] of cases) {
  test(`issueCertificate: ${name} — same TBS as @peculiar/x509, signature verifies`, async () => {
    const ours = await issueCertificate(spec);
    const theirs = await reference(spec);
    assert.equal(tbsOf(ours), tbsOf(theirs));
    const c = new X509Certificate(ours);
    assert.ok(c.verify(ca.publicKey), 'signed by the issuer key');
    assert.equal(c.serialNumber.toLowerCase().replace(/^0+/, ''), hex(spec.serial).replace(/^0+/, ''));
    assert.equal(hex(children(parseDer(ours))[1].raw), hex(children(parseDer(theirs))[1].raw), 'signature algorithm');
    if (spec.sgxExtension) assert.equal(hex(pckExtensionFromCertificate(ours).ppid), '07'.repeat(16));
  });
}
