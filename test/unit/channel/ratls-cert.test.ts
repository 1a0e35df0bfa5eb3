import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import {
  createMockAttestationRoot,
  createRatlsCertificate,
  decodeDiceEvidence,
  diceClaims,
  FailingQuoteIssuer,
  GRAMINE_QUOTE_OID,
  MockQuoteIssuer,
  parseMockEvidence,
  readRatlsCertificate,
  TCG_DICE_TAGGED_EVIDENCE_OID,
  type ChannelError,
} from '../../../src/channel/index.ts';

const root = await createMockAttestationRoot();
const issuer = new MockQuoteIssuer(root.privateKey, {
  mrEnclave: new Uint8Array(32).fill(0xaa),
  isvProdId: 21,
  isvSvn: 3,
});
const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

/** Extensions as asn1js reads them from the DER (independent of @peculiar/x509). */
function extensions(der: Uint8Array): Map<string, { critical: boolean; value: Uint8Array }> {
  const cert = asn1js.fromBER(der).result as asn1js.Sequence;
  const tbs = cert.valueBlock.value[0] as asn1js.Sequence;
  const wrapped = tbs.valueBlock.value.find(
    (v) => v.idBlock.tagClass === 3 && v.idBlock.tagNumber === 3,
  ) as asn1js.Constructed;
  const seq = wrapped.valueBlock.value[0] as asn1js.Sequence;
  const out = new Map();
  for (const e of seq.valueBlock.value as asn1js.Sequence[]) {
    const parts = e.valueBlock.value;
    const oid = (parts[0] as asn1js.ObjectIdentifier).valueBlock.toString();
    const critical = parts.length === 3 ? (parts[1] as asn1js.Boolean).valueBlock.value : false;
    const value = new Uint8Array((parts[parts.length - 1] as asn1js.OctetString).valueBlock.valueHexView);
    out.set(oid, { critical, value });
  }
  return out;
}

test('certificate: key made here, evidence REPORTDATA = SHA-256(SPKI) ‖ SHA-256(claims), both extensions non-critical', async () => {
  const c = await createRatlsCertificate(issuer);
  const x = new X509Certificate(c.certPem);
  assert.ok(x.checkPrivateKey((await import('node:crypto')).createPrivateKey(c.keyPem)));
  assert.ok(x.verify(x.publicKey), 'self-signed');
  const spki = new Uint8Array(x.publicKey.export({ type: 'spki', format: 'der' }));
  assert.deepEqual(c.spki, spki);
  const ev = parseMockEvidence(c.evidence);
  assert.deepEqual(ev.body.reportData.subarray(0, 32), sha(spki));
  assert.deepEqual(ev.body.reportData.subarray(32), sha(diceClaims(spki)));
  const ext = extensions(c.certificate);
  const g = ext.get(GRAMINE_QUOTE_OID);
  const d = ext.get(TCG_DICE_TAGGED_EVIDENCE_OID);
  assert.ok(g && d, 'both OIDs present');
  assert.equal(g.critical, false);
  assert.equal(d.critical, false);
  assert.deepEqual(g.value, c.evidence, 'Gramine OID: the raw evidence');
  // DICE: CBOR tag 60000 (d9 ea60), array(2), bstr evidence, bstr claims
  assert.equal(Buffer.from(d.value.subarray(0, 4)).toString('hex'), 'd9ea6082');
  const dice = decodeDiceEvidence(d.value);
  assert.deepEqual(dice.evidence, c.evidence);
  // claims = {"pubkey-hash": [1, h'<sha256(spki)>']} spelled out by hand
  const expectedClaims = Buffer.concat([
    Buffer.from('a16b', 'hex'),
    Buffer.from('pubkey-hash'),
    Buffer.from('82015820', 'hex'),
    sha(spki),
  ]);
  assert.equal(Buffer.from(dice.claims).toString('hex'), expectedClaims.toString('hex'));
});

test('readRatlsCertificate returns key and evidence; refuses a certificate without evidence', async () => {
  const c = await createRatlsCertificate(issuer);
  const r = readRatlsCertificate(c.certificate);
  assert.deepEqual(r.evidence, c.evidence);
  assert.deepEqual(r.spki, c.spki);
  const plain = new Uint8Array(new X509Certificate(root.certPem).raw);
  assert.throws(
    () => readRatlsCertificate(plain),
    (e: ChannelError) => e.code === 'ERR_CHANNEL_NO_EVIDENCE',
  );
  assert.throws(
    () => readRatlsCertificate(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])),
    (e: ChannelError) => e.code === 'ERR_CHANNEL_CERTIFICATE',
  );
});

test('an issuer failure is ERR_CHANNEL_ISSUER', async () => {
  await assert.rejects(
    createRatlsCertificate(new FailingQuoteIssuer()),
    (e: ChannelError) => e.code === 'ERR_CHANNEL_ISSUER',
  );
});
