import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { encodeSgxExtension, Manufacturer, SGX_EXTENSION_OID } from '../../../src/sgx/manufacturer/index.ts';
import { skipWithoutVectors, vector, vectorText } from '../../helpers/vectors.ts';
import { parsePckExtension } from '../../../src/formats/pck-extension.ts';
import { certExtensions, decodeSgxExtension, parseBer, pemBlocks, shapeOf } from './manufacturer-helpers.ts';
import { freshKeyPair } from '../../helpers/keys.ts';

const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');
const platform = {
  ppid: Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i),
  fmspc: Uint8Array.from([0x00, 0xca, 0x7e, 0x4a, 0x00, 0x00]),
  pceId: 0,
  pceSvn: 13,
  cpuSvn: Uint8Array.from([11, 11, 2, 2, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
  tcbComponents: [11, 11, 2, 2, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 128],
};
const pckKey = () => freshKeyPair('ec', { namedCurve: 'P-256' });
const m = await Manufacturer.create({ pcsUrl: 'http://127.0.0.1:9' });
const x = (der: Uint8Array) => new X509Certificate(der);

/** The three PEM certificates inside a real quote's certification data (type 5). */
function quoteChain(path: string): Uint8Array[] {
  return pemBlocks(Buffer.from(vector(path)).toString('latin1'));
}

test('root CA: self-signed, CA:TRUE, keyCertSign+cRLSign, CRL distribution point on the emulated PCS', () => {
  const root = x(m.root);
  assert.equal(root.subject, root.issuer);
  assert.match(root.subject, /CN=Catena Emulated SGX Root CA/);
  assert.ok(root.verify(root.publicKey), 'self-signature');
  assert.ok(root.ca);
  const exts = certExtensions(m.root);
  assert.deepEqual(
    exts.map((e) => e.oid),
    ['2.5.29.35', '2.5.29.31', '2.5.29.14', '2.5.29.15', '2.5.29.19'],
  );
  const ku = exts.find((e) => e.oid === '2.5.29.15')!;
  assert.equal(ku.critical, true);
  assert.equal(hexOf(ku.value), '03020106'); // keyCertSign | cRLSign, as Intel's root
  assert.match(
    Buffer.from(exts[1].value).toString('latin1'),
    /http:\/\/127\.0\.0\.1:9\/sgx\/certification\/v4\/rootcacrl/,
  );
});

test('intermediates and TCB Signing chain to the root (X509Certificate.verify), names and basic constraints as Intel', () => {
  const root = x(m.root);
  for (const [der, cn, isCa] of [
    [m.caCertificate('processor'), 'Catena Emulated SGX PCK Processor CA', true],
    [m.caCertificate('platform'), 'Catena Emulated SGX PCK Platform CA', true],
    [m.tcbSigningCertificate, 'Catena Emulated SGX TCB Signing', false],
  ] as const) {
    const c = x(der);
    assert.ok(c.verify(root.publicKey), `${cn} is signed by the root`);
    assert.ok(c.checkIssued(root), `${cn} names the root as issuer`);
    assert.match(c.subject, new RegExp(`CN=${cn}`));
    assert.equal(c.ca, isCa);
    // Signed by the root, not by itself.
    assert.equal(c.verify(c.publicKey), false);
  }
  // A certificate from another manufacturer does not verify under this root.
  assert.equal(x(m.caCertificate('processor')).verify(x(m.caCertificate('platform')).publicKey), false);
});

test('PCK certificate: signed by the chosen CA, leaf profile, SGX extension carries the platform', async () => {
  const keys = pckKey();
  const der = await m.issuePck(platform, keys.publicKey, 'processor');
  const leaf = x(der);
  assert.ok(leaf.verify(x(m.caCertificate('processor')).publicKey));
  assert.equal(leaf.verify(x(m.caCertificate('platform')).publicKey), false);
  assert.ok(leaf.publicKey.equals(keys.publicKey), "the certificate certifies the caller's key");
  assert.equal(leaf.ca, false);
  const exts = certExtensions(der);
  const sgx = exts.find((e) => e.oid === SGX_EXTENSION_OID)!;
  assert.equal(sgx.critical, false);
  assert.deepEqual(decodeSgxExtension(sgx.value), {
    ppid: hexOf(platform.ppid),
    tcbComponents: platform.tcbComponents,
    pceSvn: 13,
    cpuSvn: hexOf(platform.cpuSvn),
    pceId: '0000',
    fmspc: '00ca7e4a0000',
    sgxType: 0,
  });
  const rec = m.listPcks().at(-1)!;
  assert.equal(rec.serial, leaf.serialNumber.toLowerCase());
  assert.equal(rec.ca, 'processor');
});

test('Platform CA PCK: Scalable, with PlatformInstanceID and Configuration', async () => {
  const der = await m.issuePck(
    { ...platform, configuration: { dynamicPlatform: true, cachedKeys: false, smtEnabled: true } },
    pckKey().publicKey,
    'platform',
  );
  assert.ok(x(der).verify(x(m.caCertificate('platform')).publicKey));
  const ext = decodeSgxExtension(certExtensions(der).find((e) => e.oid === SGX_EXTENSION_OID)!.value);
  assert.equal(ext.sgxType, 1);
  assert.equal((ext.platformInstanceId as string).length, 32);
  assert.deepEqual(ext.configuration, [true, false, true]);
});

test('issuePck refuses malformed platforms and non-P-256 keys', async () => {
  const key = pckKey().publicKey;
  await assert.rejects(m.issuePck({ ...platform, ppid: new Uint8Array(15) }, key), {
    code: 'ERR_MANUFACTURER_ARGUMENT',
  });
  await assert.rejects(m.issuePck({ ...platform, tcbComponents: [1, 2, 3] }, key), {
    code: 'ERR_MANUFACTURER_ARGUMENT',
  });
  await assert.rejects(m.issuePck({ ...platform, tcbComponents: [...platform.tcbComponents.slice(1), 256] }, key), {
    code: 'ERR_MANUFACTURER_ARGUMENT',
  });
  await assert.rejects(m.issuePck({ ...platform, pceSvn: 70000 }, key), { code: 'ERR_MANUFACTURER_ARGUMENT' });
  await assert.rejects(m.issuePck(platform, freshKeyPair('ec', { namedCurve: 'P-384' }).publicKey), {
    code: 'ERR_MANUFACTURER_ARGUMENT',
  });
  await assert.rejects(m.issuePck(platform, pckKey().privateKey), { code: 'ERR_MANUFACTURER_ARGUMENT' });
});

test('the quoting-service adapter returns the leaf and [CA, root]', async () => {
  const { pck, chain } = await m.pckIssuer('platform').issuePck(platform, pckKey().publicKey);
  assert.equal(chain.length, 2);
  assert.ok(x(pck).verify(x(chain[0]).publicKey));
  assert.ok(x(chain[0]).verify(x(chain[1]).publicKey));
  assert.deepEqual(chain[1], m.root);
});

test(
  "Intel's real Processor-CA PCK leaf and ours have the same extension list and SGX-extension shape",
  { skip: skipWithoutVectors },
  async () => {
    const intel = quoteChain('sgx-v3-phala/quote.dat');
    assert.equal(intel.length, 3);
    const intelLeaf = intel[0];
    const ours = await m.issuePck(platform, pckKey().publicKey, 'processor');
    const summary = (der: Uint8Array) => certExtensions(der).map((e) => `${e.oid}${e.critical ? '!' : ''}`);
    assert.deepEqual(summary(ours), summary(intelLeaf));
    const sgx = (der: Uint8Array) => certExtensions(der).find((e) => e.oid === SGX_EXTENSION_OID)!.value;
    assert.deepEqual(shapeOf(parseBer(sgx(ours))), shapeOf(parseBer(sgx(intelLeaf))));
    // Same key usage bits and basic constraints encoding as Intel's leaf.
    const val = (der: Uint8Array, oid: string) => hexOf(certExtensions(der).find((e) => e.oid === oid)!.value);
    assert.equal(val(ours, '2.5.29.15'), val(intelLeaf, '2.5.29.15'));
    assert.equal(val(ours, '2.5.29.19'), val(intelLeaf, '2.5.29.19'));
    // Our decoder reads Intel's values as the vectors README documents them.
    const intelExt = decodeSgxExtension(sgx(intelLeaf));
    assert.equal(intelExt.fmspc, '00a067110000');
    assert.equal(intelExt.pceSvn, 13);
    assert.deepEqual(intelExt.tcbComponents, [11, 11, 2, 2, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    // And the CA certificates mirror Intel's CA profile (extension list, key usage, basic constraints shape).
    assert.deepEqual(summary(m.caCertificate('processor')), summary(intel[1]));
    assert.deepEqual(summary(m.root), summary(intel[2]));
    assert.equal(val(m.root, '2.5.29.19'), val(intel[2], '2.5.29.19')); // CA:TRUE, pathlen 1
    assert.equal(val(m.caCertificate('processor'), '2.5.29.19'), val(intel[1], '2.5.29.19')); // CA:TRUE, pathlen 0
    assert.equal(val(m.root, '2.5.29.15'), val(intel[2], '2.5.29.15'));
    // The TCB Signing certificate mirrors Intel's.
    const intelTcbSigning = pemBlocks(vectorText('sgx-v3-zkdcap/tcb_signing_cert.pem'))[0];
    assert.deepEqual(summary(m.tcbSigningCertificate), summary(intelTcbSigning));
    assert.equal(val(m.tcbSigningCertificate, '2.5.29.15'), val(intelTcbSigning, '2.5.29.15'));
  },
);

test(
  "Intel's real Platform-CA PCK leaf (TDX quote) and ours have the same SGX-extension shape",
  { skip: skipWithoutVectors },
  async () => {
    const intelLeaf = quoteChain('tdx-v4-phala/quote.dat')[0];
    const ours = await m.issuePck(
      { ...platform, configuration: { dynamicPlatform: true, cachedKeys: true, smtEnabled: true } },
      pckKey().publicKey,
      'platform',
    );
    const sgx = (der: Uint8Array) => certExtensions(der).find((e) => e.oid === SGX_EXTENSION_OID)!.value;
    assert.deepEqual(shapeOf(parseBer(sgx(ours))), shapeOf(parseBer(sgx(intelLeaf))));
    assert.equal(decodeSgxExtension(sgx(intelLeaf)).sgxType, 1);
  },
);

test('SGX extension: encode → decode round-trips (fast-check), with our decoder and the formats parser when present', () => {
  const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
  fc.assert(
    fc.property(
      fc.record({
        ppid: bytes(16),
        tcbComponents: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 }),
        pceSvn: fc.integer({ min: 0, max: 0xffff }),
        cpuSvn: bytes(16),
        pceId: fc.integer({ min: 0, max: 0xffff }),
        fmspc: bytes(6),
        sgxType: fc.integer({ min: 0, max: 2 }),
        platform: fc.option(fc.record({ id: bytes(16), cfg: fc.tuple(fc.boolean(), fc.boolean(), fc.boolean()) }), {
          nil: undefined,
        }),
      }),
      (f) => {
        const der = encodeSgxExtension({
          ...f,
          ...(f.platform
            ? {
                platformInstanceId: f.platform.id,
                configuration: {
                  dynamicPlatform: f.platform.cfg[0],
                  cachedKeys: f.platform.cfg[1],
                  smtEnabled: f.platform.cfg[2],
                },
              }
            : {}),
        });
        const d = decodeSgxExtension(der);
        const pceIdLe = Buffer.from([f.pceId & 0xff, f.pceId >> 8]).toString('hex');
        assert.equal(d.ppid, hexOf(f.ppid));
        assert.deepEqual(d.tcbComponents, f.tcbComponents);
        assert.equal(d.pceSvn, f.pceSvn);
        assert.equal(d.cpuSvn, hexOf(f.cpuSvn));
        assert.equal(d.pceId, pceIdLe);
        assert.equal(d.fmspc, hexOf(f.fmspc));
        assert.equal(d.sgxType, f.sgxType);
        assert.equal(d.platformInstanceId, f.platform ? hexOf(f.platform.id) : undefined);
        assert.deepEqual(d.configuration, f.platform ? f.platform.cfg : undefined);
        {
          // A second, independent reader of the same extension: the verifier's parser.
          const p = parsePckExtension(der);
          assert.deepEqual(p.tcb.components, f.tcbComponents);
          assert.equal(p.tcb.pceSvn, f.pceSvn);
          assert.equal(hexOf(p.tcb.cpuSvn), hexOf(f.cpuSvn));
          assert.equal(hexOf(p.ppid), hexOf(f.ppid));
          assert.equal(hexOf(p.fmspc), hexOf(f.fmspc));
          assert.equal(hexOf(p.pceId), pceIdLe);
          assert.equal(p.sgxType, f.sgxType);
        }
      },
    ),
    { numRuns: 150 },
  );
});

test('SGX extension encoder refuses out-of-range fields', () => {
  const ok = {
    ppid: new Uint8Array(16),
    tcbComponents: new Array(16).fill(0),
    pceSvn: 0,
    cpuSvn: new Uint8Array(16),
    pceId: 0,
    fmspc: new Uint8Array(6),
    sgxType: 0,
  };
  assert.doesNotThrow(() => encodeSgxExtension(ok));
  for (const bad of [
    { ppid: new Uint8Array(17) },
    { fmspc: new Uint8Array(5) },
    { sgxType: 3 },
    { pceId: -1 },
    { tcbComponents: new Array(15).fill(0) },
    { cpuSvn: new Uint8Array(0) },
  ]) {
    assert.throws(() => encodeSgxExtension({ ...ok, ...bad }), { code: 'ERR_MANUFACTURER_ARGUMENT' });
  }
});
