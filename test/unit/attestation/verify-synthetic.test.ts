import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { DcapVerifier, verifyQuote, type Appraisal, type AppraisalPolicy } from '../../../src/attestation/index.ts';
import type { Collateral, CollateralSource } from '../../../src/attestation/collateral/types.ts';
import { generateP256 } from '../../../src/crypto/ecdsa.ts';
import { CatenaError } from '../../../src/errors.ts';
import { issueCertificate } from '../../../src/sgx/manufacturer/issue-certificate.ts';
import { certificatePem } from '../../../src/sgx/manufacturer/keys.ts';
import { syntheticEvidence, type SyntheticEvidence, type SyntheticOptions } from '../../helpers/synthetic-dcap.ts';

/**
 * The verifier on evidence made from scratch under a test PKI (test/helpers/synthetic-dcap.ts): v4 SGX and
 * TDX quotes with collateral the test signs, so a TDX TCB info, a TD report or a QE identity can differ from
 * the good one in exactly one respect. Each rejection is asserted by its code and check, and by the list of
 * failing checks; no appraisal may carry ERR_VERIFIER_INTERNAL.
 */
const failing = (a: Appraisal) => a.checks.filter((c) => !c.ok && !c.skipped).map((c) => c.name);
const check = (a: Appraisal, name: string) => a.checks.find((c) => c.name === name);

function verify(
  e: SyntheticEvidence,
  o: { collateral?: Collateral; policy?: AppraisalPolicy; roots?: Uint8Array[]; at?: Date; quote?: Uint8Array } = {},
): Promise<Appraisal> {
  return verifyQuote(o.quote ?? e.quote, {
    collateral: o.collateral ?? e.collateral,
    at: o.at ?? e.at,
    trustedRoots: o.roots ?? [e.root],
    ...(o.policy ? { policy: o.policy } : {}),
  });
}

async function make(o: SyntheticOptions = {}): Promise<[SyntheticEvidence, Appraisal]> {
  const e = await syntheticEvidence(o);
  return [e, await verify(e)];
}

function noInternal(a: Appraisal): void {
  assert.ok(!a.checks.some((c) => c.code === 'ERR_VERIFIER_INTERNAL'), JSON.stringify(a.checks.at(-1)));
}

function rejected(a: Appraisal, code: string, checkName: string, alsoFailing: string[] = []): void {
  assert.equal(a.verdict, 'rejected');
  assert.equal(a.error?.code, code, a.error?.message);
  assert.equal(a.error?.check, checkName);
  assert.deepEqual(failing(a), [checkName, ...alsoFailing]);
  noInternal(a);
}

function accepted(a: Appraisal): void {
  assert.equal(a.verdict, 'accepted', a.error?.message);
  assert.deepEqual(failing(a), []);
}

test('the good synthetic evidence is accepted: v3 SGX, v4 SGX, v4 TDX, and the appraisal reports what was judged', async () => {
  for (const [o, format] of [
    [{}, /^v3 SGX quote, \d+ bytes$/],
    [{ version: 4 }, /^v4 SGX quote, \d+ bytes$/],
    [{ tee: 'tdx' }, /^v4 TDX quote, \d+ bytes$/],
  ] as const) {
    const [e, a] = await make(o);
    accepted(a);
    assert.equal(a.tcbStatus, 'UpToDate');
    assert.deepEqual(a.advisoryIds, []);
    assert.match(check(a, 'quote.format')!.detail!, format);
    const tdx = 'tee' in o;
    assert.deepEqual(a.collateral, {
      origin: 'synthetic',
      tcbInfo: {
        issueDate: new Date(e.at.getTime() - 86_400_000).toISOString(),
        nextUpdate: new Date(e.at.getTime() + 29 * 86_400_000).toISOString(),
        tcbEvaluationDataNumber: 17,
        version: 3,
        id: tdx ? 'TDX' : 'SGX',
      },
      qeIdentity: {
        issueDate: new Date(e.at.getTime() - 86_400_000).toISOString(),
        nextUpdate: new Date(e.at.getTime() + 29 * 86_400_000).toISOString(),
        tcbEvaluationDataNumber: 17,
        id: tdx ? 'TD_QE' : 'QE',
      },
    });
    assert.deepEqual(a.qe, {
      mrEnclave: '66'.repeat(32),
      mrSigner: '5a'.repeat(32),
      isvProdId: tdx ? 2 : 1,
      isvSvn: 8,
      tcbStatus: 'UpToDate',
    });
    assert.equal(check(a, 'tcb.platformLevel')?.detail, 'level of 2026-01-01: UpToDate');
    assert.equal(check(a, 'pck.fmspcPceId')?.detail, 'FMSPC 00906ed50000, PCE-ID 0000');
    assert.equal(check(a, 'pck.revocation')?.detail, 'no certificate on the path is revoked');
    // Every check, by name and in order; the caller's own root; the collateral's origin as its source.
    assert.deepEqual(
      a.checks.map((c) => c.name),
      [...ACCEPTED_CHECKS, ...(tdx ? ['policy.serviceTd'] : [])].filter((n) => tdx || n !== 'tdx.module'),
    );
    assert.equal(a.rootIsIntel, false);
    assert.equal(check(a, 'collateral.source')?.detail, 'synthetic');
    // The quote summary: header fields, and ATTRIBUTES as the REPORT holds them (flags, then XFRM, little-endian).
    const { version, qeSvn, pceSvn, teeType, mrSigner, isvProdId, debug, attributes } = a.quote!;
    assert.deepEqual(
      { version, qeSvn, pceSvn, teeType, mrSigner, isvProdId, debug, attributes },
      tdx
        ? {
            version: 4,
            qeSvn: 8,
            pceSvn: 13,
            teeType: 'tdx',
            mrSigner: '',
            isvProdId: 0,
            debug: false,
            attributes: '00'.repeat(8),
          }
        : {
            version: o.version ?? 3,
            qeSvn: 8,
            pceSvn: 13,
            teeType: 'sgx',
            mrSigner: '22'.repeat(32),
            isvProdId: 1,
            debug: false,
            attributes: '0500000000000000' + '0300000000000000',
          },
    );
  }
});

const ACCEPTED_CHECKS = [
  'quote.format',
  'quote.header',
  'pck.chain',
  'pck.extension',
  'collateral.source',
  'crl.rootCa',
  'crl.pck',
  'collateral.tcbSigningChain',
  'pck.revocation',
  'collateral.tcbInfo',
  'collateral.tcbInfoWindow',
  'collateral.qeIdentity',
  'collateral.qeIdentityWindow',
  'pck.fmspcPceId',
  'qe.reportSignature',
  'qe.keyBinding',
  'qe.identity',
  'quote.signature',
  'tcb.platformLevel',
  'tdx.module',
  'tcb.status',
  'policy.tcbStatus',
  'policy.advisories',
  'policy.debug',
  'policy.identity',
  'policy.reportData',
];

test('the quote summary: a TD with TD_ATTRIBUTES bit 0 (TUD.DEBUG) set is reported as debug', async () => {
  const tdAttributes = Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0]);
  const [, a] = await make({ tee: 'tdx', td: { tdAttributes } });
  assert.equal(a.quote?.debug, true);
  assert.equal(a.quote?.attributes, '0100000000000000');
});

test('the quote summary of a v5 TD report 1.5 body carries MR_SERVICETD and TEE_TCB_SVN2', async () => {
  const teeTcbSvn2 = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
  const [, a] = await make({ tee: 'tdx', version: 5, td: { mrServiceTd: new Uint8Array(48), teeTcbSvn2 } });
  accepted(a);
  assert.equal(a.quote?.version, 5);
  assert.equal(a.quote?.td?.mrServiceTd, '00'.repeat(48));
  assert.equal(a.quote?.td?.teeTcbSvn2, '0102030405060708090a0b0c0d0e0f10');
  const [, b] = await make({ tee: 'tdx', version: 5 });
  accepted(b);
  assert.ok(
    b.quote?.td && !('mrServiceTd' in b.quote.td) && !('teeTcbSvn2' in b.quote.td),
    'a TD report 1.0 body has neither',
  );
});

test('trusted roots: the root as a raw key (64 or 65 bytes) is not Intel; 66 bytes from 0x04 are neither a key nor a certificate', async () => {
  const [e] = await make();
  const spki = new X509Certificate(e.root).publicKey.export({ type: 'spki', format: 'der' });
  const point = new Uint8Array(spki.subarray(spki.length - 65));
  for (const raw of [point, point.subarray(1)]) {
    const a = await verify(e, { roots: [raw] });
    accepted(a);
    assert.equal(a.rootIsIntel, false, `${raw.length} bytes`);
  }
  await assert.rejects(verify(e, { roots: [Uint8Array.from([...point, 0])] }), { code: 'ERR_ARGUMENT' });
});

test('a skipped check is not ok, says why it was not evaluated, and carries its code', async () => {
  const [e] = await make();
  const [other] = await make();
  const a = await verify(e, { roots: [other.root] });
  assert.deepEqual(check(a, 'qe.reportSignature'), {
    name: 'qe.reportSignature',
    ok: false,
    skipped: true,
    detail: 'not evaluated: the PCK certificate is not verified (pck.chain failed)',
    code: 'ERR_QE_REPORT_SIGNATURE',
  });
  // What needs the verified chain is skipped, by name.
  for (const n of ['crl.rootCa', 'crl.pck', 'pck.revocation']) assert.equal(check(a, n)?.skipped, true, n);
});

test('collateral.source: a source is asked for this FMSPC, PCK CA and TEE; its failure is its code, or ERR_COLLATERAL_UNAVAILABLE', async () => {
  for (const tee of ['sgx', 'tdx'] as const) {
    const e = await syntheticEvidence({ tee });
    const asked: unknown[] = [];
    const source: CollateralSource = {
      get: async (req, at) => {
        asked.push([req, at]);
        return e.collateral;
      },
    };
    const a = await verifyQuote(e.quote, { collateral: source, at: e.at, trustedRoots: [e.root] });
    accepted(a);
    assert.deepEqual(asked, [[{ fmspc: '00906ed50000', pckCa: 'processor', teeType: tee }, e.at]]);
    assert.equal(check(a, 'collateral.source')?.detail, 'synthetic');
  }
  const e = await syntheticEvidence();
  const failingWith = (err: Error) =>
    verifyQuote(e.quote, {
      collateral: { get: () => Promise.reject(err) },
      at: e.at,
      trustedRoots: [e.root],
    });
  rejected(await failingWith(new Error('offline')), 'ERR_COLLATERAL_UNAVAILABLE', 'collateral.source');
  // A Node system error has a code of its own: not a Catena code.
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  rejected(await failingWith(refused), 'ERR_COLLATERAL_UNAVAILABLE', 'collateral.source');
  const a = await failingWith(new CatenaError('ERR_COLLATERAL_FORMAT', 'not a PCS body'));
  rejected(a, 'ERR_COLLATERAL_FORMAT', 'collateral.source');
  // Without collateral, every check that needs it is skipped.
  assert.deepEqual(
    a.checks.filter((c) => c.skipped).map((c) => c.name),
    [
      'crl.rootCa',
      'crl.pck',
      'collateral.tcbSigningChain',
      'pck.revocation',
      'collateral.tcbInfo',
      'collateral.tcbInfoWindow',
      'collateral.qeIdentity',
      'collateral.qeIdentityWindow',
      'pck.fmspcPceId',
      'qe.identity',
      'tcb.platformLevel',
      'tcb.status',
      'policy.tcbStatus',
    ],
  );
});

test('collateral.source: without a readable PCK certificate and its extension no source is asked', async () => {
  const never: CollateralSource = { get: () => Promise.reject(new Error('asked')) };
  // The PCK CA and the root only: a chain, but its leaf (the CA) has no SGX extension.
  const [e, a] = await make({ pem: (p) => p.slice(p.indexOf('-----BEGIN', 1)) });
  rejected(a, 'ERR_PCK_EXTENSION', 'pck.extension', ['crl.pck', 'qe.reportSignature']);
  const b = await verifyQuote(e.quote, { collateral: never, at: e.at, trustedRoots: [e.root] });
  rejected(b, 'ERR_PCK_EXTENSION', 'pck.extension', ['qe.reportSignature']);
  assert.equal(check(b, 'collateral.source')?.skipped, true);
  const [f] = await make({ pem: () => '' });
  const c = await verifyQuote(f.quote, { collateral: never, at: f.at, trustedRoots: [f.root] });
  rejected(c, 'ERR_PCK_CHAIN', 'pck.chain');
  assert.equal(check(c, 'collateral.source')?.skipped, true);
  assert.equal(check(c, 'pck.extension')?.skipped, true);
});

/** A certificate that neither issues nor is issued by any of the synthetic ones (a second leaf). */
async function strayLeafPem(): Promise<string> {
  const k = generateP256();
  return certificatePem(
    await issueCertificate({
      subject: 'Stray leaf',
      issuer: 'Stray CA',
      issuerKey: k.privateKey,
      publicKey: k.publicKey,
      notBefore: new Date('2026-01-01T00:00:00Z'),
      notAfter: new Date('2027-01-01T00:00:00Z'),
      crlUrl: 'https://pcs.invalid/crl',
    }),
  );
}

test('pck.chain: the PEM is read strictly, and certificates with two leaves are refused', async () => {
  // A space between two PEM blocks: a lenient reader would skip it.
  const [, a] = await make({ pem: (p) => p.replace('-----END CERTIFICATE-----\n', '-----END CERTIFICATE-----\n \n') });
  rejected(a, 'ERR_PCK_CHAIN', 'pck.chain');
  assert.match(a.error!.message, /PCK certificates unreadable/);
  const stray = await strayLeafPem();
  const [, b] = await make({ pem: (p) => stray + p });
  rejected(b, 'ERR_PCK_CHAIN', 'pck.chain');
  assert.match(b.error!.message, /cannot tell the PCK leaf/);
});

test('qe.reportSignature: a PCK leaf whose key is Ed25519 (its chain builds) cannot have signed the QE report', async () => {
  const [, a] = await make({ pckLeafEd25519: true });
  assert.equal(check(a, 'pck.chain')?.ok, true, check(a, 'pck.chain')?.detail);
  rejected(a, 'ERR_QE_REPORT_SIGNATURE', 'qe.reportSignature');
});

test('collateral.tcbSigningChain: an unreadable certificate, or two leaves, is ERR_TCB_SIGNING_CHAIN', async () => {
  const [e] = await make();
  const junk = Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x00]);
  const a = await verify(e, {
    collateral: { ...e.collateral, tcbSigningChain: [junk, ...e.collateral.tcbSigningChain] },
  });
  rejected(a, 'ERR_TCB_SIGNING_CHAIN', 'collateral.tcbSigningChain');
  assert.match(a.error!.message, /^collateral\.tcbSigningChain: TCB signing chain unreadable: /);
  const stray = (await strayLeafPem()).replace(/-----[A-Z ]+-----|\s/g, '');
  const two = [Uint8Array.from(Buffer.from(stray, 'base64')), ...e.collateral.tcbSigningChain];
  const b = await verify(e, { collateral: { ...e.collateral, tcbSigningChain: two } });
  rejected(b, 'ERR_TCB_SIGNING_CHAIN', 'collateral.tcbSigningChain');
  assert.match(
    b.error!.message,
    /^collateral\.tcbSigningChain: TCB signing chain: cannot tell the signing certificate/,
  );
});

test('collateral.tcbInfoWindow / .qeIdentityWindow: collateral issued after the verification time is ERR_COLLATERAL_EXPIRED', async () => {
  const later = (x: Record<string, unknown>) => void (x.issueDate = '2026-06-01T01:00:00Z');
  const [, a] = await make({ tcbInfo: later });
  rejected(a, 'ERR_COLLATERAL_EXPIRED', 'collateral.tcbInfoWindow');
  assert.match(a.error!.message, /: TCB info issued 2026-06-01T01:00:00.000Z, after /);
  const [, b] = await make({ qeIdentity: later });
  rejected(b, 'ERR_COLLATERAL_EXPIRED', 'collateral.qeIdentityWindow');
  assert.match(b.error!.message, /: QE identity issued 2026-06-01T01:00:00.000Z, after /);
});

test('validity under a collateral-age policy ends at the last millisecond the age check still holds (it floors to seconds)', async () => {
  // The collateral is issued one day before e.at: a one-day limit holds until e.at + 999 ms.
  const [e] = await make();
  const policy = { maxCollateralAgeSeconds: 86_400 };
  const t = e.at.getTime();
  for (const at of [new Date(t), new Date(t + 500), new Date(t + 999)]) {
    const a = await verify(e, { at, policy });
    accepted(a);
    assert.deepEqual(a.validity, {
      from: new Date(t - 86_400_000).toISOString(),
      until: new Date(t + 999).toISOString(),
    });
  }
  rejected(await verify(e, { at: new Date(t + 1000), policy }), 'ERR_COLLATERAL_TOO_OLD', 'policy.collateralAge');
});

test("td.eventLog: an event log given for an SGX enclave's quote is refused", async () => {
  const e = await syntheticEvidence();
  const a = await verifyQuote(e.quote, {
    collateral: e.collateral,
    at: e.at,
    trustedRoots: [e.root],
    eventLog: new Uint8Array(8),
  });
  rejected(a, 'ERR_EVENT_LOG_MISMATCH', 'td.eventLog');
});

test('quote.format: zero padding is accepted after a v4 TDX quote only; after a v4 or v3 SGX quote it is ERR_TRAILING_BYTES', async () => {
  accepted((await make({ tee: 'tdx', padding: 16 }))[1]);
  rejected((await make({ version: 4, padding: 16 }))[1], 'ERR_TRAILING_BYTES', 'quote.format');
  rejected((await make({ padding: 16 }))[1], 'ERR_TRAILING_BYTES', 'quote.format');
});

test('a malformed quote under a collateral-age policy is refused by quote.format alone (the policy has no dates)', async () => {
  const [e] = await make();
  const a = await verify(e, { quote: e.quote.subarray(0, 100), policy: { maxCollateralAgeSeconds: 86_400 } });
  rejected(a, 'ERR_SHORT_INPUT', 'quote.format');
  assert.equal(check(a, 'policy.collateralAge')?.skipped, true);
  // No TCB level was judged: no advisory either.
  assert.deepEqual(a.advisoryIds, []);
});

test('pck.chain: certification data that holds no readable certificate is ERR_PCK_CHAIN', async () => {
  const [, a] = await make({ pem: (p) => p.replace(/^(-----BEGIN CERTIFICATE-----\n)M/, '$1!') });
  rejected(a, 'ERR_PCK_CHAIN', 'pck.chain');
  assert.match(a.error!.message, /PCK certificates unreadable/);
});

test('qe.reportSignature is not evaluated when the PCK chain does not verify', async () => {
  const [e] = await make();
  const [other] = await make();
  const a = await verify(e, { roots: [other.root] });
  assert.equal(a.error?.code, 'ERR_PCK_CHAIN');
  assert.equal(check(a, 'qe.reportSignature')?.skipped, true);
  noInternal(a);
});

test('crl.rootCa / crl.pck: a CRL that does not parse is ERR_ROOT_CA_CRL / ERR_PCK_CRL', async () => {
  const [e] = await make();
  const junk = Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x00]);
  rejected(await verify(e, { collateral: { ...e.collateral, rootCaCrl: junk } }), 'ERR_ROOT_CA_CRL', 'crl.rootCa');
  rejected(await verify(e, { collateral: { ...e.collateral, pckCrl: junk } }), 'ERR_PCK_CRL', 'crl.pck');
  const a = await verify(e, { collateral: { ...e.collateral, pckCrl: junk } });
  assert.match(a.error!.message, /PCK CRL unreadable/);
});

test('collateral.tcbSigningChain: a bad TCB signing chain, or a bad separate QE identity signing chain, is ERR_TCB_SIGNING_CHAIN', async () => {
  const [e] = await make();
  const [other] = await make();
  const good = e.collateral.tcbSigningChain;
  const bad = other.collateral.tcbSigningChain; // to a root the verifier does not trust
  accepted(await verify(e, { collateral: { ...e.collateral, qeIdentitySigningChain: good } }));
  for (const collateral of [
    { ...e.collateral, tcbSigningChain: bad, qeIdentitySigningChain: good },
    { ...e.collateral, tcbSigningChain: good, qeIdentitySigningChain: bad },
  ]) {
    const a = await verify(e, { collateral });
    assert.equal(a.error?.code, 'ERR_TCB_SIGNING_CHAIN', a.error?.message);
    assert.equal(a.error?.check, 'collateral.tcbSigningChain');
    noInternal(a);
    // Which chain failed, and the signed collateral it would have checked is skipped for that reason.
    const which = collateral.tcbSigningChain === bad ? 'TCB signing chain' : 'QE identity signing chain';
    const detail = check(a, 'collateral.tcbSigningChain')!.detail!;
    assert.ok(detail.startsWith(`${which}: `), detail);
    assert.equal(check(a, 'collateral.tcbInfo')?.detail, `not evaluated: ${detail}`);
  }
});

test('pck.revocation: only the certificates between root and leaf are judged by the Root CA CRL', async () => {
  // The root and the PCK leaf on the Root CA CRL: neither is the Root CA's to revoke there.
  const [e, a] = await make({ rootCrlRevoked: ['2001', '5c01'] });
  accepted(a);
  // The PCK CA and the TCB signing certificate are.
  const [, b] = await make({ rootCrlRevoked: [e.serials.pckCa] });
  rejected(b, 'ERR_CERT_REVOKED', 'pck.revocation');
  assert.match(b.error!.message, /revoked: "Catena Emulated SGX PCK Processor CA" \(0ca1\)$/);
  const [, c] = await make({ rootCrlRevoked: [e.serials.tcbSigning] });
  rejected(c, 'ERR_CERT_REVOKED', 'pck.revocation');
  assert.match(c.error!.message, /\(7cb1\)$/);
});

test('collateral.tcbInfo: an SGX quote may have a TCB info v2; a TDX quote needs a TDX TCB info, and TD_QE identity', async () => {
  const v2 = (o: Record<string, unknown>) => {
    delete o.id;
    o.version = 2;
    o.tcbLevels = (o.tcbLevels as Array<{ tcb: { sgxtcbcomponents: Array<{ svn: number }>; pcesvn: number } }>).map(
      (l) => ({
        ...l,
        tcb: {
          ...Object.fromEntries(
            l.tcb.sgxtcbcomponents.map((c, i) => [`sgxtcbcomp${String(i + 1).padStart(2, '0')}svn`, c.svn]),
          ),
          pcesvn: l.tcb.pcesvn,
        },
      }),
    );
  };
  const [, a] = await make({ tcbInfo: v2 });
  accepted(a);
  assert.equal(a.collateral?.tcbInfo?.version, 2);
  const [, b] = await make({ tee: 'tdx', tcbInfo: (o) => void (o.id = 'SGX') });
  assert.equal(b.error?.code, 'ERR_TCB_INFO', b.error?.message);
  assert.equal(b.error?.check, 'collateral.tcbInfo');
  noInternal(b);
  const [, c] = await make({ tee: 'tdx', qeIdentity: (o) => void (o.id = 'QE') });
  rejected(c, 'ERR_QE_IDENTITY', 'collateral.qeIdentity');
  assert.match(c.error!.message, /is not TD_QE/);
});

test('collateral.tcbInfo / .qeIdentity: signed text that does not parse fails its check, the dependent checks are skipped', async () => {
  const policy = { maxCollateralAgeSeconds: 7 * 86_400 };
  const [e] = await make({ tcbInfo: (o) => void delete o.fmspc });
  const a = await verify(e, { policy });
  rejected(a, 'ERR_TCB_INFO', 'collateral.tcbInfo');
  for (const n of ['collateral.tcbInfoWindow', 'pck.fmspcPceId', 'tcb.platformLevel', 'tcb.status'])
    assert.equal(check(a, n)?.skipped, true, n);
  assert.equal(check(a, 'policy.collateralAge')?.ok, true);
  const [f] = await make({ qeIdentity: (o) => void delete o.mrsigner });
  const b = await verify(f, { policy });
  rejected(b, 'ERR_QE_IDENTITY', 'collateral.qeIdentity');
  for (const n of ['collateral.qeIdentityWindow', 'qe.identity', 'tcb.status'])
    assert.equal(check(b, n)?.skipped, true, n);
  // The platform's level was found: the appraisal still reports it.
  assert.equal(b.tcbStatus, 'UpToDate');
  assert.equal(check(b, 'policy.collateralAge')?.ok, true);
});

test('pck.fmspcPceId: a TCB info for another FMSPC (same PCE-ID) is ERR_FMSPC_MISMATCH, and says so', async () => {
  const [, a] = await make({ tcbInfo: (o) => void (o.fmspc = '00906ED50001') });
  rejected(a, 'ERR_FMSPC_MISMATCH', 'pck.fmspcPceId');
  assert.equal(
    check(a, 'pck.fmspcPceId')?.detail,
    'TCB info is for FMSPC 00906ed50001 / PCE-ID 0000, the PCK certificate says 00906ed50000 / 0000',
  );
});

test('qe.identity: MISCSELECT and its mask are read little-endian, ATTRIBUTES as the REPORT holds them', async () => {
  // MISCSELECT bit 0 under mask 0x000000FF: the QE (MISCSELECT 0) differs.
  const [, a] = await make({
    qeIdentity: (o) => {
      o.miscselect = '01000000';
      o.miscselectMask = 'FF000000';
    },
  });
  rejected(a, 'ERR_QE_IDENTITY_MISMATCH', 'qe.identity');
  assert.match(a.error!.message, /MISCSELECT differs under the mask/);
  // XFRM 3 (bytes 8..15 of ATTRIBUTES, little-endian) is what the identity expects under its mask.
  const xfrm = (o: Record<string, unknown>) => {
    o.attributes = '11000000000000000300000000000000';
    o.attributesMask = 'FBFFFFFFFFFFFFFFFF00000000000000';
  };
  accepted((await make({ qeReport: { attributes: { flags: 0x15n, xfrm: 3n } }, qeIdentity: xfrm }))[1]);
  const [, b] = await make({ qeReport: { attributes: { flags: 0x15n, xfrm: 0x300n } }, qeIdentity: xfrm });
  rejected(b, 'ERR_QE_IDENTITY_MISMATCH', 'qe.identity');
});

test('qe.identity: a QE below every level is Revoked with no advisory of its own', async () => {
  const [, a] = await make({
    qeIdentity: (o) =>
      void (o.tcbLevels = [{ tcb: { isvsvn: 9 }, tcbDate: '2026-01-01T00:00:00Z', tcbStatus: 'UpToDate' }]),
  });
  rejected(a, 'ERR_QE_IDENTITY_MISMATCH', 'qe.identity', ['tcb.status', 'policy.tcbStatus']);
  assert.equal(a.tcbStatus, 'Revoked');
  assert.deepEqual(a.advisoryIds, []);
});

test('a warm verifier checks the QE report signature of each quote it sees', async () => {
  const [e] = await make();
  const v = new DcapVerifier();
  const opts = { collateral: e.collateral, at: e.at, trustedRoots: [e.root] };
  accepted(await v.verify(e.quote, opts));
  const bad = Uint8Array.from(e.quote);
  const qeReportSignature = 48 + 384 + 4 + 64 + 64 + 384; // header, body, sig_data_len, signature, key, QE report
  bad[qeReportSignature + 63] ^= 0x01;
  rejected(await v.verify(bad, opts), 'ERR_QE_REPORT_SIGNATURE', 'qe.reportSignature');
});

test('tcb.platformLevel: a TDX platform is matched by its TEE_TCB_SVN too', async () => {
  const teeTcbSvn = Uint8Array.from([6, 1, 1, ...new Array<number>(13).fill(0)]); // late microcode 1 < 2
  const [, a] = await make({ tee: 'tdx', td: { teeTcbSvn } });
  rejected(a, 'ERR_TCB_LEVEL_NOT_FOUND', 'tcb.platformLevel');
  assert.match(a.error!.message, /TEE_TCB_SVN 06010100/);
  assert.equal(check(a, 'tdx.module')?.ok, true);
});

test("tdx.module: the module's status converges with the platform's; a module the TCB info does not name is ERR_TDX_MODULE", async () => {
  // Module ISVSVN 3: TDX_01 says OutOfDate (the platform level is lowered to let it match).
  const lower = (i: number, svn: number) => (o: Record<string, unknown>) => {
    for (const l of o.tcbLevels as Array<{ tcb: { tdxtcbcomponents: Array<{ svn: number }> } }>)
      l.tcb.tdxtcbcomponents[i].svn = svn;
  };
  const teeTcbSvn = Uint8Array.from([3, 1, 2, ...new Array<number>(13).fill(0)]);
  const [e, a] = await make({ tee: 'tdx', td: { teeTcbSvn }, tcbInfo: lower(0, 3) });
  rejected(a, 'ERR_TCB_STATUS_NOT_ACCEPTED', 'policy.tcbStatus');
  assert.equal(a.tcbStatus, 'OutOfDate');
  accepted(await verify(e, { policy: { acceptedTcbStatuses: ['OutOfDate'] } }));
  // Version 0: checked against tdxModule, no status of its own.
  const v0 = Uint8Array.from([6, 0, 2, ...new Array<number>(13).fill(0)]);
  const [, b] = await make({ tee: 'tdx', td: { teeTcbSvn: v0 }, tcbInfo: lower(1, 0) });
  accepted(b);
  assert.equal(b.tcbStatus, 'UpToDate');
  // Another MRSIGNER_SEAM: the module check fails, and no TCB status is judged or reported.
  const [, c] = await make({ tee: 'tdx', td: { mrSignerSeam: new Uint8Array(48).fill(1) } });
  rejected(c, 'ERR_TDX_MODULE', 'tdx.module');
  assert.equal(check(c, 'tcb.status')?.skipped, true);
  assert.equal(c.tcbStatus, undefined);
});

test('the validity span is the narrowest window: the PCK certificate, the Root CA CRL, the PCK CRL, TCB info, QE identity', async () => {
  const DAY = 86_400_000;
  const [base] = await make();
  const at = base.at.getTime();
  const narrow: [Date, Date] = [new Date(at - 2 * 3_600_000), new Date(at + 2 * DAY)];
  const s = (d: Date) => d.toISOString().replace('.000Z', 'Z');
  for (const o of [
    { windows: { pck: narrow } },
    { windows: { rootCrl: narrow } },
    { windows: { pckCrl: narrow } },
    { tcbInfo: (x: Record<string, unknown>) => void ((x.issueDate = s(narrow[0])), (x.nextUpdate = s(narrow[1]))) },
    { qeIdentity: (x: Record<string, unknown>) => void ((x.issueDate = s(narrow[0])), (x.nextUpdate = s(narrow[1]))) },
  ] satisfies SyntheticOptions[]) {
    const [, a] = await make(o);
    accepted(a);
    assert.deepEqual(
      a.validity,
      { from: narrow[0].toISOString(), until: narrow[1].toISOString() },
      Object.keys(o).join(),
    );
  }
});

test('crl.pck: a PCK CA whose key cannot check a P-256 signature (Ed25519) fails its CRL with ERR_PCK_CRL', async () => {
  const [, a] = await make({ pckCaEd25519: true });
  assert.equal(check(a, 'pck.chain')?.ok, true, check(a, 'pck.chain')?.detail);
  rejected(a, 'ERR_PCK_CRL', 'crl.pck');
  assert.match(a.error!.message, /signature does not verify/);
});

test("crl.pck: a CRL signed with the PCK CA's key under another issuer name is ERR_PCK_CRL", async () => {
  const [, a] = await make({ pckCrlIssuer: 'Catena Emulated SGX PCK Platform CA' });
  rejected(a, 'ERR_PCK_CRL', 'crl.pck');
  assert.match(a.error!.message, /issued by someone other than/);
});
