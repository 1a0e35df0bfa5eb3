import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { test } from 'node:test';
import { VerificationCache } from '../../../src/attestation/dcap/cache.ts';
import {
  buildChain,
  commonName,
  findLeaf,
  loadCert,
  signedBy,
  type Anchor,
  type Cert,
} from '../../../src/attestation/dcap/certs.ts';
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
import {
  basicConstraints,
  ECDSA_WITH_SHA256,
  extension,
  signedX509,
  spkiP256,
  tbsCertificate,
} from '../../../src/formats/x509-writer.ts';
import { skipWithoutVectors, vector } from '../../helpers/vectors.ts';

/**
 * The certificate handling the PCK and TCB signing chains rest on (certs.ts), driven directly: each
 * reason a chain is refused, on a small test PKI whose keys the test holds, and the Intel PCK chain
 * of a real quote.
 */

const T0 = new Date('2026-01-01T00:00:00Z');
const T1 = new Date('2027-01-01T00:00:00Z');
const p256 = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const name = (cn: string) =>
  seq(set(seq(oid('2.5.4.3'), utf8String(cn))), set(seq(oid('2.5.4.10'), utf8String('Test'))));

interface Spec {
  subject: string;
  issuer: string;
  signer: KeyObject;
  key: KeyObject;
  ca?: boolean;
  window?: [Date, Date];
  serial?: number;
  subjectDer?: Uint8Array;
}

let serial = 1;
function cert(s: Spec): Uint8Array {
  const tbs = tbsCertificate({
    serial: new Uint8Array([0x10, s.serial ?? serial++]),
    issuer: name(s.issuer),
    subject: s.subjectDer ?? name(s.subject),
    notBefore: s.window?.[0] ?? T0,
    notAfter: s.window?.[1] ?? T1,
    spki: spkiP256(p256PublicRaw(s.key)),
    extensions: [extension('2.5.29.19', true, basicConstraints(s.ca ?? false, s.ca ? 1 : undefined))],
  });
  return signedX509(tbs, new Uint8Array(sign('sha256', tbs, s.signer)));
}

/** A root, an intermediate CA and a leaf, each key held. */
function pki(
  o: { interCa?: boolean; rootCa?: boolean; windows?: Partial<Record<'root' | 'inter' | 'leaf', [Date, Date]>> } = {},
) {
  const rk = p256();
  const ik = p256();
  const lk = p256();
  const cache = new VerificationCache();
  const root = loadCert(
    cert({
      subject: 'Root',
      issuer: 'Root',
      signer: rk.privateKey,
      key: rk.publicKey,
      ca: o.rootCa ?? true,
      window: o.windows?.root,
    }),
    cache,
  );
  const inter = loadCert(
    cert({
      subject: 'Inter',
      issuer: 'Root',
      signer: rk.privateKey,
      key: ik.publicKey,
      ca: o.interCa ?? true,
      window: o.windows?.inter,
    }),
    cache,
  );
  const leaf = loadCert(
    cert({ subject: 'Leaf', issuer: 'Inter', signer: ik.privateKey, key: lk.publicKey, window: o.windows?.leaf }),
    cache,
  );
  const anchor: Anchor = { publicKeyHex: hex(p256PublicRaw(rk.publicKey)), isIntel: false };
  return { rk, ik, lk, cache, root, inter, leaf, anchor };
}

const AT = new Date('2026-06-01T00:00:00Z');
const ids = (chain: Cert[]) => chain.map((c) => c.cn);

test('buildChain: leaf → intermediate → root by name and signature, from a pool of exactly those', () => {
  const p = pki();
  const other = { publicKeyHex: hex(p256PublicRaw(p256().publicKey)), isIntel: true };
  const r = buildChain(p.leaf, [p.root, p.inter], [other, p.anchor], AT, p.cache);
  assert.equal(r.ok, true);
  assert.deepEqual(ids(r.chain), ['Leaf', 'Inter', 'Root']);
  assert.equal(r.ok && r.anchor, p.anchor, 'the anchor whose key the root holds');
});

test('buildChain: a certificate that holds the issuer key under another name is passed over', () => {
  const p = pki();
  const renamed = loadCert(
    cert({ subject: 'Renamed', issuer: 'Renamed', signer: p.ik.privateKey, key: p.ik.publicKey, ca: true }),
    p.cache,
  );
  const r = buildChain(p.leaf, [renamed, p.inter, p.root], [p.anchor], AT, p.cache);
  assert.equal(r.ok, true);
  assert.deepEqual(ids(r.chain), ['Leaf', 'Inter', 'Root']);
});

test('buildChain: an impostor issuer (same name, other key) earlier in the pool is passed over', () => {
  const p = pki();
  const fake = p256();
  const impostor = loadCert(
    cert({ subject: 'Inter', issuer: 'Root', signer: p.rk.privateKey, key: fake.publicKey, ca: true }),
    p.cache,
  );
  const r = buildChain(p.leaf, [impostor, p.root, p.inter], [p.anchor], AT, p.cache);
  assert.equal(r.ok, true);
  assert.equal(r.chain[1], p.inter);
});

test('buildChain: each refusal names its reason', () => {
  const p = pki();
  const refuse = (leaf: Cert, pool: Cert[], anchors: Anchor[], at = AT, cache = p.cache) => {
    const r = buildChain(leaf, pool, anchors, at, cache);
    assert.equal(r.ok, false);
    return r.ok ? '' : r.reason;
  };
  assert.equal(refuse(p.leaf, [p.root], [p.anchor]), 'no certificate named "CN=Inter, O=Test" signs "Leaf"');
  assert.equal(refuse(p.leaf, [p.inter, p.root], []), 'the chain ends at "Root", whose key is not a trusted root');
  assert.equal(
    refuse(p.leaf, [p.inter, p.root], [{ publicKeyHex: hex(p256PublicRaw(p.ik.publicKey)), isIntel: false }]),
    'the chain ends at "Root", whose key is not a trusted root',
  );
  // A self-issued certificate that holds the anchor's key but is signed by another key.
  const forged = loadCert(
    cert({ subject: 'Root', issuer: 'Root', signer: p256().privateKey, key: p.rk.publicKey, ca: true }),
    p.cache,
  );
  assert.equal(refuse(p.leaf, [p.inter, forged], [p.anchor]), 'root "Root": self-signature does not verify');
});

test('buildChain: a key that is not P-256 (publicKeyHex "") never matches an anchor stated as ""', () => {
  const ed = generateKeyPairSync('ed25519');
  const n = name('Ed Root');
  const tbs = seq(
    context(0, true, smallInteger(2)),
    unsignedInteger(new Uint8Array([7])),
    seq(oid('1.3.101.112')),
    n,
    seq(time(T0), time(T1)),
    n,
    new Uint8Array(ed.publicKey.export({ type: 'spki', format: 'der' })),
  );
  const der = seq(tbs, seq(oid('1.3.101.112')), bitString(new Uint8Array(sign(null, tbs, ed.privateKey))));
  const cache = new VerificationCache();
  const root = loadCert(der, cache);
  assert.equal(root.publicKeyHex, '');
  assert.equal(root.selfIssued, true);
  const r = buildChain(root, [], [{ publicKeyHex: '', isIntel: false }], AT, cache);
  assert.equal(r.ok ? '' : r.reason, 'the chain ends at "Ed Root", whose key is not a trusted root');
});

test('buildChain: every certificate must be valid at `at`, bounds inclusive', () => {
  for (const which of ['leaf', 'inter', 'root'] as const) {
    const from = new Date('2026-03-01T00:00:00Z');
    const to = new Date('2026-09-01T00:00:00Z');
    const p = pki({ windows: { [which]: [from, to] } });
    const at = (d: Date) => buildChain(p.leaf, [p.inter, p.root], [p.anchor], d, p.cache);
    assert.equal(at(from).ok, true, `${which}: at notBefore`);
    assert.equal(at(to).ok, true, `${which}: at notAfter`);
    const before = at(new Date(from.getTime() - 1));
    const after = at(new Date(to.getTime() + 1));
    const cn = which === 'leaf' ? 'Leaf' : which === 'inter' ? 'Inter' : 'Root';
    assert.equal(
      before.ok ? '' : before.reason,
      `"${cn}" is not valid at 2026-02-28T23:59:59.999Z (valid 2026-03-01T00:00:00.000Z to 2026-09-01T00:00:00.000Z)`,
    );
    assert.equal(
      after.ok ? '' : after.reason,
      `"${cn}" is not valid at 2026-09-01T00:00:00.001Z (valid 2026-03-01T00:00:00.000Z to 2026-09-01T00:00:00.000Z)`,
    );
  }
});

test('buildChain: every issuer must be a CA (the leaf need not be)', () => {
  const notCaInter = pki({ interCa: false });
  const r1 = buildChain(
    notCaInter.leaf,
    [notCaInter.inter, notCaInter.root],
    [notCaInter.anchor],
    AT,
    notCaInter.cache,
  );
  assert.equal(r1.ok ? '' : r1.reason, '"Inter" issues certificates but is not a CA');
  const notCaRoot = pki({ rootCa: false });
  const r2 = buildChain(notCaRoot.leaf, [notCaRoot.inter, notCaRoot.root], [notCaRoot.anchor], AT, notCaRoot.cache);
  assert.equal(r2.ok ? '' : r2.reason, '"Root" issues certificates but is not a CA');
  assert.equal(notCaRoot.leaf.isCa, false);
  assert.equal(notCaRoot.inter.isCa, true);
});

test('buildChain: two CAs that sign each other form a loop, refused as such', () => {
  const a = p256();
  const b = p256();
  const cache = new VerificationCache();
  const ca = loadCert(cert({ subject: 'A', issuer: 'B', signer: b.privateKey, key: a.publicKey, ca: true }), cache);
  const cb = loadCert(cert({ subject: 'B', issuer: 'A', signer: a.privateKey, key: b.publicKey, ca: true }), cache);
  const leaf = loadCert(cert({ subject: 'L', issuer: 'A', signer: a.privateKey, key: p256().publicKey }), cache);
  const r = buildChain(leaf, [ca, cb], [], AT, cache);
  assert.equal(r.ok ? '' : r.reason, 'the certificates form a loop');
  assert.deepEqual(ids(r.chain), ['L', 'A', 'B']);
});

test('signedBy: the result is remembered per (child, issuer) pair, never for another issuer', () => {
  const p = pki();
  assert.equal(signedBy(p.leaf, p.inter, p.cache), true);
  assert.equal(signedBy(p.leaf, p.root, p.cache), false);
  assert.equal(signedBy(p.inter, p.root, p.cache), true);
  assert.equal(signedBy(p.root, p.inter, p.cache), false);
  assert.equal(signedBy(p.leaf, p.inter, p.cache), true);
});

test('signedBy: an issuer key of another type is a "no", not an exception', () => {
  const ed = generateKeyPairSync('ed25519');
  const n = name('Ed');
  const tbs = seq(
    context(0, true, smallInteger(2)),
    unsignedInteger(new Uint8Array([9])),
    seq(oid('1.3.101.112')),
    n,
    seq(time(T0), time(T1)),
    n,
    new Uint8Array(ed.publicKey.export({ type: 'spki', format: 'der' })),
  );
  const cache = new VerificationCache();
  const edCert = loadCert(
    seq(tbs, seq(oid('1.3.101.112')), bitString(new Uint8Array(sign(null, tbs, ed.privateKey)))),
    cache,
  );
  const p = pki();
  assert.equal(signedBy(p.leaf, edCert, cache), false);
  assert.equal(signedBy(edCert, p.inter, cache), false);
});

test('findLeaf: the one certificate that issues none of the others', () => {
  const p = pki();
  assert.equal(findLeaf([p.root, p.inter, p.leaf]), p.leaf);
  assert.equal(findLeaf([p.leaf, p.leaf, p.inter]), p.leaf, 'the same certificate twice is one leaf');
  assert.equal(findLeaf([p.root]), undefined, 'a self-issued certificate is never the leaf');
  assert.equal(findLeaf([p.root, p.inter]), p.inter);
  const leaf2 = loadCert(
    cert({ subject: 'Leaf2', issuer: 'Inter', signer: p.ik.privateKey, key: p256().publicKey }),
    p.cache,
  );
  assert.equal(findLeaf([p.leaf, leaf2, p.inter]), undefined, 'two leaves: none');
  assert.equal(findLeaf([]), undefined);
  // A certificate named like a self-issued root it does not issue is still a leaf: a self-issued
  // certificate issues nothing but itself.
  const k = p256();
  const cross = loadCert(
    cert({ subject: 'Root', issuer: 'Other', signer: k.privateKey, key: k.publicKey, ca: true }),
    p.cache,
  );
  assert.equal(findLeaf([cross, p.root]), cross);
});

test('loadCert: names, serial, validity, CA flag, key', () => {
  const p = pki();
  assert.equal(p.leaf.subjectText, 'CN=Leaf, O=Test');
  assert.equal(p.leaf.issuerText, 'CN=Inter, O=Test');
  assert.equal(p.leaf.cn, 'Leaf');
  assert.equal(commonName(p.leaf), 'Leaf');
  assert.equal(hex(p.leaf.subject), hex(name('Leaf')));
  assert.equal(hex(p.leaf.issuer), hex(name('Inter')));
  assert.equal(p.leaf.notBefore.toISOString(), T0.toISOString());
  assert.equal(p.leaf.notAfter.toISOString(), T1.toISOString());
  assert.equal(p.leaf.selfIssued, false);
  assert.equal(p.root.selfIssued, true);
  assert.equal(p.leaf.publicKeyHex, hex(p256PublicRaw(p.lk.publicKey)));
  assert.equal(p.leaf.publicKey, p.leaf.publicKey, 'the key object is made once');
  assert.match(p.leaf.serial, /^10[0-9a-f]{2}$/);
  assert.notEqual(p.leaf.id, p.inter.id);
  assert.equal(loadCert(new Uint8Array(p.leaf.der), p.cache), p.leaf, 'the same bytes: the same parsed certificate');
});

test('loadCert: a subject without CN is named by its whole text; CN need not come first', () => {
  const k = p256();
  const oOnly = seq(set(seq(oid('2.5.4.10'), utf8String('Only Org'))));
  const c1 = loadCert(
    cert({ subject: '', subjectDer: oOnly, issuer: 'X', signer: k.privateKey, key: k.publicKey }),
    new VerificationCache(),
  );
  assert.equal(c1.cn, 'O=Only Org');
  const oFirst = seq(set(seq(oid('2.5.4.10'), utf8String('Org'))), set(seq(oid('2.5.4.3'), utf8String('Name'))));
  const c2 = loadCert(
    cert({ subject: '', subjectDer: oFirst, issuer: 'X', signer: k.privateKey, key: k.publicKey }),
    new VerificationCache(),
  );
  assert.equal(c2.subjectText, 'O=Org, CN=Name');
  assert.equal(c2.cn, 'Name');
});

test('loadCert: a v1 certificate (no version field) is read at the right offsets', () => {
  const k = p256();
  const tbs = seq(
    unsignedInteger(new Uint8Array([0x42])),
    ECDSA_WITH_SHA256,
    name('V1 Issuer'),
    seq(time(T0), time(T1)),
    name('V1 Subject'),
    spkiP256(p256PublicRaw(k.publicKey)),
  );
  const c = loadCert(signedX509(tbs, new Uint8Array(sign('sha256', tbs, k.privateKey))), new VerificationCache());
  assert.equal(c.serial, '42');
  assert.equal(c.cn, 'V1 Subject');
  assert.equal(hex(c.issuer), hex(name('V1 Issuer')));
  assert.equal(c.notAfter.toISOString(), T1.toISOString());
  assert.equal(c.publicKeyHex, hex(p256PublicRaw(k.publicKey)));
});

test('publicKeyHex: only an uncompressed P-256 key (id-ecPublicKey, prime256v1) has one', () => {
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const ed = generateKeyPairSync('ed25519');
  const k = p256();
  const withSpki = (spki: Uint8Array, signer = k.privateKey) => {
    const n = name('K');
    const tbs = tbsCertificate({
      serial: new Uint8Array([1]),
      issuer: n,
      subject: n,
      notBefore: T0,
      notAfter: T1,
      spki,
      extensions: [],
    });
    return loadCert(signedX509(tbs, new Uint8Array(sign('sha256', tbs, signer))), new VerificationCache());
  };
  assert.equal(withSpki(new Uint8Array(p384.publicKey.export({ type: 'spki', format: 'der' }))).publicKeyHex, '');
  assert.equal(withSpki(new Uint8Array(ed.publicKey.export({ type: 'spki', format: 'der' }))).publicKeyHex, '');
  const point = p256PublicRaw(k.publicKey);
  const alg = seq(oid('1.2.840.10045.2.1'), oid('1.2.840.10045.3.1.7'));
  const comp = new Uint8Array(33);
  comp[0] = 2 + (point[63] & 1);
  comp.set(point.subarray(0, 32), 1);
  assert.equal(withSpki(seq(alg, bitString(comp))).publicKeyHex, '', 'compressed point');
  const ok = withSpki(seq(alg, bitString(new Uint8Array([4, ...point]))));
  assert.equal(ok.publicKeyHex, hex(point), 'the same point uncompressed');
  // OpenSSL reads each of these certificates (it decodes the key only when asked); none has a P-256 key.
  const cases: Array<[string, Uint8Array]> = [
    ['unused bits in the key BIT STRING', seq(alg, bitString(new Uint8Array([4, ...point]), 1))],
    ['a 65-byte key that is not an uncompressed point', seq(alg, bitString(new Uint8Array([5, ...point])))],
    [
      'NULL curve parameters',
      seq(seq(oid('1.2.840.10045.2.1'), new Uint8Array([5, 0])), bitString(new Uint8Array([4, ...point]))),
    ],
    ['no curve parameters', seq(seq(oid('1.2.840.10045.2.1')), bitString(new Uint8Array([4, ...point])))],
    ['04 and an X coordinate only', seq(alg, bitString(new Uint8Array([4, ...point.subarray(0, 32)])))],
    [
      'curve P-384 named',
      seq(seq(oid('1.2.840.10045.2.1'), oid('1.3.132.0.34')), bitString(new Uint8Array([4, ...point]))),
    ],
    [
      'another algorithm with the P-256 curve',
      seq(seq(oid('1.2.840.10045.2.2'), oid('1.2.840.10045.3.1.7')), bitString(new Uint8Array([4, ...point]))),
    ],
  ];
  for (const [what, spki] of cases) assert.equal(withSpki(spki).publicKeyHex, '', what);
});

test(
  'Intel vectors: the PCK chain of a real quote builds to the pinned Intel root',
  { skip: skipWithoutVectors },
  () => {
    const cache = new VerificationCache();
    const quote = vector('sgx-v3-phala/quote.dat');
    const text = Buffer.from(quote).toString('latin1');
    const end = '-----END CERTIFICATE-----';
    const pem = text.slice(text.indexOf('-----BEGIN CERTIFICATE-----'), text.lastIndexOf(end) + end.length);
    const certs = pemCertificates(pem).map((d) => loadCert(d, cache));
    const intelRoot = loadCert(vector('intel_sgx_root_ca.der'), cache);
    assert.equal(certs.length, 3);
    const leaf = findLeaf(certs);
    assert.ok(leaf);
    assert.equal(leaf.cn, 'Intel SGX PCK Certificate');
    assert.equal(leaf.isCa, false);
    const x = new X509Certificate(leaf.der);
    assert.equal(leaf.serial, BigInt(`0x${x.serialNumber}`).toString(16));
    assert.equal(leaf.notBefore.getTime(), Date.parse(x.validFrom));
    assert.equal(leaf.notAfter.getTime(), Date.parse(x.validTo));
    const anchor: Anchor = { publicKeyHex: intelRoot.publicKeyHex, isIntel: true, cert: intelRoot };
    assert.equal(
      intelRoot.publicKeyHex,
      '0ba9c4c0c0c86193a3fe23d6b02cda10a8bbd4e88e48b4458561a36e705525f567918e2edc88e40d860bd0cc4ee26aacc988e505a953558c453f6b0904ae7394',
      'the key the vectors README pins',
    );
    const at = new Date(Math.max(...certs.map((c) => c.notBefore.getTime())) + 1000);
    const r = buildChain(leaf, certs, [anchor], at, cache);
    assert.equal(r.ok, true);
    assert.deepEqual(ids(r.chain), ['Intel SGX PCK Certificate', 'Intel SGX PCK Processor CA', 'Intel SGX Root CA']);
    assert.equal(r.ok && r.anchor, anchor);
    const late = buildChain(leaf, certs, [anchor], new Date(leaf.notAfter.getTime() + 1), cache);
    assert.match(late.ok ? '' : late.reason, /^"Intel SGX PCK Certificate" is not valid at /);
  },
);

test('loadCert: what OpenSSL reads but strict DER refuses is refused, naming the part (ERR_DER)', () => {
  const k = p256();
  const n = name('K');
  const point = p256PublicRaw(k.publicKey);
  const alg = seq(oid('1.2.840.10045.2.1'), oid('1.2.840.10045.3.1.7'));
  // A long-form length where the short form fits: BER, which OpenSSL accepts and DER forbids.
  const ber = (x: Uint8Array) => new Uint8Array([x[0], 0x81, x[1], ...x.subarray(2)]);
  const enc = (s: string) => new TextEncoder().encode(s);
  const mk = (p: { validity?: Uint8Array; spki?: Uint8Array; issuer?: Uint8Array; sigAlg?: Uint8Array }) => {
    const tbs = seq(
      context(0, true, smallInteger(2)),
      unsignedInteger(new Uint8Array([1])),
      ECDSA_WITH_SHA256,
      p.issuer ?? n,
      p.validity ?? seq(time(T0), time(T1)),
      n,
      p.spki ?? spkiP256(point),
    );
    return seq(tbs, p.sigAlg ?? ECDSA_WITH_SHA256, bitString(new Uint8Array(sign('sha256', tbs, k.privateKey))));
  };
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['unreadable', new Uint8Array([1, 2, 3]), /^certificate: unreadable \(/],
    ['a trailing byte', new Uint8Array([...mk({}), 0]), /^certificate: 1 trailing bytes$/],
    ['BER length inside the certificate', mk({ sigAlg: ber(ECDSA_WITH_SHA256) }), /^certificate: non-minimal length$/],
    ['BER length inside tbsCertificate', mk({ issuer: ber(n) }), /^tbsCertificate: non-minimal length$/],
    ['BER length inside validity', mk({ validity: seq(ber(time(T0)), time(T1)) }), /^validity: non-minimal length$/],
    [
      'notBefore without seconds',
      mk({ validity: seq(new Uint8Array([0x17, 11, ...enc('2601010000Z')]), time(T1)) }),
      /^notBefore: not a DER UTCTime/,
    ],
    [
      'notAfter without seconds',
      mk({ validity: seq(time(T0), new Uint8Array([0x17, 11, ...enc('2701010000Z')])) }),
      /^notAfter: not a DER UTCTime/,
    ],
    [
      'BER length inside subjectPublicKeyInfo',
      mk({ spki: seq(ber(alg), bitString(new Uint8Array([4, ...point]))) }),
      /^subjectPublicKeyInfo: non-minimal length$/,
    ],
    [
      'BER length inside the key algorithm',
      mk({
        spki: seq(
          seq(oid('1.2.840.10045.2.1'), ber(oid('1.2.840.10045.3.1.7'))),
          bitString(new Uint8Array([4, ...point])),
        ),
      }),
      /^algorithm: non-minimal length$/,
    ],
  ];
  for (const [what, der, message] of cases) {
    assert.throws(() => loadCert(der, new VerificationCache()), { code: 'ERR_DER', message }, what);
  }
});
