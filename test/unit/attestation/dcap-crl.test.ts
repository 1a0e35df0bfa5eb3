import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { test } from 'node:test';
import { VerificationCache } from '../../../src/attestation/dcap/cache.ts';
import { loadCert } from '../../../src/attestation/dcap/certs.ts';
import { checkCrl, parseCrl } from '../../../src/attestation/dcap/crl.ts';
import { pemCertificates } from '../../../src/attestation/pem.ts';
import { hex } from '../../../src/bytes/util.ts';
import { p256PublicRaw } from '../../../src/crypto/ecdsa.ts';
import {
  bitString,
  context,
  oid,
  seq,
  set,
  smallInteger,
  time,
  unsignedInteger,
  utf8String,
} from '../../../src/formats/der-writer.ts';
import { basicConstraints, extension, signedX509, spkiP256, tbsCertificate } from '../../../src/formats/x509-writer.ts';
import { skipWithoutVectors, vector } from '../../helpers/vectors.ts';
import { x509 } from '../../helpers/peculiar-oracle.ts';

/**
 * CRL parsing (RFC 5280 §5.1, strictly) and the CRL checks of crl.ts, driven directly: every field of
 * a CRL built part by part, each malformed part refused naming that part, and Intel's real CRLs read as
 * an independent parser (@peculiar/x509) reads them.
 */

const THIS = new Date('2026-05-01T00:00:00Z');
const NEXT = new Date('2026-06-01T00:00:00Z');
const ALG = seq(oid('1.2.840.10045.4.3.2'));
const name = (cn: string) => seq(set(seq(oid('2.5.4.3'), utf8String(cn))));
const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });

interface Parts {
  version?: Uint8Array | null;
  innerAlg?: Uint8Array;
  issuer?: Uint8Array;
  thisUpdate?: Uint8Array;
  nextUpdate?: Uint8Array | null;
  revoked?: Uint8Array | null;
  extensions?: Uint8Array | null;
  extra?: Uint8Array[];
  outerAlg?: Uint8Array;
  signature?: Uint8Array;
  tail?: Uint8Array[];
}

const entry = (serial: number[], d = THIS) => seq(unsignedInteger(new Uint8Array(serial)), time(d));

/** A CRL from its parts (each replaceable, or left out with null), signed by `key` unless `signature` is given. */
function crl(p: Parts = {}): Uint8Array {
  const tbsParts = [
    p.version === undefined ? smallInteger(1) : p.version,
    p.innerAlg ?? ALG,
    p.issuer ?? name('CRL Issuer'),
    p.thisUpdate ?? time(THIS),
    p.nextUpdate === undefined ? time(NEXT) : p.nextUpdate,
    p.revoked === undefined ? seq(entry([0x01, 0x23]), entry([0x00, 0xff]), entry([0x7f])) : p.revoked,
    p.extensions === undefined ? context(0, true, seq(extension('2.5.29.20', false, smallInteger(5)))) : p.extensions,
    ...(p.extra ?? []),
  ].filter((x): x is Uint8Array => x !== null);
  const tbs = seq(...tbsParts);
  const sig = p.signature ?? bitString(new Uint8Array(sign('sha256', tbs, key.privateKey)));
  return seq(tbs, p.outerAlg ?? ALG, sig, ...(p.tail ?? []));
}

const issuerCert = (() => {
  const n = name('CRL Issuer');
  const tbs = tbsCertificate({
    serial: new Uint8Array([1]),
    issuer: n,
    subject: n,
    notBefore: new Date('2026-01-01T00:00:00Z'),
    notAfter: new Date('2027-01-01T00:00:00Z'),
    spki: spkiP256(p256PublicRaw(key.publicKey)),
    extensions: [extension('2.5.29.19', true, basicConstraints(true, 0))],
  });
  return signedX509(tbs, new Uint8Array(sign('sha256', tbs, key.privateKey)));
})();

test('parseCrl: every field of a well-formed CRL', () => {
  const cache = new VerificationCache();
  const der = crl();
  const c = parseCrl(der, cache);
  assert.deepEqual([...c.revoked].sort(), ['0123', '7f', 'ff'], 'serials as lowercase hex without sign padding');
  assert.equal(c.thisUpdate.toISOString(), THIS.toISOString());
  assert.equal(c.nextUpdate.toISOString(), NEXT.toISOString());
  assert.equal(hex(c.issuer), hex(name('CRL Issuer')));
  assert.equal(parseCrl(new Uint8Array(der), cache), c, 'the same bytes: the same parsed CRL');
  const other = parseCrl(crl({ revoked: null }), cache);
  assert.notEqual(other.id, c.id);
  assert.equal(other.revoked.size, 0);
  const issuer = loadCert(issuerCert, cache);
  assert.equal(checkCrl(c, issuer, THIS, cache), undefined, 'tbs and signature are the signed ones');
  assert.equal(checkCrl(other, issuer, THIS, cache), undefined);
});

test('parseCrl: optional fields may be absent; nextUpdate may be a GeneralizedTime', () => {
  const cache = new VerificationCache();
  assert.equal(parseCrl(crl({ version: null }), cache).revoked.size, 3, 'v1: no version field');
  assert.equal(parseCrl(crl({ revoked: null, extensions: null }), cache).revoked.size, 0);
  assert.equal(parseCrl(crl({ extensions: null }), cache).revoked.size, 3);
  const far = new Date('2051-01-01T00:00:00Z');
  assert.equal(parseCrl(crl({ nextUpdate: time(far) }), cache).nextUpdate.toISOString(), far.toISOString());
  assert.equal(
    parseCrl(crl({ thisUpdate: time(far), nextUpdate: time(far) }), cache).thisUpdate.getTime(),
    far.getTime(),
  );
});

test('parseCrl: each malformed part is refused, naming the part', () => {
  const notSeq = smallInteger(3);
  // A long-form length where the short form fits (BER, not DER).
  const ber = (x: Uint8Array) => new Uint8Array([x[0], 0x81, x[1], ...x.subarray(2)]);
  const cases: Array<[string, Uint8Array, string, RegExp]> = [
    ['not DER', new Uint8Array([0x30, 0x05, 0x00]), 'ERR_DER', /^CRL: /],
    ['top not a SEQUENCE', set(smallInteger(1)), 'ERR_DER', /^CRL: expected tag 0x30/],
    ['top primitive', new Uint8Array([(0x30 & ~0x20) | 0x10, 0]), 'ERR_DER', /^CRL: /],
    ['two top elements', seq(seq(), ALG), 'ERR_CRL_FORMAT', /^CRL: 2 top-level elements, expected 3$/],
    [
      'four top elements',
      crl({ tail: [smallInteger(0)] }),
      'ERR_CRL_FORMAT',
      /^CRL: 4 top-level elements, expected 3$/,
    ],
    ['BER length of a top element', crl({ outerAlg: ber(ALG) }), 'ERR_DER', /^CRL: non-minimal length$/],
    [
      'BER length inside the outer algorithm',
      crl({ outerAlg: seq(ber(oid('1.2.840.10045.4.3.2'))) }),
      'ERR_DER',
      /^signatureAlgorithm: non-minimal length$/,
    ],
    [
      'BER length inside tbsCertList',
      crl({ issuer: ber(name('CRL Issuer')) }),
      'ERR_DER',
      /^tbsCertList: non-minimal length$/,
    ],
    ['empty tbsCertList', seq(seq(), ALG, bitString(new Uint8Array(2))), 'ERR_DER', /^signature: missing$/],
    [
      'BER length inside the inner algorithm',
      crl({ innerAlg: seq(ber(oid('1.2.840.10045.4.3.2'))) }),
      'ERR_DER',
      /^signature: non-minimal length$/,
    ],
    [
      'BER length of a revoked entry',
      crl({ revoked: seq(ber(entry([1]))) }),
      'ERR_DER',
      /^revokedCertificates: non-minimal length$/,
    ],
    [
      'BER length inside a revoked entry',
      crl({ revoked: seq(seq(ber(unsignedInteger(new Uint8Array([1]))), time(THIS))) }),
      'ERR_DER',
      /^revoked entry: non-minimal length$/,
    ],
    ['outer algorithm not a SEQUENCE', crl({ outerAlg: notSeq }), 'ERR_DER', /^signatureAlgorithm: expected tag 0x30/],
    ['outer algorithm not an OID', crl({ outerAlg: seq(smallInteger(1)) }), 'ERR_DER', /^signatureAlgorithm: /],
    [
      'outer algorithm ecdsa-with-SHA384',
      crl({ outerAlg: seq(oid('1.2.840.10045.4.3.3')) }),
      'ERR_CRL_FORMAT',
      /^CRL: signature algorithm 1\.2\.840\.10045\.4\.3\.3 is not ecdsa-with-SHA256$/,
    ],
    ['signature not a BIT STRING', crl({ signature: smallInteger(1) }), 'ERR_DER', /^signatureValue: expected tag 0x3/],
    [
      'signature with unused bits',
      crl({ signature: bitString(new Uint8Array([1, 2]), 1) }),
      'ERR_CRL_FORMAT',
      /^CRL: signature BIT STRING has unused bits$/,
    ],
    [
      'tbsCertList not a SEQUENCE',
      seq(smallInteger(1), ALG, bitString(new Uint8Array(2))),
      'ERR_DER',
      /^tbsCertList: expected tag 0x30/,
    ],
    ['version 1 (v1 stated)', crl({ version: smallInteger(0) }), 'ERR_CRL_FORMAT', /^CRL: version is not v2$/],
    ['version 3', crl({ version: smallInteger(2) }), 'ERR_CRL_FORMAT', /^CRL: version is not v2$/],
    ['version negative', crl({ version: new Uint8Array([2, 1, 0xff]) }), 'ERR_DER', /^version: negative integer$/],
    ['inner algorithm not a SEQUENCE', crl({ innerAlg: notSeq }), 'ERR_DER', /^signature: expected tag 0x30/],
    ['inner algorithm not an OID', crl({ innerAlg: seq(smallInteger(1)) }), 'ERR_DER', /^signature: /],
    [
      'inner algorithm differs',
      crl({ innerAlg: seq(oid('1.2.840.10045.4.3.3')) }),
      'ERR_CRL_FORMAT',
      /^CRL: inner and outer signature algorithms differ$/,
    ],
    ['issuer not a SEQUENCE', crl({ issuer: notSeq }), 'ERR_DER', /^issuer: expected tag 0x30/],
    ['thisUpdate not a time', crl({ thisUpdate: notSeq }), 'ERR_DER', /^thisUpdate: /],
    ['no nextUpdate, revoked list next', crl({ nextUpdate: null }), 'ERR_CRL_FORMAT', /^CRL: no nextUpdate$/],
    [
      'no nextUpdate, nothing next',
      crl({ nextUpdate: null, revoked: null, extensions: null }),
      'ERR_CRL_FORMAT',
      /^CRL: no nextUpdate$/,
    ],
    ['nextUpdate malformed', crl({ nextUpdate: new Uint8Array([0x17, 2, 0x31, 0x32]) }), 'ERR_DER', /^nextUpdate: /],
    [
      'revoked entry not a SEQUENCE',
      crl({ revoked: seq(smallInteger(1)) }),
      'ERR_DER',
      /^revoked entry: expected tag 0x30/,
    ],
    [
      'revoked entry serial not an INTEGER',
      crl({ revoked: seq(seq(time(THIS), time(THIS))) }),
      'ERR_DER',
      /^userCertificate: /,
    ],
    [
      'revoked entry without a date',
      crl({ revoked: seq(seq(smallInteger(5))) }),
      'ERR_DER',
      /^revocationDate: missing$/,
    ],
    [
      'extensions before the revoked list',
      crl({ revoked: null, extra: [seq(entry([1]))] }),
      'ERR_CRL_FORMAT',
      /^CRL: unexpected elements in tbsCertList$/,
    ],
    [
      'an element after the extensions',
      crl({ extra: [smallInteger(0)] }),
      'ERR_CRL_FORMAT',
      /^CRL: unexpected elements in tbsCertList$/,
    ],
    [
      'two revoked lists',
      crl({ extensions: null, extra: [seq(entry([1]))] }),
      'ERR_CRL_FORMAT',
      /^CRL: unexpected elements in tbsCertList$/,
    ],
  ];
  for (const [what, der, code, message] of cases) {
    assert.throws(() => parseCrl(der, new VerificationCache()), { code, message }, what);
  }
});

test('checkCrl: the result of a signature check is remembered per (CRL, issuer) pair', () => {
  const cache = new VerificationCache();
  const good = loadCert(issuerCert, cache);
  // The same name, another key: a CRL that verifies with `good` does not with it.
  const k2 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const n = name('CRL Issuer');
  const tbs = tbsCertificate({
    serial: new Uint8Array([2]),
    issuer: n,
    subject: n,
    notBefore: THIS,
    notAfter: NEXT,
    spki: spkiP256(p256PublicRaw(k2.publicKey)),
    extensions: [],
  });
  const impostor = loadCert(signedX509(tbs, new Uint8Array(sign('sha256', tbs, k2.privateKey))), cache);
  const c = parseCrl(crl(), cache);
  assert.equal(checkCrl(c, good, THIS, cache), undefined);
  assert.equal(checkCrl(c, impostor, THIS, cache), 'signature does not verify with the key of "CN=CRL Issuer"');
  assert.equal(checkCrl(c, good, THIS, cache), undefined);
  const c2 = parseCrl(crl({ revoked: null }), cache);
  assert.equal(checkCrl(c2, impostor, THIS, cache), 'signature does not verify with the key of "CN=CRL Issuer"');
  assert.equal(checkCrl(c2, good, THIS, cache), undefined);
});

/** Intel's Root CA CRL and Processor PCK CRL, with the certificates that issue them. */
function intel() {
  const cache = new VerificationCache();
  const root = loadCert(vector('intel_sgx_root_ca.der'), cache);
  const text = Buffer.from(vector('sgx-v3-zkdcap/quote.dat')).toString('latin1');
  const end = '-----END CERTIFICATE-----';
  const pem = text.slice(text.indexOf('-----BEGIN CERTIFICATE-----'), text.lastIndexOf(end) + end.length);
  const processorCa = pemCertificates(pem)
    .map((d) => loadCert(d, cache))
    .find((c) => c.cn === 'Intel SGX PCK Processor CA');
  assert.ok(processorCa);
  return { cache, root, processorCa };
}

test(
  'Intel CRLs read as @peculiar/x509 reads them, and check against their real issuers',
  { skip: skipWithoutVectors },
  () => {
    const { cache, root, processorCa } = intel();
    for (const [file, issuer] of [
      ['sgx-v3-zkdcap/root_ca_crl.der', root],
      ['sgx-v3-zkdcap/pck_processor_crl.der', processorCa],
    ] as const) {
      const der = vector(file);
      const c = parseCrl(der, cache);
      const oracle = new x509.X509Crl(Buffer.from(der));
      assert.equal(c.thisUpdate.getTime(), oracle.thisUpdate.getTime(), file);
      assert.equal(c.nextUpdate.getTime(), oracle.nextUpdate?.getTime(), file);
      assert.deepEqual(
        [...c.revoked].sort(),
        oracle.entries.map((e) => BigInt(`0x${e.serialNumber}`).toString(16)).sort(),
        file,
      );
      assert.equal(hex(c.issuer), hex(new Uint8Array(oracle.issuerName.toArrayBuffer())), file);
      assert.equal(checkCrl(c, issuer, c.thisUpdate, cache), undefined, file);
      const wrong = issuer === root ? processorCa : root;
      assert.equal(
        checkCrl(c, wrong, c.thisUpdate, cache),
        `issued by someone other than "${wrong.subjectText}"`,
        file,
      );
    }
  },
);

test('Intel CRLs: any one byte of the signed part changed no longer verifies', { skip: skipWithoutVectors }, () => {
  const { cache, root } = intel();
  const der = vector('sgx-v3-zkdcap/root_ca_crl.der');
  const good = parseCrl(der, cache);
  // The last byte of the issuer name (inside the TBS, a string's last character): still parses.
  const at = Buffer.from(der).indexOf(Buffer.from(good.issuer)) + good.issuer.length - 1;
  const altered = new Uint8Array(der);
  altered[at] ^= 0x01;
  const c = parseCrl(altered, cache);
  assert.notEqual(c, good);
  const issuerWithAlteredName = { ...root, subject: c.issuer };
  assert.equal(
    checkCrl(c, issuerWithAlteredName, good.thisUpdate, cache),
    `signature does not verify with the key of "${root.subjectText}"`,
  );
});
