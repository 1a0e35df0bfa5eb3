/**
 * One test per parser bug the fuzzer found (docs/testing.md, "Fuzzing"): each input is the smallest
 * form of what the fuzzer produced, and each test fails if its fix is removed (the input then throws
 * an untyped error, or, for verifySigstruct, throws at all).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VerificationCache } from '../../../src/attestation/dcap/cache.ts';
import { loadCert } from '../../../src/attestation/dcap/certs.ts';
import { parseCrl } from '../../../src/attestation/dcap/crl.ts';
import { decodeCbor } from '../../../src/formats/cbor.ts';
import {
  ChannelError,
  createMockAttestationRoot,
  createRatlsCertificate,
  MockQuoteIssuer,
  readRatlsCertificate,
} from '../../../src/channel/index.ts';
import { FormatError } from '../../../src/errors.ts';
import { parseSigstruct, serializeSigstruct, verifySigstruct, type Sigstruct } from '../../../src/formats/sigstruct.ts';

const h = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s/g, ''), 'hex'));
const typed = (code: string) => (e: unknown) => e instanceof FormatError && e.code === code;

test('CBOR: a text string that is not UTF-8 is a FormatError, not the TextDecoder TypeError', () => {
  assert.throws(() => decodeCbor(h('62 c3 28')), typed('ERR_FORMAT'));
  assert.throws(() => decodeCbor(h('a1 61 6b 62 ff fe')), typed('ERR_FORMAT'));
  assert.equal(decodeCbor(h('62 c3 a9')), 'é');
});

test('loadCert: bytes OpenSSL cannot read as a certificate are ERR_DER, not an OpenSSL error', () => {
  assert.throws(() => loadCert(h('30 03 02 01 01'), new VerificationCache()), typed('ERR_DER'));
  assert.throws(() => loadCert(new Uint8Array(0), new VerificationCache()), typed('ERR_DER'));
});

test('parseCrl: a CRL whose tbsCertList ends before thisUpdate is ERR_DER, not a TypeError', () => {
  // SEQUENCE { tbsCertList SEQUENCE { version 1, SEQUENCE { ecdsa-with-SHA256 }, issuer SEQUENCE {} }, SEQUENCE { ecdsa-with-SHA256 }, BIT STRING 00 }
  const alg = '300a 0608 2a8648ce3d040302';
  const tbs = `3011 020101 ${alg} 3000`;
  const der = h(`3022 ${tbs} ${alg} 030100`);
  assert.throws(() => parseCrl(der, new VerificationCache()), typed('ERR_DER'));
});

test('verifySigstruct: a zero modulus, or Q1/Q2 that cannot fit 384 bytes, are named failures, never an exception', () => {
  const z = (n: number, fill = 0) => new Uint8Array(n).fill(fill);
  const base: Sigstruct = {
    moduleType: 0,
    vendor: 0,
    date: 0x20240101,
    swDefined: 0,
    miscSelect: 0,
    miscMask: 0,
    isvFamilyId: z(16),
    attributes: { flags: 0n, xfrm: 0n },
    attributeMask: { flags: 0n, xfrm: 0n },
    enclaveHash: z(32),
    isvExtProdId: z(16),
    isvProdId: 0,
    isvSvn: 0,
    modulus: z(384),
    exponent: 3,
    signature: z(384, 0x5a),
    q1: z(384),
    q2: z(384),
    raw: z(1808),
  };
  for (const modulus of [z(384), Uint8Array.from(z(384), (_, i) => (i === 0 ? 1 : 0))]) {
    const s = parseSigstruct(serializeSigstruct({ ...base, modulus }));
    const v = verifySigstruct(s);
    assert.equal(v.ok, false);
    assert.ok(
      v.failures.some((f) => f.startsWith('q1:')),
      v.failures.join('; '),
    );
    assert.ok(
      v.failures.some((f) => f.startsWith('q2:')),
      v.failures.join('; '),
    );
  }
});

/** The DER of an RA-TLS certificate with `from` replaced by `to` (same length: the structure stays). */
async function editedRatlsCert(from: string, to: string): Promise<Uint8Array> {
  const root = await createMockAttestationRoot();
  const c = await createRatlsCertificate(
    new MockQuoteIssuer(root.privateKey, { mrEnclave: new Uint8Array(32), isvProdId: 1, isvSvn: 1 }),
  );
  const hexDer = Buffer.from(c.certificate).toString('hex');
  assert.equal(from.length, to.length);
  assert.ok(hexDer.includes(from), `the certificate holds ${from}`);
  return h(hexDer.replace(from, to));
}

test('readRatlsCertificate: an extension value @peculiar/x509 parses lazily (BasicConstraints not a SEQUENCE) is ERR_CHANNEL_CERTIFICATE', async () => {
  // extnID basicConstraints, extnValue OCTET STRING { SEQUENCE {} } → OCTET STRING { NULL }
  const der = await editedRatlsCert('0603551d1304023000', '0603551d1304020500');
  assert.throws(
    () => readRatlsCertificate(der),
    (e: unknown) => e instanceof ChannelError && e.code === 'ERR_CHANNEL_CERTIFICATE',
  );
});

test('readRatlsCertificate: EC parameters that are neither a named curve nor valid explicit ones are ERR_CHANNEL_CERTIFICATE', async () => {
  // id-ecPublicKey, parameters OID prime256v1 → an OCTET STRING of the same length
  const der = await editedRatlsCert('06082a8648ce3d030107', '04082a8648ce3d030107');
  assert.throws(
    () => readRatlsCertificate(der),
    (e: unknown) => e instanceof ChannelError && e.code === 'ERR_CHANNEL_CERTIFICATE',
  );
});
