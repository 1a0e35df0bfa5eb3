import 'reflect-metadata';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { verify as nodeVerify, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate as PX, X509Crl } from '@peculiar/x509';
import {
  collateralJson,
  Manufacturer,
  matchTcbLevel,
  writeCollateralDir,
  writeCollateralJson,
} from '../../../src/sgx/manufacturer/index.ts';
import { skipWithoutVectors, vector, vectorText } from '../../helpers/vectors.ts';
import { parseQeIdentity } from '../../../src/formats/qe-identity.ts';
import { parseTcbInfo } from '../../../src/formats/tcb-info.ts';
import { crlContents, pemBlocks, sliceMember } from './manufacturer-helpers.ts';
import { freshKeyPair } from '../../helpers/keys.ts';

const require = createRequire(import.meta.url);
const dcapQvl = require('@phala/dcap-qvl') as {
  TcbInfo: {
    fromJSON(t: string): { fmspc: string; tcbEvaluationDataNumber: number; tcbLevels: Array<{ tcbStatus: string }> };
  };
  utils: {
    verifyCertificateChain(
      leaf: Uint8Array,
      chain: Uint8Array[],
      t: number,
      crls: Uint8Array[],
      root: Uint8Array,
    ): boolean;
    extractCerts(b: Buffer): Uint8Array[];
  };
};

const tmp = mkdtempSync(join(tmpdir(), 'catena-manufacturer-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

// A controllable clock: collateral dates follow it.
let nowMs = Date.parse('2026-03-01T12:00:00.700Z');
const clock = () => new Date(nowMs);
const m = await Manufacturer.create({ pcsUrl: 'http://127.0.0.1:9', clock });
const platform = {
  ppid: Uint8Array.from({ length: 16 }, (_, i) => i + 1),
  fmspc: Uint8Array.from([0x00, 0x90, 0x6e, 0xd5, 0x00, 0x00]),
  pceId: 0,
  pceSvn: 13,
  cpuSvn: Uint8Array.from([21, 21, 2, 4, 1, 128, 14, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
  tcbComponents: [21, 21, 2, 4, 1, 128, 14, 0, 0, 0, 0, 0, 0, 0, 0, 0],
};
const pckKey = () => freshKeyPair('ec', { namedCurve: 'P-256' }).publicKey;
const pck = await m.issuePck(platform, pckKey(), 'processor');
const qe = {
  mrSigner: new Uint8Array(32).fill(0x8c),
  isvProdId: 1,
  isvSvn: 8,
  miscSelect: 0,
  attributes: { flags: 0x15n, xfrm: 0x3n },
};
m.setQeIdentity(qe);

const tcbKey = () => new X509Certificate(m.tcbSigningCertificate).publicKey;
const sigOk = (text: string, sigHex: string, key = tcbKey()) =>
  nodeVerify('sha256', Buffer.from(text), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(sigHex, 'hex'));
/** @peculiar/x509 wants ArrayBuffer-backed views. */
const crlOf = (der: Uint8Array) => new X509Crl(Uint8Array.from(der));
const caKey = (der: Uint8Array) => new PX(Uint8Array.from(der)).publicKey.export();
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

test(
  "our body slicer reads Intel's real bodies, and their signatures verify with Intel's TCB Signing key",
  { skip: skipWithoutVectors },
  () => {
    const key = new X509Certificate(pemBlocks(vectorText('sgx-v3-zkdcap/tcb_signing_cert.pem'))[0]).publicKey;
    for (const [file, member] of [
      ['sgx-v3-zkdcap/tcb_info.json', 'tcbInfo'],
      ['sgx-v3-zkdcap/qe_identity.json', 'enclaveIdentity'],
    ] as const) {
      const body = vectorText(file);
      const text = sliceMember(body, member);
      assert.ok(sigOk(text, JSON.parse(body).signature as string, key), file);
      assert.equal(sigOk(text.replace('"version":', '"version" :'), JSON.parse(body).signature as string, key), false);
    }
  },
);

test(
  'TCB info v3: signed over the exact text in the body, Intel field order and formats',
  { skip: skipWithoutVectors },
  () => {
    const signed = m.tcbInfo(platform.fmspc);
    const text = sliceMember(signed.body, 'tcbInfo');
    assert.equal(text, signed.text);
    const sig = JSON.parse(signed.body).signature as string;
    assert.match(sig, /^[0-9a-f]{128}$/);
    assert.ok(sigOk(text, sig));
    assert.equal(
      sigOk(text.replace('"tcbType":0', '"tcbType":1'), sig),
      false,
      'one changed field breaks the signature',
    );
    // Intel's field order, at every level, taken from a real Intel body.
    const intel = JSON.parse(vectorText('sgx-v3-zkdcap/tcb_info.json')).tcbInfo;
    const ours = JSON.parse(text);
    assert.deepEqual(Object.keys(ours), Object.keys(intel));
    assert.deepEqual(Object.keys(ours.tcbLevels[1]), Object.keys(intel.tcbLevels[0]));
    assert.deepEqual(Object.keys(ours.tcbLevels[0].tcb), Object.keys(intel.tcbLevels[0].tcb));
    assert.equal(ours.id, 'SGX');
    assert.equal(ours.version, 3);
    assert.equal(ours.fmspc, '00906ED50000');
    assert.equal(ours.pceId, '0000');
    assert.equal(ours.issueDate, '2026-03-01T12:00:00Z');
    assert.equal(ours.nextUpdate, '2026-03-31T12:00:00Z');
    for (const l of ours.tcbLevels) assert.match(l.tcbDate, ISO);
    assert.equal(ours.tcbLevels[0].tcbStatus, 'UpToDate');
    assert.deepEqual(
      ours.tcbLevels[0].tcb.sgxtcbcomponents.map((c: { svn: number }) => c.svn),
      platform.tcbComponents,
    );
    assert.equal(ours.tcbLevels[0].tcb.pcesvn, 13);
    assert.equal(
      JSON.stringify(ours),
      text,
      'compact: JSON.stringify gives the signed text back (dcap-qvl relies on it)',
    );
    assert.equal(parseTcbInfo(text).tcbEvaluationDataNumber, m.tcbEvaluationDataNumber);
    const parsed = dcapQvl.TcbInfo.fromJSON(text);
    assert.equal(parsed.fmspc, '00906ED50000');
  },
);

test(
  'QE identity v2: signed over its exact text, Intel field order, the QE given by the caller',
  { skip: skipWithoutVectors },
  () => {
    const signed = m.qeIdentity();
    const text = sliceMember(signed.body, 'enclaveIdentity');
    assert.equal(text, signed.text);
    assert.ok(sigOk(text, JSON.parse(signed.body).signature as string));
    const intel = JSON.parse(vectorText('sgx-v3-zkdcap/qe_identity.json')).enclaveIdentity;
    const ours = JSON.parse(text);
    assert.deepEqual(Object.keys(ours), Object.keys(intel));
    assert.deepEqual(Object.keys(ours.tcbLevels[0]), Object.keys(intel.tcbLevels[0]));
    assert.deepEqual(Object.keys(ours.tcbLevels[1]), Object.keys(intel.tcbLevels[1]));
    assert.equal(ours.id, 'QE');
    assert.equal(ours.version, 2);
    assert.equal(ours.mrsigner, '8C'.repeat(32));
    assert.equal(ours.isvprodid, 1);
    assert.equal(ours.tcbLevels[0].tcb.isvsvn, 8);
    assert.equal(ours.tcbLevels[0].tcbStatus, 'UpToDate');
    // Published masked, as Intel's (0x15 & 0xFB = 0x11; XFRM mask 0).
    assert.equal(ours.attributes, '11000000000000000000000000000000');
    assert.equal(ours.attributesMask, intel.attributesMask);
    assert.equal(ours.miscselectMask, 'FFFFFFFF');
    assert.equal(parseQeIdentity(text).isvProdId, qe.isvProdId);
  },
);

test(
  'CRLs: parse and verify with @peculiar/x509, Intel CRL profile, revocations listed with non-zero reasons',
  { skip: skipWithoutVectors },
  async () => {
    const intelProfile = crlContents(vector('sgx-v3-zkdcap/pck_processor_crl.der')).extensions;
    const before = await m.pckCrl('processor');
    assert.deepEqual(crlContents(before).extensions, intelProfile); // CRL Number, then AKI
    assert.deepEqual(crlContents(before).revoked, []);
    const crl0 = crlOf(before);
    assert.ok(await crl0.verify({ publicKey: await caKey(m.caCertificate('processor')) }));
    assert.equal(crl0.thisUpdate.toISOString(), '2026-03-01T12:00:00.000Z');
    assert.equal(crl0.nextUpdate?.toISOString(), '2026-03-31T12:00:00.000Z');

    const serial = new X509Certificate(pck).serialNumber.toLowerCase();
    m.revokePck(pck); // default reason keyCompromise (1)
    const other = await m.issuePck({ ...platform, ppid: new Uint8Array(16).fill(9) }, pckKey(), 'processor');
    m.revokePck(new X509Certificate(other).serialNumber, 4); // superseded, by serial string
    const after = await m.pckCrl('processor');
    assert.notDeepEqual(after, before);
    const entries = crlContents(after).revoked;
    assert.deepEqual(entries, [
      { serial, reason: 1 },
      { serial: new X509Certificate(other).serialNumber.toLowerCase(), reason: 4 },
    ]);
    const crl = crlOf(after);
    assert.ok(await crl.verify({ publicKey: await caKey(m.caCertificate('processor')) }));
    assert.equal(await crl.verify({ publicKey: await caKey(m.caCertificate('platform')) }), false);
    assert.ok(crl.findRevoked(serial));
    for (const e of crl.entries) assert.ok((e.reason ?? 0) > 0, 'every entry carries a non-zero reason');
    assert.deepEqual(crlContents(await m.pckCrl('platform')).revoked, [], "the other CA's CRL is untouched");

    // Revoking a CA lands in the root CA CRL.
    m.revokeCa('platform');
    const root = crlContents(await m.rootCaCrl()).revoked;
    assert.deepEqual(root, [
      { serial: new X509Certificate(m.caCertificate('platform')).serialNumber.toLowerCase(), reason: 2 },
    ]);
    assert.ok(await crlOf(await m.rootCaCrl()).verify({ publicKey: await caKey(m.root) }));

    assert.throws(() => m.revokePck(pck, 0), { code: 'ERR_MANUFACTURER_REASON' });
    assert.throws(() => m.revokePck(pck, 7), { code: 'ERR_MANUFACTURER_REASON' });
    assert.throws(() => m.revokePck('0123456789'), { code: 'ERR_MANUFACTURER_UNKNOWN' });
  },
);

test('TCB recovery: higher evaluation number, former UpToDate downgraded, platforms below the new level downgraded', () => {
  nowMs += 3_600_000;
  const number0 = m.tcbEvaluationDataNumber;
  const levels0 = m.tcbLevels(platform.fmspc);
  assert.equal(matchTcbLevel(levels0, { components: platform.tcbComponents, pceSvn: 13 })?.status, 'UpToDate');
  const r = m.publishTcbRecovery(platform.fmspc, { advisoryId: 'CATENA-SA-00042' });
  assert.equal(r.tcbEvaluationDataNumber, number0 + 1);
  const after = m.tcbInfo(platform.fmspc);
  const info = JSON.parse(after.text);
  assert.equal(info.tcbEvaluationDataNumber, number0 + 1);
  assert.ok(sigOk(sliceMember(after.body, 'tcbInfo'), JSON.parse(after.body).signature as string));
  // The new top level is above the platform; the platform's former UpToDate level is now OutOfDate with the advisory.
  assert.equal(info.tcbLevels[0].tcbStatus, 'UpToDate');
  assert.deepEqual(
    info.tcbLevels[0].tcb.sgxtcbcomponents.slice(0, 2).map((c: { svn: number }) => c.svn),
    [22, 22],
  );
  assert.equal(info.tcbLevels.length, levels0.length + 1);
  const platformLevel = m.tcbLevelOf(platform.fmspc, { components: platform.tcbComponents, pceSvn: 13 })!;
  assert.equal(platformLevel.status, 'OutOfDate');
  assert.ok(platformLevel.advisoryIds.includes('CATENA-SA-00042'));
  assert.equal(info.tcbLevels.filter((l: { tcbStatus: string }) => l.tcbStatus === 'UpToDate').length, 1);
  for (const l of info.tcbLevels.slice(1)) assert.ok(l.advisoryIDs.includes('CATENA-SA-00042'));
  // A platform that moved up to the new TCB is UpToDate.
  const upgraded = [...platform.tcbComponents];
  upgraded[0] = 22;
  upgraded[1] = 22;
  assert.equal(m.tcbLevelOf(platform.fmspc, { components: upgraded, pceSvn: 13 })?.status, 'UpToDate');
  // The QE identity follows the evaluation number.
  assert.equal(JSON.parse(m.qeIdentity().text).tcbEvaluationDataNumber, number0 + 1);
  // A recovery must go up.
  assert.throws(() => m.publishTcbRecovery(platform.fmspc, { upToDate: { components: upgraded, pceSvn: 13 } }), {
    code: 'ERR_MANUFACTURER_ARGUMENT',
  });
  assert.throws(() => m.publishTcbRecovery('ffffffffffff'), { code: 'ERR_MANUFACTURER_UNKNOWN' });
});

test('collateral is reissued with fresh dates once half its validity has passed', () => {
  const a = m.tcbInfo(platform.fmspc);
  nowMs += 60_000;
  assert.equal(m.tcbInfo(platform.fmspc), a, 'reused within the window');
  nowMs += 16 * 86_400_000;
  const b = m.tcbInfo(platform.fmspc);
  assert.notEqual(b.text, a.text);
  assert.ok(Date.parse(JSON.parse(b.text).issueDate) > Date.parse(JSON.parse(a.text).issueDate));
});

test('save/load keeps the root, CAs, PCKs, TCB levels, QE and revocations; keys are private files', async () => {
  const dir = join(tmp, 'm1');
  await m.save(dir);
  for (const f of readdirSync(join(dir, 'keys'))) assert.equal(statSync(join(dir, 'keys', f)).mode & 0o077, 0, f);
  const n = await Manufacturer.load(dir, { clock });
  assert.deepEqual(n.root, m.root);
  assert.deepEqual(n.caCertificate('processor'), m.caCertificate('processor'));
  assert.deepEqual(n.tcbSigningCertificate, m.tcbSigningCertificate);
  assert.equal(n.tcbEvaluationDataNumber, m.tcbEvaluationDataNumber);
  assert.deepEqual(n.tcbLevels(platform.fmspc), m.tcbLevels(platform.fmspc));
  assert.deepEqual(
    n.listPcks().map((p) => p.serial),
    m.listPcks().map((p) => p.serial),
  );
  assert.deepEqual(
    n.revoked('processor').map((e) => [e.serial, e.reason]),
    m.revoked('processor').map((e) => [e.serial, e.reason]),
  );
  assert.deepEqual(n.revoked('root'), m.revoked('root'));
  const undated = (t: string) => ({ ...JSON.parse(t), issueDate: undefined, nextUpdate: undefined });
  assert.deepEqual(undated(n.qeIdentity().text), undated(m.qeIdentity().text), 'same QE identity content');
  // The reloaded manufacturer still signs with the same keys, and issues PCKs under the same CA.
  const der = await n.issuePck({ ...platform, ppid: new Uint8Array(16).fill(7) }, pckKey());
  assert.ok(new X509Certificate(der).verify(new X509Certificate(m.caCertificate('processor')).publicKey));
  // The next CRL continues the numbering.
  assert.deepEqual(crlContents(await n.pckCrl('processor')).revoked, crlContents(await m.pckCrl('processor')).revoked);
  await assert.rejects(Manufacturer.load(join(tmp, 'missing')), { code: 'ERR_MANUFACTURER_DATA' });
});

test('collateral directory and dcap-qvl collateral.json: readable, chains verify under the emulated root with dcap-qvl', async () => {
  const fresh = await Manufacturer.create({ clock });
  const key = pckKey();
  const leaf = await fresh.issuePck(platform, key);
  fresh.setQeIdentity(qe);
  const set = await fresh.collateral(platform.fmspc, 'processor');
  const dir = join(tmp, 'collateral');
  const files = await writeCollateralDir(set, dir);
  assert.deepEqual(readdirSync(dir).sort(), [
    'pck_processor_crl.der',
    'qe_identity.json',
    'root.der',
    'root_ca_crl.der',
    'tcb_info.json',
    'tcb_signing_cert.pem',
  ]);
  assert.equal(files.length, 6);
  const tcbBody = readFileSync(join(dir, 'tcb_info.json'), 'utf8');
  assert.ok(
    sigOk(
      sliceMember(tcbBody, 'tcbInfo'),
      JSON.parse(tcbBody).signature as string,
      new X509Certificate(fresh.tcbSigningCertificate).publicKey,
    ),
  );
  const chain = pemBlocks(readFileSync(join(dir, 'tcb_signing_cert.pem'), 'utf8'));
  assert.deepEqual(chain, [fresh.tcbSigningCertificate, fresh.root]);
  assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'root.der'))), fresh.root);

  const file = join(tmp, 'collateral.json');
  await writeCollateralJson(set, file);
  const c = JSON.parse(readFileSync(file, 'utf8')) as ReturnType<typeof collateralJson>;
  assert.deepEqual(Object.keys(c).sort(), [
    'pck_crl',
    'pck_crl_issuer_chain',
    'qe_identity',
    'qe_identity_issuer_chain',
    'qe_identity_signature',
    'root_ca_crl',
    'tcb_info',
    'tcb_info_issuer_chain',
    'tcb_info_signature',
  ]);
  for (const v of Object.values(c)) assert.equal(typeof v, 'string');
  // dcap-qvl reads it: TCB info parses, and its certificate-chain check (signatures, validity, CRLs) passes under our root.
  const t = Math.floor(nowMs / 1000);
  const crls = [Buffer.from(c.root_ca_crl, 'hex'), Buffer.from(c.pck_crl, 'hex')];
  assert.equal(dcapQvl.TcbInfo.fromJSON(c.tcb_info).fmspc, '00906ED50000');
  const tcbChain = dcapQvl.utils.extractCerts(Buffer.from(c.tcb_info_issuer_chain));
  assert.ok(dcapQvl.utils.verifyCertificateChain(tcbChain[0], tcbChain.slice(1), t, crls, Buffer.from(fresh.root)));
  const pckChain = dcapQvl.utils.extractCerts(Buffer.from(c.pck_crl_issuer_chain));
  assert.ok(dcapQvl.utils.verifyCertificateChain(Buffer.from(leaf), pckChain, t, crls, Buffer.from(fresh.root)));
  assert.ok(sigOk(c.tcb_info, c.tcb_info_signature, new X509Certificate(tcbChain[0]).publicKey));
  assert.ok(sigOk(c.qe_identity, c.qe_identity_signature, new X509Certificate(tcbChain[0]).publicKey));
  // Under another root, or after revocation, dcap-qvl refuses.
  assert.throws(() => dcapQvl.utils.verifyCertificateChain(Buffer.from(leaf), pckChain, t, crls, Buffer.from(m.root)));
  fresh.revokePck(leaf);
  const revokedSet = await fresh.collateral(platform.fmspc, 'processor');
  const crls2 = [Buffer.from(revokedSet.rootCaCrl), Buffer.from(revokedSet.pckCrl)];
  assert.throws(
    () => dcapQvl.utils.verifyCertificateChain(Buffer.from(leaf), pckChain, t, crls2, Buffer.from(fresh.root)),
    /revoked/,
  );
  // And outside the certificates' validity it refuses too.
  assert.throws(
    () =>
      dcapQvl.utils.verifyCertificateChain(
        Buffer.from(leaf),
        pckChain,
        t - 86_400 * 365,
        crls,
        Buffer.from(fresh.root),
      ),
    /expired|not yet valid/,
  );
});
