import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pemCertificates } from '../../../src/attestation/pem.ts';
import { context, octetString, oid, seq, smallInteger, tlv } from '../../../src/formats/der-writer.ts';
import {
  certificateExtension,
  parsePckExtension,
  pckExtensionFromCertificate,
  SGX_EXTENSION_OID,
} from '../../../src/formats/pck-extension.ts';
import { parseQuote } from '../../../src/formats/quote.ts';
import { skipWithoutVectors, vector } from '../../helpers/vectors.ts';

/** The SGX extension of Intel's own PCK certificates (../shared/vectors), and each structural refusal by its code. */
const code = (c: string) => (e: unknown) => {
  assert.equal((e as { code?: string }).code, c, (e as Error).message);
  return true;
};
const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');
const chainOf = (path: string) =>
  pemCertificates(
    Buffer.from(parseQuote(vector(path), { allowZeroPadding: true }).signatureData.qe.certification.data).toString(
      'latin1',
    ),
  );

test(
  "Intel's PCK leaves carry the extension the README states; the CA certificates carry none",
  { skip: skipWithoutVectors },
  () => {
    const [leaf, ca, root] = chainOf('sgx-v3-phala/quote.dat');
    const e = pckExtensionFromCertificate(leaf);
    assert.equal(hexOf(e.fmspc), '00a067110000');
    assert.equal(hexOf(e.pceId), '0000');
    assert.equal(e.tcb.pceSvn, 13);
    assert.deepEqual(e.tcb.components, [11, 11, 2, 2, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(e.ppid.length, 16);
    assert.equal(e.tcb.cpuSvn.length, 16);
    assert.deepEqual([...e.tcb.cpuSvn], e.tcb.components);
    assert.equal(e.sgxType, 0);
    assert.equal(e.platformInstanceId, undefined);
    assert.equal(e.configuration, undefined);
    for (const c of [ca, root]) {
      assert.equal(certificateExtension(c, SGX_EXTENSION_OID), undefined);
      assert.throws(() => pckExtensionFromCertificate(c), code('ERR_PCK_EXTENSION'));
    }
    // basicConstraints (2.5.29.19) of the root: SEQUENCE { BOOLEAN TRUE, INTEGER 1 }.
    assert.equal(hexOf(certificateExtension(root, '2.5.29.19')!), '30060101ff020101');
    const zk = pckExtensionFromCertificate(chainOf('sgx-v3-zkdcap/quote.dat')[0]);
    assert.equal(zk.tcb.pceSvn, 13);
    assert.deepEqual(zk.tcb.components.slice(0, 8), [21, 21, 2, 4, 1, 128, 14, 0]);
    assert.equal(hexOf(zk.fmspc), '00906ed50000');
    const tdx = pckExtensionFromCertificate(chainOf('tdx-v4-phala/quote.dat')[0]);
    assert.equal(hexOf(tdx.fmspc), 'b0c06f000000');
    assert.equal(tdx.platformInstanceId?.length, 16);
    assert.equal(typeof tdx.configuration?.dynamicPlatform, 'boolean');
    assert.equal(typeof tdx.configuration?.cachedKeys, 'boolean');
    assert.equal(typeof tdx.configuration?.smtEnabled, 'boolean');
  },
);

/** A certificate skeleton: Certificate { tbs { [0] version, …, [3] { extensions } } }; only what certificateExtension walks. */
const ext = (id: string, value: Uint8Array, critical = false) =>
  seq(oid(id), ...(critical ? [tlv(0x01, Uint8Array.of(0xff))] : []), octetString(value));
const cert = (...extensions: Uint8Array[]) =>
  seq(seq(context(0, true, smallInteger(2)), smallInteger(1), context(3, true, seq(...extensions))));

test('certificateExtension: found, absent, critical flag skipped, twice refused; no extensions block at all is absent', () => {
  assert.equal(hexOf(certificateExtension(cert(ext('1.2.3', Uint8Array.of(9))), '1.2.3')!), '09');
  assert.equal(
    hexOf(certificateExtension(cert(ext('1.2.4', Uint8Array.of(1)), ext('1.2.3', Uint8Array.of(9), true)), '1.2.3')!),
    '09',
  );
  assert.equal(certificateExtension(cert(ext('1.2.4', Uint8Array.of(1))), '1.2.3'), undefined);
  assert.throws(
    () => certificateExtension(cert(ext('1.2.3', Uint8Array.of(1)), ext('1.2.3', Uint8Array.of(2))), '1.2.3'),
    code('ERR_PCK_EXTENSION'),
  );
  assert.equal(certificateExtension(seq(seq(smallInteger(1))), '1.2.3'), undefined);
  assert.throws(() => certificateExtension(Uint8Array.of(0x30, 0x01), '1.2.3'), code('ERR_DER'));
  assert.throws(() => pckExtensionFromCertificate(cert(ext('1.2.3', Uint8Array.of(9)))), code('ERR_PCK_EXTENSION'));
});

/** A valid extension value built here (the profile's ASN.1), with hooks to break one thing. */
const entry = (arc: string, value: Uint8Array) => seq(oid(`${SGX_EXTENSION_OID}.${arc}`), value);
const int = (n: number, tag = 0x02) => {
  const d = smallInteger(n);
  d[0] = tag;
  return d;
};
function extension(o: { tcbExtra?: Uint8Array[]; top?: Uint8Array[]; comp16?: Uint8Array; pceSvn?: Uint8Array } = {}) {
  const comps = Array.from({ length: 16 }, (_, i) => entry(`2.${i + 1}`, i === 15 && o.comp16 ? o.comp16 : int(i)));
  const tcb = seq(
    ...comps,
    entry('2.17', o.pceSvn ?? int(300)),
    entry('2.18', octetString(new Uint8Array(16))),
    ...(o.tcbExtra ?? []),
  );
  return seq(
    entry('1', octetString(new Uint8Array(16))),
    entry('2', tcb),
    entry('3', octetString(new Uint8Array(2))),
    entry('4', octetString(new Uint8Array(6))),
    entry('5', int(1, 0x0a)),
    ...(o.top ?? []),
  );
}

test('parsePckExtension: the boundaries of each field, and each malformed piece refused as ERR_PCK_EXTENSION', () => {
  const base = parsePckExtension(extension());
  assert.deepEqual(base.tcb.components, [...Array(16).keys()]);
  assert.equal(base.tcb.pceSvn, 300);
  assert.equal(base.sgxType, 1);
  assert.equal(parsePckExtension(extension({ comp16: int(255) })).tcb.components[15], 255);
  assert.equal(parsePckExtension(extension({ pceSvn: int(0xffff) })).tcb.pceSvn, 0xffff);
  const bad = (b: Uint8Array, why: string) => assert.throws(() => parsePckExtension(b), code('ERR_PCK_EXTENSION'), why);
  bad(extension({ comp16: int(256) }), 'component 256');
  bad(extension({ pceSvn: int(0x10000) }), 'PCESVN 65536');
  bad(extension({ tcbExtra: [entry('2.19', int(1))] }), 'a 19th TCB entry');
  bad(extension({ top: [entry('6', octetString(new Uint8Array(15)))] }), 'PlatformInstanceID of 15 bytes');
  bad(extension({ top: [entry('7', seq(entry('7.4', tlv(0x01, Uint8Array.of(0)))))] }), 'unknown Configuration entry');
  bad(extension({ top: [entry('7', seq(entry('7.1', tlv(0x01, Uint8Array.of(1)))))] }), 'BOOLEAN 01');
  bad(extension({ top: [entry('7', seq(entry('7.1', tlv(0x01, Uint8Array.of(0, 0)))))] }), 'BOOLEAN of 2 bytes');
  // A wrong tag inside an entry: the DER reader's refusal, reported as the extension's (ERR_PCK_EXTENSION).
  bad(
    extension({ top: [entry('7', seq(entry('7.1', tlv(0x02, Uint8Array.of(0)))))] }),
    'Configuration BOOLEAN as INTEGER',
  );
  bad(extension({ top: [entry('6', tlv(0x02, new Uint8Array(16)))] }), 'PlatformInstanceID as INTEGER');
  bad(extension({ top: [entry('7', octetString(new Uint8Array(2)))] }), 'Configuration as OCTET STRING');
  bad(extension({ comp16: octetString(Uint8Array.of(1)) }), 'a TCB component as OCTET STRING');
  bad(extension({ pceSvn: int(300, 0x0a) }), 'PCESVN as ENUMERATED');
  bad(extension({ tcbExtra: [seq(oid(`${SGX_EXTENSION_OID}.2.19`))] }), 'a TCB entry of one element');
  bad(extension({ top: [seq(oid('1.2.3.4'), int(1))] }), 'an OID outside the extension');
  // …13.166 begins with the extension's OID text (…13.1) but is not under it: its "arc" would read as 6.
  bad(extension({ top: [seq(oid('1.2.840.113741.1.13.166'), octetString(new Uint8Array(16)))] }), 'OID …13.166');
  // A known entry with a third element (PlatformInstanceID, whose first two elements are right).
  bad(extension({ top: [seq(oid(`${SGX_EXTENSION_OID}.6`), octetString(new Uint8Array(16)), int(1))] }), '.6 of three');
  assert.equal(
    parsePckExtension(extension({ top: [entry('6', octetString(new Uint8Array(16)))] })).platformInstanceId?.length,
    16,
  );
  bad(extension({ top: [seq(oid(`${SGX_EXTENSION_OID}.8`), int(1), int(2))] }), 'an entry of three elements');
  bad(extension({ top: [int(5)] }), 'an entry that is not a SEQUENCE');
  bad(seq(), 'empty');
  bad(Uint8Array.of(0x04, 0x00), 'not a SEQUENCE');
  bad(Uint8Array.of(0x30, 0x05), 'truncated DER');
  const cfg = parsePckExtension(
    extension({
      top: [entry('7', seq(entry('7.3', tlv(0x01, Uint8Array.of(0xff))), entry('7.1', tlv(0x01, Uint8Array.of(0)))))],
    }),
  );
  assert.deepEqual(cfg.configuration, { smtEnabled: true, dynamicPlatform: false });
  assert.deepEqual(parsePckExtension(extension({ top: [entry('7', seq())] })).configuration, {});
});
