import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { directoryCollateral } from '../../../src/attestation/collateral/from-directory.ts';
import {
  collateralFromQvlJson,
  collateralToQvlJson,
  qvlJsonFileCollateral,
} from '../../../src/attestation/collateral/from-qvl-json.ts';
import { alwaysFailCollateral, memoryCollateral } from '../../../src/attestation/collateral/memory.ts';
import { openCollateral } from '../../../src/attestation/collateral/open.ts';
import { pemCertificates, toPem } from '../../../src/attestation/pem.ts';
import { skipWithoutVectors, vector, vectorPath, vectorText } from '../../helpers/vectors.ts';

/**
 * The collateral sources (collateral/*.ts), exact: what each reads from Intel's real files (the
 * zkdcap directory, the phala dcap-qvl JSON), which file wins, and each refusal with its code.
 */
const tmp = mkdtempSync(join(tmpdir(), 'catena-mattest-collateral-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const REQ = { fmspc: '00906ED50000', pckCa: 'processor' as const, teeType: 'sgx' as const };
const AT = new Date('2025-01-01T00:00:00Z');

/** The inner object text of a PCS body (what the signature covers), found by hand. */
function inner(body: string, key: string): string {
  const start = body.indexOf('{', body.indexOf(`"${key}"`));
  const end = body.lastIndexOf(',"signature"');
  return body.slice(start, end);
}

test('directory: Intel PCS files as they are, each field from its file', { skip: skipWithoutVectors }, async () => {
  const dir = vectorPath('sgx-v3-zkdcap');
  const c = await directoryCollateral(dir).get(REQ, AT);
  const tcbBody = vectorText('sgx-v3-zkdcap/tcb_info.json');
  const qeBody = vectorText('sgx-v3-zkdcap/qe_identity.json');
  assert.equal(c.tcbInfo.text, inner(tcbBody, 'tcbInfo'));
  assert.equal(c.qeIdentity.text, inner(qeBody, 'enclaveIdentity'));
  assert.equal(
    Buffer.from(c.tcbInfo.signature).toString('hex'),
    (JSON.parse(tcbBody) as { signature: string }).signature,
  );
  assert.deepEqual(c.tcbSigningChain, pemCertificates(vectorText('sgx-v3-zkdcap/tcb_signing_cert.pem')));
  assert.deepEqual(c.rootCaCrl, vector('sgx-v3-zkdcap/root_ca_crl.der'));
  assert.deepEqual(c.pckCrl, vector('sgx-v3-zkdcap/pck_processor_crl.der'));
  assert.equal(c.origin, `directory ${dir}`);
  await assert.rejects(directoryCollateral(dir).get({ ...REQ, pckCa: 'platform' }, AT), {
    code: 'ERR_COLLATERAL_UNAVAILABLE',
    message: `collateral directory ${dir}: no PCK CRL for the platform CA (pck_platform_crl.der | pck_platform_crl.pem | pck_platform_crl | pck_crl.der | pck_crl.pem | pck_crl)`,
  });
  const o = await openCollateral(dir);
  assert.deepEqual((await o.get(REQ, AT)).pckCrl, c.pckCrl, 'openCollateral: a directory');
});

test(
  'directory: which file wins, PEM encodings, and each missing or malformed file',
  { skip: skipWithoutVectors },
  async () => {
    const d = mkdtempSync(join(tmp, 'dir-'));
    const copy = (from: string, to: string, f = (b: Buffer) => b) =>
      writeFileSync(join(d, to), f(readFileSync(vectorPath(from))));
    const src = directoryCollateral(d);
    await assert.rejects(src.get(REQ, AT), {
      code: 'ERR_COLLATERAL_UNAVAILABLE',
      message: `collateral directory ${d}: no TCB info (tcb_info.json)`,
    });
    copy('sgx-v3-zkdcap/tcb_info.json', 'tcb_info.json');
    await assert.rejects(src.get(REQ, AT), { message: `collateral directory ${d}: no QE identity (qe_identity.json)` });
    copy('sgx-v3-zkdcap/qe_identity.json', 'qe_identity.json');
    await assert.rejects(src.get(REQ, AT), {
      message: `collateral directory ${d}: no TCB signing certificate (tcb_signing_cert.pem | tcb_signing_cert.der | tcb_signing_chain.pem)`,
    });
    const [signingDer] = pemCertificates(vectorText('sgx-v3-zkdcap/tcb_signing_cert.pem'));
    writeFileSync(join(d, 'tcb_signing_cert.der'), signingDer);
    await assert.rejects(src.get(REQ, AT), {
      message: `collateral directory ${d}: no root CA CRL (root_ca_crl.der | root_ca_crl.pem | root_ca_crl)`,
    });
    // The root CA CRL as hex text without an extension (as PCCS serves it).
    copy('sgx-v3-zkdcap/root_ca_crl.der', 'root_ca_crl', (b) => Buffer.from(b.toString('hex')));
    await assert.rejects(src.get(REQ, AT), { message: /no PCK CRL for the processor CA \(pck_processor_crl\.der \| / });
    const pckDer = vector('sgx-v3-zkdcap/pck_processor_crl.der');
    writeFileSync(join(d, 'pck_crl.pem'), toPem(pckDer, 'X509 CRL'));
    const c = await src.get(REQ, AT);
    assert.deepEqual(c.tcbSigningChain, [signingDer]);
    assert.deepEqual(c.rootCaCrl, vector('sgx-v3-zkdcap/root_ca_crl.der'));
    assert.deepEqual(c.pckCrl, pckDer, 'pck_crl.pem, for either CA');
    assert.deepEqual((await src.get({ ...REQ, pckCa: 'platform' }, AT)).pckCrl, pckDer);
    // A CA-specific CRL wins over pck_crl; .der over .pem; the platform CA reads its own.
    const other = new Uint8Array([0x30, 0x00]);
    writeFileSync(join(d, 'pck_processor_crl.pem'), toPem(other, 'X509 CRL'));
    assert.deepEqual((await src.get(REQ, AT)).pckCrl, other);
    writeFileSync(join(d, 'pck_processor_crl.der'), Uint8Array.of(0x30, 0x01, 0x05));
    assert.deepEqual((await src.get(REQ, AT)).pckCrl, Uint8Array.of(0x30, 0x01, 0x05));
    assert.deepEqual((await src.get({ ...REQ, pckCa: 'platform' }, AT)).pckCrl, pckDer);
    writeFileSync(join(d, 'pck_platform_crl'), Buffer.from('3002'));
    assert.deepEqual((await src.get({ ...REQ, pckCa: 'platform' }, AT)).pckCrl, Uint8Array.of(0x30, 0x02));
    // tcb_signing_cert.pem wins over .der.
    writeFileSync(join(d, 'tcb_signing_cert.pem'), toPem(signingDer, 'CERTIFICATE') + toPem(signingDer, 'CERTIFICATE'));
    assert.equal((await src.get(REQ, AT)).tcbSigningChain.length, 2);
    // Malformed content: ERR_COLLATERAL_FORMAT, naming the directory.
    writeFileSync(join(d, 'pck_processor_crl.der'), toPem(other, 'CERTIFICATE'));
    await assert.rejects(src.get(REQ, AT), {
      code: 'ERR_COLLATERAL_FORMAT',
      message: `collateral directory ${d}: PEM: unexpected CERTIFICATE block (expected X509 CRL)`,
    });
    writeFileSync(join(d, 'tcb_info.json'), '{}');
    await assert.rejects(src.get(REQ, AT), {
      code: 'ERR_COLLATERAL_FORMAT',
      message: new RegExp(`^collateral directory ${d}: `),
    });
    const gone = join(tmp, 'absent');
    await assert.rejects(directoryCollateral(gone).get(REQ, AT), {
      code: 'ERR_COLLATERAL_UNAVAILABLE',
      message: new RegExp(`^collateral directory ${gone}: ENOENT`),
    });
  },
);

test(
  'dcap-qvl JSON: every field, the round trip, byte arrays, and each refusal',
  { skip: skipWithoutVectors },
  async () => {
    const j = JSON.parse(vectorText('sgx-v3-phala/collateral.json')) as Record<string, string>;
    const c = collateralFromQvlJson(j, 'here');
    assert.equal(c.origin, 'here');
    assert.equal('origin' in collateralFromQvlJson(j), false);
    assert.equal(c.tcbInfo.text, j.tcb_info);
    assert.equal(Buffer.from(c.qeIdentity.signature).toString('hex'), j.qe_identity_signature);
    assert.deepEqual(c.tcbSigningChain, pemCertificates(j.tcb_info_issuer_chain));
    assert.deepEqual(c.qeIdentitySigningChain, pemCertificates(j.qe_identity_issuer_chain));
    assert.deepEqual(c.pckCrlIssuerChain, pemCertificates(j.pck_crl_issuer_chain));
    assert.equal(Buffer.from(c.rootCaCrl).toString('hex'), j.root_ca_crl);
    assert.equal(Buffer.from(c.pckCrl).toString('hex'), j.pck_crl);
    const back = collateralToQvlJson(c);
    assert.deepEqual(collateralFromQvlJson(back, 'here'), c);
    assert.deepEqual(Object.keys(back).sort(), Object.keys(j).sort());
    const noIssuer = { ...j } as Record<string, unknown>;
    delete noIssuer.pck_crl_issuer_chain;
    assert.equal('pckCrlIssuerChain' in collateralFromQvlJson(noIssuer), false);
    assert.equal(collateralToQvlJson(collateralFromQvlJson(noIssuer)).pck_crl_issuer_chain, '');
    const noQe = { ...c, qeIdentitySigningChain: undefined };
    assert.equal(collateralToQvlJson(noQe).qe_identity_issuer_chain, j.tcb_info_issuer_chain.replace(/\n?$/, '\n'));
    assert.deepEqual([...collateralFromQvlJson({ ...j, pck_crl: [0, 255] }).pckCrl], [0, 255]);
    const arrays = collateralFromQvlJson({
      ...j,
      pck_crl: [...Buffer.from(j.pck_crl, 'hex')],
      tcb_info_signature: [...c.tcbInfo.signature],
    });
    assert.deepEqual(arrays.pckCrl, c.pckCrl);
    assert.deepEqual(arrays.tcbInfo.signature, c.tcbInfo.signature);
    assert.equal(
      collateralFromQvlJson({ ...j, pck_crl: '' }).pckCrl.length,
      0,
      'empty hex is zero bytes (refused later, as a CRL)',
    );
    const refused: Array<[unknown, string]> = [
      [null, 'collateral.json: not an object'],
      [[j], 'collateral.json: not an object'],
      ['{}', 'collateral.json: not an object'],
      [{ ...j, tcb_info: 5 }, 'collateral.json: tcb_info missing or not a string'],
      [
        { ...j, qe_identity_issuer_chain: undefined },
        'collateral.json: qe_identity_issuer_chain missing or not a string',
      ],
      [{ ...j, root_ca_crl: 'xyz' }, 'collateral.json: root_ca_crl is not hex'],
      [{ ...j, root_ca_crl: '123' }, 'collateral.json: root_ca_crl is not hex'],
      [{ ...j, pck_crl: [1, 256] }, 'collateral.json: pck_crl missing or not hex/bytes'],
      [{ ...j, pck_crl: [1, -1] }, 'collateral.json: pck_crl missing or not hex/bytes'],
      [{ ...j, pck_crl: [1.5] }, 'collateral.json: pck_crl missing or not hex/bytes'],
      [{ ...j, pck_crl: 7 }, 'collateral.json: pck_crl missing or not hex/bytes'],
      [
        { ...j, tcb_info_signature: j.tcb_info_signature.slice(2) },
        'collateral.json: tcb_info_signature is 63 bytes, expected 64 (r‖s)',
      ],
      [
        { ...j, qe_identity_signature: `${j.qe_identity_signature}00` },
        'collateral.json: qe_identity_signature is 65 bytes, expected 64 (r‖s)',
      ],
    ];
    for (const [x, message] of refused) {
      assert.throws(() => collateralFromQvlJson(x), { code: 'ERR_COLLATERAL_FORMAT', message }, message);
    }
  },
);

test(
  'dcap-qvl JSON file: read once; unreadable and malformed files refused with their codes',
  { skip: skipWithoutVectors },
  async () => {
    const path = join(tmp, 'collateral.json');
    writeFileSync(path, vectorText('sgx-v3-phala/collateral.json'));
    const src = qvlJsonFileCollateral(path);
    const first = await src.get(REQ, AT);
    assert.equal(first.origin, `dcap-qvl collateral file ${path}`);
    writeFileSync(path, 'changed');
    assert.equal(await src.get(REQ, AT), first, 'read once, on first use');
    const opened = await openCollateral(path);
    await assert.rejects(opened.get(REQ, AT), { code: 'ERR_COLLATERAL_FORMAT', message: new RegExp(`^${path}: `) });
    await assert.rejects(opened.get(REQ, AT), (e: Error) => e.cause instanceof SyntaxError);
    writeFileSync(path, '{"tcb_info": 1}');
    await assert.rejects(qvlJsonFileCollateral(path).get(REQ, AT), {
      code: 'ERR_COLLATERAL_FORMAT',
      message: `${path}: collateral.json: tcb_info missing or not a string`,
    });
    const absent = join(tmp, 'absent.json');
    await assert.rejects(qvlJsonFileCollateral(absent).get(REQ, AT), {
      code: 'ERR_COLLATERAL_UNAVAILABLE',
      message: new RegExp(`^${absent}: ENOENT`),
    });
    await assert.rejects(openCollateral(absent), {
      code: 'ERR_COLLATERAL_UNAVAILABLE',
      message: new RegExp(`^collateral ${absent}: ENOENT`),
    });
  },
);

test('memory, always-fail, and a PCS URL by openCollateral', async () => {
  const c = { origin: 'x' } as unknown as Parameters<typeof memoryCollateral>[0];
  assert.equal(await memoryCollateral(c).get(REQ, AT), c);
  await assert.rejects(alwaysFailCollateral().get(REQ, AT), {
    code: 'ERR_COLLATERAL_UNAVAILABLE',
    message: 'no collateral source configured',
  });
  await assert.rejects(alwaysFailCollateral('down').get(REQ, AT), { message: 'down' });
  for (const url of ['https://pcs.example/sgx/certification/v4/', 'HTTP://127.0.0.1:9/x/']) {
    const s = await openCollateral(url);
    assert.equal('fetches' in s, true, `${url}: a PCS source`);
  }
});

test(
  'directory: a PEM root CA CRL; a malformed file keeps its cause; a path that merely contains a URL is a path',
  { skip: skipWithoutVectors },
  async () => {
    const d = mkdtempSync(join(tmp, 'pem-'));
    for (const f of ['tcb_info.json', 'qe_identity.json', 'tcb_signing_cert.pem', 'pck_processor_crl.der'])
      writeFileSync(join(d, f), readFileSync(vectorPath(`sgx-v3-zkdcap/${f}`)));
    const root = vector('sgx-v3-zkdcap/root_ca_crl.der');
    writeFileSync(join(d, 'root_ca_crl.pem'), toPem(root, 'X509 CRL'));
    assert.deepEqual((await directoryCollateral(d).get(REQ, AT)).rootCaCrl, root);
    writeFileSync(join(d, 'root_ca_crl.pem'), toPem(root, 'CERTIFICATE'));
    await assert.rejects(directoryCollateral(d).get(REQ, AT), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ERR_COLLATERAL_FORMAT');
      assert.equal((e.cause as { code?: string }).code, 'ERR_PEM');
      return true;
    });
    const notUrl = `${tmp}/x http://y`;
    await assert.rejects(openCollateral(notUrl), {
      code: 'ERR_COLLATERAL_UNAVAILABLE',
      message: /^collateral .*x http:\/\/y: ENOENT/,
    });
  },
);

test('dcap-qvl JSON file: an unreadable file keeps its cause', async () => {
  const absent = join(tmp, 'absent-too.json');
  await assert.rejects(
    qvlJsonFileCollateral(absent).get(REQ, AT),
    (e: Error) => (e.cause as { code?: string }).code === 'ENOENT',
  );
});
