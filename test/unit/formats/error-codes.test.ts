import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VerificationCache } from '../../../src/attestation/dcap/cache.ts';
import { parseCrl } from '../../../src/attestation/dcap/crl.ts';
import { pemCertificates } from '../../../src/attestation/pem.ts';
import { Writer } from '../../../src/bytes/cursor.ts';
import { decodeCbor } from '../../../src/formats/cbor.ts';
import { aesGcmOpen, aesGcmSeal } from '../../../src/crypto/aes-gcm.ts';
import { parseDer } from '../../../src/formats/der-reader.ts';
import { slicePcsBody } from '../../../src/formats/pcs-body.ts';
import { parseQeIdentity } from '../../../src/formats/qe-identity.ts';
import { parseTcbInfo } from '../../../src/formats/tcb-info.ts';
import { qeIdentityText, tcbInfoText } from '../../../src/sgx/manufacturer/sign-collateral.ts';
import { defaultTcbLevels } from '../../../src/sgx/manufacturer/tcb-levels.ts';

/** Each parser's refusal carries exactly its documented code (docs/errors.md). */
function throwsCode(f: () => unknown, code: string): void {
  assert.throws(f, (e: Error & { code?: string }) => {
    assert.equal(e.code, code, e.message);
    return true;
  });
}

const day = new Date('2026-01-01T00:00:00Z');
const tcbText = tcbInfoText({
  fmspc: new Uint8Array(6),
  pceId: 0,
  issueDate: day,
  nextUpdate: new Date(day.getTime() + 30 * 86_400_000),
  tcbEvaluationDataNumber: 1,
  levels: defaultTcbLevels({ components: new Array(16).fill(2), pceSvn: 13 }, day),
});
const qeText = qeIdentityText({
  mrSigner: new Uint8Array(32).fill(1),
  isvProdId: 1,
  miscSelect: new Uint8Array(4),
  miscSelectMask: new Uint8Array(4).fill(0xff),
  attributes: new Uint8Array(16),
  attributesMask: new Uint8Array(16).fill(0xff),
  levels: [{ isvSvn: 8, tcbDate: '2026-01-01T00:00:00Z', status: 'UpToDate', advisoryIds: [] }],
  issueDate: day,
  nextUpdate: new Date(day.getTime() + 30 * 86_400_000),
  tcbEvaluationDataNumber: 1,
});

test('TCB info: a version other than 2 or 3 is ERR_TCB_INFO_VERSION; a missing field is ERR_TCB_INFO_FORMAT', () => {
  assert.equal(parseTcbInfo(tcbText).version, 3);
  throwsCode(() => parseTcbInfo(tcbText.replace('"version":3', '"version":4')), 'ERR_TCB_INFO_VERSION');
  throwsCode(() => parseTcbInfo(tcbText.replace('"fmspc":', '"fmspcX":')), 'ERR_TCB_INFO_FORMAT');
  throwsCode(() => parseTcbInfo('[]'), 'ERR_TCB_INFO_FORMAT');
});

test('QE identity: a version other than 2 is ERR_QE_IDENTITY_VERSION; a missing field is ERR_QE_IDENTITY_FORMAT', () => {
  assert.equal(parseQeIdentity(qeText).version, 2);
  throwsCode(() => parseQeIdentity(qeText.replace('"version":2', '"version":3')), 'ERR_QE_IDENTITY_VERSION');
  throwsCode(() => parseQeIdentity(qeText.replace('"mrsigner":', '"mrsignerX":')), 'ERR_QE_IDENTITY_FORMAT');
});

test('PCS body: anything but {"tcbInfo":{…},"signature":hex} is ERR_PCS_BODY', () => {
  const body = `{"tcbInfo":${tcbText},"signature":"${'ab'.repeat(64)}"}`;
  assert.equal(slicePcsBody(body, 'tcbInfo').text, tcbText);
  throwsCode(() => slicePcsBody(body, 'enclaveIdentity'), 'ERR_PCS_BODY');
  throwsCode(() => slicePcsBody('{"tcbInfo":{}}', 'tcbInfo'), 'ERR_PCS_BODY');
  throwsCode(() => slicePcsBody('not json', 'tcbInfo'), 'ERR_PCS_BODY');
});

test('DER: a truncated element or a non-minimal length is ERR_DER', () => {
  assert.equal(parseDer(Uint8Array.of(0x30, 0x00)).tag, 0x30);
  throwsCode(() => parseDer(Uint8Array.of(0x30, 0x03, 0x02, 0x01)), 'ERR_DER');
  throwsCode(() => parseDer(Uint8Array.of(0x30, 0x81, 0x00)), 'ERR_DER');
});

test('CRL: well-formed DER that is not a CRL is ERR_CRL_FORMAT', () => {
  // SEQUENCE { SEQUENCE {}, SEQUENCE {} }: two top-level elements instead of three.
  throwsCode(
    () => parseCrl(Uint8Array.of(0x30, 0x04, 0x30, 0x00, 0x30, 0x00), new VerificationCache()),
    'ERR_CRL_FORMAT',
  );
});

test('PEM (strict): non-canonical base64 or text between blocks is ERR_PEM', () => {
  const block = (b64: string) => `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
  assert.deepEqual(pemCertificates(block('MAA='), { strict: true }), [Uint8Array.of(0x30, 0x00)]);
  throwsCode(() => pemCertificates(block('MAB='), { strict: true }), 'ERR_PEM');
  throwsCode(() => pemCertificates(block('MAA=') + 'junk\n' + block('MAA='), { strict: true }), 'ERR_PEM');
});

test('Writer: a fixed-size field given with the wrong length is ERR_FIELD_LENGTH', () => {
  assert.equal(new Writer().bytes(new Uint8Array(4), 4).length, 4);
  throwsCode(() => new Writer().bytes(new Uint8Array(3), 4), 'ERR_FIELD_LENGTH');
});

test('CBOR: an indefinite length is refused with the generic ERR_FORMAT', () => {
  throwsCode(() => decodeCbor(Uint8Array.of(0x9f, 0xff)), 'ERR_FORMAT');
});

test('AES-GCM: a flipped tag bit is ERR_DECRYPTION_FAILED', () => {
  const key = new Uint8Array(16).fill(3);
  const iv = new Uint8Array(12).fill(4);
  const sealed = aesGcmSeal(key, iv, Uint8Array.of(1, 2, 3));
  assert.deepEqual(aesGcmOpen(key, iv, sealed), Uint8Array.of(1, 2, 3));
  sealed[sealed.length - 1] ^= 1;
  throwsCode(() => aesGcmOpen(key, iv, sealed), 'ERR_DECRYPTION_FAILED');
});
