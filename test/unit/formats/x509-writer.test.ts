import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as asn1js from 'asn1js';
import { x509 } from '../../helpers/peculiar-oracle.ts';
import { parseDer, children, TAG } from '../../../src/formats/der-reader.ts';
import {
  bitString,
  boolean,
  context,
  oid,
  octetString,
  seq,
  smallInteger,
  time,
} from '../../../src/formats/der-writer.ts';
import { readCertificateParts } from '../../../src/formats/x509-reader.ts';
import {
  basicConstraints,
  ECDSA_WITH_SHA256,
  extension,
  keyUsageBits,
  simpleName,
  spkiP256,
  tbsCertificate,
  wholeSeconds,
} from '../../../src/formats/x509-writer.ts';

/** The X.509 pieces Catena writes, byte for byte from RFC 5280's rules, and read back by @peculiar/x509 (not our reader). */
const h = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('keyUsageBits: RFC 5280 bit order, trailing zero bits dropped and counted as unused', () => {
  assert.equal(h(keyUsageBits(0)), '030100');
  assert.equal(h(keyUsageBits(1)), '03020780'); // digitalSignature: bit 0
  assert.equal(h(keyUsageBits(2)), '03020640'); // nonRepudiation: bit 1
  assert.equal(h(keyUsageBits(32 | 64)), '03020106'); // keyCertSign (5) ‖ cRLSign (6)
  assert.equal(h(keyUsageBits(128)), '03020001'); // encipherOnly: bit 7, no unused bit
  assert.equal(h(keyUsageBits(256)), '0303070080'); // decipherOnly: bit 8, a second byte
  assert.equal(h(keyUsageBits(1 | 256)), '0303078080');
  assert.equal(h(keyUsageBits(512)), '030100', 'bits past 8 do not exist');
});

test('basicConstraints and extension: DER omits DEFAULT FALSE; exact bytes', () => {
  assert.equal(h(basicConstraints(false)), '3000');
  assert.equal(h(basicConstraints(true)), '30030101ff');
  assert.equal(h(basicConstraints(true, 0)), '30060101ff020100');
  assert.equal(h(basicConstraints(true, 3)), '30060101ff020103');
  assert.equal(
    h(extension('2.5.29.19', false, Uint8Array.of(0x30, 0))),
    h(seq(oid('2.5.29.19'), octetString(Uint8Array.of(0x30, 0)))),
  );
  assert.equal(h(extension('2.5.29.19', true, Uint8Array.of(0x30, 0))), '300c0603551d130101ff04023000');
  assert.equal(h(extension(oid('2.5.29.19'), true, Uint8Array.of(0x30, 0))), '300c0603551d130101ff04023000');
});

test('spkiP256, simpleName, tbsCertificate: read back by @peculiar/x509', () => {
  const point = new Uint8Array(64).fill(9);
  const spki = spkiP256(point);
  assert.equal(spki.length, 91);
  assert.deepEqual(spki.subarray(26), Uint8Array.from([4, ...point]));
  assert.throws(() => spkiP256(new Uint8Array(65)), RangeError);
  const name = simpleName('leaf', 'Catena');
  assert.equal(new x509.Name(name.slice().buffer).toString(), 'CN=leaf, O=Catena');
  const tbs = (extensions: Uint8Array[]) =>
    tbsCertificate({
      serial: Uint8Array.of(0, 0x80, 1),
      issuer: simpleName('root', 'Catena'),
      subject: name,
      notBefore: new Date('2026-01-02T03:04:05.678Z'),
      notAfter: new Date('2051-01-01T00:00:00.999Z'),
      spki,
      extensions,
    });
  const withExt = children(parseDer(tbs([extension('2.5.29.19', true, basicConstraints(true, 1))])));
  assert.equal(withExt.length, 8);
  assert.equal(withExt[7].tag, 0xa3);
  assert.equal(h(withExt[1].raw), '0203008001');
  const validity = children(withExt[4]);
  assert.deepEqual(
    validity.map((v) => [v.tag, Buffer.from(v.value).toString('latin1')]),
    [
      [TAG.UTCTime, '260102030405Z'],
      [TAG.GeneralizedTime, '20510101000000Z'],
    ],
  );
  const noExt = children(parseDer(tbs([])));
  assert.equal(noExt.length, 7);
  assert.equal(wholeSeconds(new Date(1999)).getTime(), 1000);
  assert.equal(wholeSeconds(new Date(1_700_000_000_999)).getTime(), 1_700_000_000_000);
});

/** A certificate skeleton for readCertificateParts: only the shape it walks (no signature is checked). */
function skeleton(o: { version?: boolean; validity?: Uint8Array[]; extra?: Uint8Array[]; top?: Uint8Array[] } = {}) {
  const validity = o.validity ?? [time(new Date('2026-01-01T00:00:00Z')), time(new Date('2027-01-01T00:00:00Z'))];
  const tbs = seq(
    ...(o.version === false ? [] : [context(0, true, smallInteger(2))]),
    smallInteger(7),
    ECDSA_WITH_SHA256,
    simpleName('i', 'o'),
    seq(...validity),
    simpleName('s', 'o'),
    spkiP256(new Uint8Array(64).fill(1)),
    ...(o.extra ?? []),
  );
  return seq(tbs, ...(o.top ?? [ECDSA_WITH_SHA256, bitString(Uint8Array.of(0))]));
}

test('readCertificateParts: with and without the version field, unique IDs skipped, extensions with their critical flag', () => {
  const ext = context(
    3,
    true,
    seq(extension('1.2.3', true, Uint8Array.of(1)), extension('1.2.4', false, Uint8Array.of(2))),
  );
  for (const version of [true, false]) {
    const p = readCertificateParts(skeleton({ version, extra: [context(1, false, Uint8Array.of(0)), ext] }));
    assert.equal(p.notBefore.toISOString(), '2026-01-01T00:00:00.000Z');
    assert.equal(p.notAfter.toISOString(), '2027-01-01T00:00:00.000Z');
    assert.deepEqual(p.spki, spkiP256(new Uint8Array(64).fill(1)));
    assert.deepEqual(
      p.extensions.map((e) => [e.oid, e.critical, h(e.value)]),
      [
        ['1.2.3', true, '01'],
        ['1.2.4', false, '02'],
      ],
    );
  }
  const explicitFalse = context(3, true, seq(seq(oid('1.2.5'), boolean(false), octetString(Uint8Array.of(3)))));
  assert.equal(readCertificateParts(skeleton({ extra: [explicitFalse] })).extensions[0].critical, false);
  assert.deepEqual(readCertificateParts(skeleton()).extensions, []);
});

test('readCertificateParts: each structural fault is ERR_DER', () => {
  const der = (e: unknown) => (e as { code?: string }).code === 'ERR_DER';
  const t0 = time(new Date('2026-01-01T00:00:00Z'));
  for (const [why, cert] of [
    ['two top-level fields', skeleton({ top: [ECDSA_WITH_SHA256] })],
    ['four top-level fields', skeleton({ top: [ECDSA_WITH_SHA256, bitString(Uint8Array.of(0)), seq()] })],
    ['one validity time', skeleton({ validity: [t0] })],
    ['three validity times', skeleton({ validity: [t0, t0, t0] })],
    ['[3] holding two SEQUENCEs', skeleton({ extra: [context(3, true, seq(), seq())] })],
    ['an extension of one field', skeleton({ extra: [context(3, true, seq(seq(oid('1.2.3'))))] })],
    [
      'an extension of four fields',
      skeleton({
        extra: [
          context(
            3,
            true,
            seq(seq(oid('1.2.3'), boolean(true), octetString(Uint8Array.of(1)), octetString(Uint8Array.of(2)))),
          ),
        ],
      }),
    ],
    ['an empty tbsCertificate', seq(seq(), ECDSA_WITH_SHA256, bitString(Uint8Array.of(0)))],
    [
      'critical not a BOOLEAN',
      skeleton({ extra: [context(3, true, seq(seq(oid('1.2.3'), smallInteger(1), octetString(Uint8Array.of(1)))))] }),
    ],
  ] as const)
    assert.throws(() => readCertificateParts(cert), der, why);
});

test('time: UTCTime 1950–2049, GeneralizedTime otherwise with a four-digit year (0999 too), read back by asn1js', () => {
  for (const iso of [
    '1950-01-01T00:00:00.000Z',
    '2049-12-31T23:59:59.000Z',
    '1949-12-31T23:59:59.000Z',
    '2050-01-01T00:00:00.000Z',
    '0999-03-04T05:06:07.000Z',
    '9999-12-31T23:59:59.000Z',
  ]) {
    const d = new Date(iso);
    const der = time(d);
    const { offset, result } = asn1js.fromBER(new Uint8Array(der).buffer);
    assert.equal(offset, der.length, iso);
    const utc = d.getUTCFullYear() >= 1950 && d.getUTCFullYear() < 2050;
    assert.ok(result instanceof (utc ? asn1js.UTCTime : asn1js.GeneralizedTime), `${iso}: ${result.constructor.name}`);
    // asn1js: GeneralizedTime extends UTCTime.
    assert.equal((result as asn1js.UTCTime).toDate().toISOString(), iso);
  }
});

test('spkiP256: a point that is not 64 bytes (x‖y) is a RangeError', () => {
  for (const n of [0, 63, 65]) assert.throws(() => spkiP256(new Uint8Array(n)), RangeError, `${n} bytes`);
});
