import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { verify as nodeVerify, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildPcsServer, Manufacturer } from '../../src/sgx/manufacturer/index.ts';
import { DEFAULT_FMSPC } from '../../src/sgx/platform.ts';
import { crlContents, pemBlocks, sliceMember } from '../unit/sgx/manufacturer-helpers.ts';
import { freshKeyPair } from '../helpers/keys.ts';

const require = createRequire(import.meta.url);
const ROOT = resolve(import.meta.dirname, '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'catena-pcs-'));

const platform = {
  ppid: Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i),
  fmspc: Uint8Array.from([0x00, 0xa0, 0x67, 0x11, 0x00, 0x00]),
  pceId: 0,
  pceSvn: 13,
  cpuSvn: Uint8Array.from([11, 11, 2, 2, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
  tcbComponents: [11, 11, 2, 2, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
};
const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');
let m: Manufacturer;
let app: FastifyInstance;
let url: string;
let pck: Uint8Array;

before(async () => {
  m = await Manufacturer.create();
  pck = await m.issuePck(platform, freshKeyPair('ec', { namedCurve: 'P-256' }).publicKey, 'processor');
  m.setQeIdentity({
    mrSigner: new Uint8Array(32).fill(1),
    isvProdId: 1,
    isvSvn: 8,
    miscSelect: 0,
    attributes: { flags: 0x11n, xfrm: 0n },
  });
  app = buildPcsServer({ manufacturer: m });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address() as { port: number };
  url = `http://127.0.0.1:${addr.port}/sgx/certification/v4`;
});
after(async () => {
  await app?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const get = (path: string) => fetch(url + path, { signal: AbortSignal.timeout(10_000) });
const chainOf = (res: Response, header: string) => pemBlocks(decodeURIComponent(res.headers.get(header) ?? ''));
const sigOk = (text: string, sigHex: string, cert: Uint8Array) =>
  nodeVerify(
    'sha256',
    Buffer.from(text),
    { key: new X509Certificate(cert).publicKey, dsaEncoding: 'ieee-p1363' },
    Buffer.from(sigHex, 'hex'),
  );

async function expectProblem(res: Response, status: number): Promise<void> {
  assert.equal(res.status, status);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const p = (await res.json()) as { status: number; title: string; detail: string };
  assert.equal(p.status, status);
  assert.equal(typeof p.detail, 'string');
}

test('pckcert: the PCK certificate with its issuer chain, TCBm, FMSPC and CA type headers', async () => {
  const q = `?encrypted_ppid=${hexOf(platform.ppid)}&cpusvn=${hexOf(platform.cpuSvn).toUpperCase()}&pcesvn=0d00&pceid=0000`;
  const res = await get(`/pckcert${q}`);
  assert.equal(res.status, 200);
  assert.ok(res.headers.get('request-id'));
  assert.deepEqual(pemBlocks(await res.text()), [pck]);
  const chain = chainOf(res, 'SGX-PCK-Certificate-Issuer-Chain');
  assert.deepEqual(chain, [m.caCertificate('processor'), m.root]);
  assert.ok(new X509Certificate(pck).verify(new X509Certificate(chain[0]).publicKey));
  assert.equal(res.headers.get('SGX-TCBm'), (hexOf(platform.cpuSvn) + '0d00').toUpperCase());
  assert.equal(res.headers.get('SGX-FMSPC'), '00A067110000');
  assert.equal(res.headers.get('SGX-PCK-Certificate-CA-Type'), 'processor');
  // A raw TCB below every issued certificate has no PCK; an unknown platform neither.
  const lower = Uint8Array.from(platform.cpuSvn);
  lower[0] = 10;
  await expectProblem(
    await get(`/pckcert?encrypted_ppid=${hexOf(platform.ppid)}&cpusvn=${hexOf(lower)}&pcesvn=0d00&pceid=0000`),
    404,
  );
  await expectProblem(await get(`/pckcert?encrypted_ppid=${'ff'.repeat(16)}&pceid=0000`), 404);
  await expectProblem(await get(`/pckcert?encrypted_ppid=xyz&pceid=0000`), 400);
  await expectProblem(await get(`/pckcert?pceid=0000`), 400);
});

test('tcb: the signed TCB info body with both issuer-chain headers; unknown FMSPC 404, bad FMSPC 400', async () => {
  const res = await get('/tcb?fmspc=00A067110000');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const chain = chainOf(res, 'TCB-Info-Issuer-Chain');
  assert.deepEqual(chainOf(res, 'SGX-TCB-Info-Issuer-Chain'), chain);
  assert.deepEqual(chain, [m.tcbSigningCertificate, m.root]);
  const body = await res.text();
  const text = sliceMember(body, 'tcbInfo');
  assert.ok(sigOk(text, JSON.parse(body).signature as string, chain[0]));
  assert.equal(JSON.parse(text).fmspc, '00A067110000');
  await expectProblem(await get('/tcb?fmspc=00A067110001'), 404);
  await expectProblem(await get('/tcb?fmspc=00A0671100'), 400);
  await expectProblem(
    await get(`/tcb?fmspc=00A067110000&tcbEvaluationDataNumber=${m.tcbEvaluationDataNumber + 5}`),
    404,
  );
});

test('qe/identity: the signed QE identity with SGX-Enclave-Identity-Issuer-Chain', async () => {
  const res = await get('/qe/identity?update=standard');
  assert.equal(res.status, 200);
  const chain = chainOf(res, 'SGX-Enclave-Identity-Issuer-Chain');
  assert.deepEqual(chain, [m.tcbSigningCertificate, m.root]);
  const body = await res.text();
  const text = sliceMember(body, 'enclaveIdentity');
  assert.ok(sigOk(text, JSON.parse(body).signature as string, chain[0]));
  assert.equal(JSON.parse(text).mrsigner, '01'.repeat(32));
});

test('pckcrl (PEM and DER) with SGX-PCK-CRL-Issuer-Chain, rootcacrl (hex and DER); revocations show up', async () => {
  const pem = await get('/pckcrl?ca=processor');
  assert.equal(pem.status, 200);
  assert.deepEqual(chainOf(pem, 'SGX-PCK-CRL-Issuer-Chain'), [m.caCertificate('processor'), m.root]);
  const fromPem = pemBlocks(await pem.text(), 'X509 CRL')[0];
  const der = await get('/pckcrl?ca=platform&encoding=der');
  assert.equal(der.status, 200);
  assert.equal(der.headers.get('content-type'), 'application/pkix-crl');
  assert.deepEqual(chainOf(der, 'SGX-PCK-CRL-Issuer-Chain'), [m.caCertificate('platform'), m.root]);
  assert.deepEqual(new Uint8Array(await der.arrayBuffer()), await m.pckCrl('platform'));
  assert.deepEqual(crlContents(fromPem).revoked, []);
  await expectProblem(await get('/pckcrl?ca=intel'), 400);
  await expectProblem(await get('/pckcrl?ca=processor&encoding=xml'), 400);

  m.revokePck(pck);
  const after = pemBlocks(await (await get('/pckcrl?ca=processor')).text(), 'X509 CRL')[0];
  assert.deepEqual(crlContents(after).revoked, [
    { serial: new X509Certificate(pck).serialNumber.toLowerCase(), reason: 1 },
  ]);

  const rootHex = await (await get('/rootcacrl')).text();
  assert.match(rootHex, /^[0-9a-f]+$/);
  assert.deepEqual(new Uint8Array(Buffer.from(rootHex, 'hex')), await m.rootCaCrl());
  const rootDer = await get('/rootcacrl?encoding=der');
  assert.deepEqual(new Uint8Array(await rootDer.arrayBuffer()), await m.rootCaCrl());
});

test('unknown paths are application/problem+json 404', async () => {
  await expectProblem(await get('/nothing-here'), 404);
  await expectProblem(
    await fetch(url.replace('/sgx/certification/v4', '/'), { signal: AbortSignal.timeout(10_000) }),
    404,
  );
});

test("dcap-qvl's PCCS client fetches a full collateral set from the emulated PCS, and its chains verify under the emulated root", async () => {
  const { getCollateralForFmspc } = require('@phala/dcap-qvl/src/collateral.js') as {
    getCollateralForFmspc: (u: string, fmspc: string, ca: string, sgx: boolean) => Promise<Record<string, unknown>>;
  };
  const { utils } = require('@phala/dcap-qvl') as {
    utils: {
      extractCerts(b: Buffer): Buffer[];
      verifyCertificateChain(l: Buffer, c: Buffer[], t: number, crls: Buffer[], r: Buffer): boolean;
    };
  };
  const c = await getCollateralForFmspc(url.replace('/sgx/certification/v4', ''), '00A067110000', 'processor', true);
  assert.equal(
    c.tcb_info,
    m.tcbInfo(platform.fmspc).text,
    'dcap-qvl re-serialises the TCB info and gets our signed text back',
  );
  assert.equal(c.qe_identity, m.qeIdentity().text);
  const crls = [Buffer.from(c.root_ca_crl as number[]), Buffer.from(c.pck_crl as number[])];
  assert.deepEqual(new Uint8Array(crls[0]), await m.rootCaCrl());
  assert.deepEqual(new Uint8Array(crls[1]), await m.pckCrl('processor'));
  const now = Math.floor(Date.now() / 1000);
  const tcbChain = utils.extractCerts(Buffer.from(c.tcb_info_issuer_chain as string));
  assert.ok(utils.verifyCertificateChain(tcbChain[0], tcbChain.slice(1), now, crls, Buffer.from(m.root)));
  assert.ok(sigOk(c.tcb_info, Buffer.from(c.tcb_info_signature as number[]).toString('hex'), tcbChain[0]));
  // The PCK revoked above is refused by dcap-qvl with the fetched CRL.
  const pckChain = utils.extractCerts(Buffer.from(c.pck_crl_issuer_chain as string));
  assert.throws(
    () => utils.verifyCertificateChain(Buffer.from(pck), pckChain, now, crls, Buffer.from(m.root)),
    /revoked/,
  );
});

/** Runs `catena emulate pcs` and resolves with its JSON line; the caller stops it. */
function startCli(
  args: string[],
): Promise<{ child: ReturnType<typeof spawn>; info: { url: string; root: string; rootSha256: string } }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'catena.js'), 'emulate', 'pcs', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolveStart, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`catena emulate pcs did not start: ${err}`));
    }, 20_000);
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      out += d;
      try {
        const info = JSON.parse(out);
        clearTimeout(timer);
        resolveStart({ child, info });
      } catch {
        // not complete yet
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`catena emulate pcs exited ${code}: ${err}`));
    });
  });
}

/** SIGTERM, then the exit code (or the name of the signal that ended it). */
function stopCli(child: ReturnType<typeof spawn>): Promise<number | string | null> {
  return new Promise((done) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.removeAllListeners('exit');
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      done(code ?? signal);
    });
    child.kill('SIGTERM');
  });
}

test('catena emulate pcs --listen 127.0.0.1:0 --data DIR --json: serves, stops on SIGTERM with exit 0, keeps its root across restarts', async () => {
  const data = join(tmp, 'pcs-data');
  const first = await startCli(['--listen', '127.0.0.1:0', '--data', data, '--json']);
  try {
    assert.match(first.info.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(first.info.root, /^[0-9a-f]+$/);
    const res = await fetch(`${first.info.url}/sgx/certification/v4/tcb?fmspc=${hexOf(DEFAULT_FMSPC)}`, {
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(res.status, 200, 'a fresh manufacturer serves the default FMSPC of emulated platforms');
    const chain = chainOf(res, 'TCB-Info-Issuer-Chain');
    assert.equal(hexOf(chain[1]), first.info.root);
    // The CRL distribution point of the root names this very service.
    assert.ok(
      Buffer.from(chain[1])
        .toString('latin1')
        .includes(`${first.info.url.replace('http://', '')}/sgx/certification/v4/rootcacrl`),
    );
  } finally {
    assert.equal(await stopCli(first.child), 0);
  }
  assert.ok(existsSync(join(data, 'manufacturer.json')));
  const second = await startCli(['--listen', '127.0.0.1:0', '--data', data, '--json']);
  try {
    assert.equal(second.info.root, first.info.root, 'same root after a restart');
  } finally {
    assert.equal(await stopCli(second.child), 0);
  }
});

test('catena emulate pcs refuses a malformed --listen with exit 2', async () => {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'catena.js'), 'emulate', 'pcs', '--listen', 'nonsense'], {
    cwd: ROOT,
    stdio: 'ignore',
  });
  const code = await new Promise<number | null>((done) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (c) => {
      clearTimeout(timer);
      done(c);
    });
  });
  assert.equal(code, 2);
});
