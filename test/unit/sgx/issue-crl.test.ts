import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hex } from '../../../src/bytes/util.ts';
import { generateP256 } from '../../../src/crypto/ecdsa.ts';
import { children, parseDer } from '../../../src/formats/der-reader.ts';
import { keyIdentifier, newSerial, wholeSeconds } from '../../../src/sgx/manufacturer/issue-certificate.ts';
import { CRL_REASON, issueCrl, type CrlSpec } from '../../../src/sgx/manufacturer/issue-crl.ts';
import { dn, ECDSA_SHA256, publicCryptoKey, signingCryptoKey, x509 } from '../../helpers/peculiar-oracle.ts';

// The CRL Catena encodes with its own DER writer must be the one @peculiar/x509 (+ asn1js for the CRL
// number) made of the same spec, its former implementation: same TBS bytes; only the signature differs.
async function reference(spec: CrlSpec): Promise<Uint8Array> {
  const crlNumber = seqInteger(spec.crlNumber);
  const crl = await x509.X509CrlGenerator.create({
    issuer: dn(spec.issuer),
    thisUpdate: wholeSeconds(spec.thisUpdate),
    nextUpdate: wholeSeconds(spec.nextUpdate),
    extensions: [
      new x509.Extension('2.5.29.20', false, crlNumber),
      new x509.AuthorityKeyIdentifierExtension(hex(keyIdentifier(spec.issuerKey))),
    ],
    entries: spec.entries.map((e) => ({
      serialNumber: e.serial,
      revocationDate: wholeSeconds(e.date),
      reason: e.reason,
    })),
    signingKey: await signingCryptoKey(spec.issuerKey),
    signingAlgorithm: ECDSA_SHA256,
  });
  return new Uint8Array(crl.rawData);
}

/** DER INTEGER of a small non-negative number, written by hand (two's complement, minimal). */
function seqInteger(n: number): Uint8Array<ArrayBuffer> {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  if (!bytes.length || bytes[0] & 0x80) bytes.unshift(0);
  return Uint8Array.from([2, bytes.length, ...bytes]);
}

const tbsOf = (der: Uint8Array) => hex(children(parseDer(der))[0].raw);
const ca = generateP256();
const at = new Date('2026-11-27T10:00:00.456Z');
const cases: Array<[string, CrlSpec]> = [
  [
    'empty root CA CRL',
    {
      issuer: 'Root',
      issuerKey: ca.privateKey,
      thisUpdate: at,
      nextUpdate: new Date('2027-11-27T10:00:00Z'),
      crlNumber: 1,
      entries: [],
    },
  ],
  [
    'PCK CRL with three entries, CRL number 200 (sign padding), GeneralizedTime nextUpdate',
    {
      issuer: 'Processor CA',
      issuerKey: ca.privateKey,
      thisUpdate: at,
      nextUpdate: new Date('2051-01-01T00:00:00Z'),
      crlNumber: 200,
      entries: [
        { serial: hex(newSerial()), reason: CRL_REASON.keyCompromise, date: new Date('2026-11-01T00:00:00Z') },
        { serial: hex(newSerial()), reason: CRL_REASON.cACompromise, date: new Date('2026-11-02T00:00:00.999Z') },
        { serial: hex(newSerial()), reason: CRL_REASON.aACompromise, date: new Date('2026-11-03T00:00:00Z') },
      ],
    },
  ],
];

for (const [name, spec] of cases) {
  test(`issueCrl: ${name} — same TBS as @peculiar/x509, signature verifies`, async () => {
    const ours = await issueCrl(spec);
    assert.equal(tbsOf(ours), tbsOf(await reference(spec)));
    const parsed = new x509.X509Crl(new Uint8Array(ours));
    assert.ok(await parsed.verify({ publicKey: await publicCryptoKey(ca.publicKey) }), 'signed by the issuer key');
    assert.deepEqual(
      parsed.entries.map((e) => [e.serialNumber.toLowerCase(), e.reason]),
      spec.entries.map((e) => [e.serial, e.reason]),
    );
  });
}

test('issueCrl refuses reason 0 (an encoder would drop it) with ERR_MANUFACTURER_REASON', async () => {
  await assert.rejects(
    issueCrl({ ...cases[0][1], entries: [{ serial: hex(newSerial()), reason: CRL_REASON.unspecified, date: at }] }),
    (e: { code?: string }) => e.code === 'ERR_MANUFACTURER_REASON',
  );
});
