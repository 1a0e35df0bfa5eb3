import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { EAR_PROFILE, issueEar, publicJwks, type Appraisal } from '../../../src/attestation/index.ts';
import { ArgumentError } from '../../../src/errors.ts';
import { freshKeyPair } from '../../helpers/keys.ts';

/** EAR JWTs: verifiable with jose against the published JWKS; a tampered token or another key is refused. */
const base: Appraisal = {
  verdict: 'accepted',
  tcbStatus: 'UpToDate',
  advisoryIds: [],
  rootIsIntel: true,
  at: '2025-07-01T00:00:00.000Z',
  checks: [
    { name: 'quote.signature', ok: true },
    { name: 'policy.identity', ok: true, detail: 'the enclave identity matches the policy' },
    { name: 'policy.reportData', ok: true, detail: 'REPORTDATA matches' },
  ],
  quote: {
    version: 3,
    teeType: 'sgx',
    mrEnclave: 'aa',
    mrSigner: 'bb',
    isvProdId: 0,
    isvSvn: 0,
    debug: false,
    reportData: '00',
    attributes: '05',
    qeSvn: 1,
    pceSvn: 1,
  },
};

test('issueEar → jwtVerify with the JWKS accepts it, with the EAR claims', async () => {
  const key = freshKeyPair('ec', { namedCurve: 'P-256' }).privateKey;
  const jwks = await publicJwks(key);
  assert.equal(jwks.keys.length, 1);
  assert.equal((jwks.keys[0] as Record<string, unknown>).d, undefined, 'no private part in the JWKS');
  const jwt = await issueEar(base, key, { issuer: 'https://verifier.example', nonce: 'n-123' });
  assert.equal(decodeProtectedHeader(jwt).kid, jwks.keys[0].kid);
  const { payload } = await jwtVerify(jwt, createLocalJWKSet(jwks), {
    issuer: 'https://verifier.example',
    algorithms: ['ES256'],
  });
  assert.equal(payload.eat_profile, EAR_PROFILE);
  assert.equal(payload.eat_nonce, 'n-123');
  assert.equal(typeof payload.iat, 'number');
  const sub = (payload.submods as Record<string, Record<string, unknown>>).SGX;
  assert.equal(sub['ear.status'], 'affirming');
  assert.deepEqual(sub['ear.trustworthiness-vector'], {
    hardware: 2,
    configuration: 2,
    executables: 2,
    'instance-identity': 2,
    'runtime-opaque': 2,
  });
  assert.equal((sub['ear.veraison.annotated-evidence'] as Appraisal).verdict, 'accepted');
});

test('status mapping: warning for an accepted non-UpToDate result, contraindicated for a rejection', async () => {
  const key = freshKeyPair('ec', { namedCurve: 'P-256' }).privateKey;
  const jwks = createLocalJWKSet(await publicJwks(key));
  const status = async (a: Appraisal) => {
    const { payload } = await jwtVerify(await issueEar(a, key, { issuer: 'v' }), jwks);
    return (payload.submods as Record<string, Record<string, unknown>>).SGX;
  };
  assert.equal(
    (await status({ ...base, tcbStatus: 'SWHardeningNeeded', advisoryIds: ['INTEL-SA-00615'] }))['ear.status'],
    'warning',
  );
  const rejected = await status({ ...base, verdict: 'rejected', checks: [{ name: 'quote.signature', ok: false }] });
  assert.equal(rejected['ear.status'], 'contraindicated');
  assert.equal((rejected['ear.trustworthiness-vector'] as Record<string, number>).hardware, 97);
});

test('a tampered EAR, or one checked against another key, is refused', async () => {
  const key = freshKeyPair('ec', { namedCurve: 'P-256' }).privateKey;
  const jwks = createLocalJWKSet(await publicJwks(key));
  const jwt = await issueEar({ ...base, verdict: 'rejected' }, key, { issuer: 'v' });
  const [h, p, s] = jwt.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  claims.submods.SGX['ear.status'] = 'affirming';
  const tampered = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
  await assert.rejects(jwtVerify(tampered, jwks), /signature verification failed/);
  const other = createLocalJWKSet(await publicJwks(freshKeyPair('ec', { namedCurve: 'P-256' }).privateKey));
  await assert.rejects(jwtVerify(jwt, other));
  await assert.doesNotReject(jwtVerify(jwt, jwks));
});

test('issueEar: the verifier id, no nonce claim without a nonce, annotated evidence unless annotate is false', async () => {
  const key = freshKeyPair('ec', { namedCurve: 'P-256' }).privateKey;
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  const claims = decodeJwt(await issueEar(base, key, { issuer: 'https://v.example' }));
  assert.deepEqual(claims['ear.verifier-id'], { developer: 'https://v.example', build: `catena ${pkg.version}` });
  assert.equal('eat_nonce' in claims, false);
  assert.equal('exp' in claims, false, 'no expiry unless asked');
  const sub = (c: typeof claims) => (c.submods as Record<string, Record<string, unknown>>).SGX;
  assert.equal('ear.veraison.annotated-evidence' in sub(claims), true);
  const bare = decodeJwt(await issueEar(base, key, { issuer: 'v', annotate: false }));
  assert.equal('ear.veraison.annotated-evidence' in sub(bare), false);
  assert.equal(sub(bare)['ear.status'], 'affirming');
});

test('issueEar: iat from issuedAt, exp = iat + expiresInSeconds', async () => {
  const key = freshKeyPair('ec', { namedCurve: 'P-256' }).privateKey;
  const jwks = createLocalJWKSet(await publicJwks(key));
  const issuedAt = new Date('2025-07-01T12:00:00.750Z');
  const secs = Date.parse('2025-07-01T12:00:00Z') / 1000;
  const jwt = await issueEar(base, key, { issuer: 'v', issuedAt, expiresInSeconds: 600 });
  const claims = decodeJwt(jwt);
  assert.equal(claims.iat, secs);
  assert.equal(claims.exp, secs + 600);
  // jose agrees: valid just before exp, expired at it.
  await assert.doesNotReject(jwtVerify(jwt, jwks, { currentDate: new Date((secs + 599) * 1000) }));
  await assert.rejects(jwtVerify(jwt, jwks, { currentDate: new Date((secs + 600) * 1000) }), /"exp"/);
  assert.equal(decodeJwt(await issueEar(base, key, { issuer: 'v', issuedAt })).iat, secs);
  // Without issuedAt: now, and exp that many seconds later (the two reads of the clock may straddle a second).
  const now = decodeJwt(await issueEar(base, key, { issuer: 'v', expiresInSeconds: 60 }));
  assert.equal(typeof now.iat, 'number');
  assert.ok(now.exp! - now.iat! >= 60 && now.exp! - now.iat! <= 61, `${now.exp} - ${now.iat}`);
});

test('issueEar / publicJwks: an issuer is required; only a P-256 key signs', async () => {
  const key = freshKeyPair('ec', { namedCurve: 'P-256' }).privateKey;
  const noIssuer = { name: 'ArgumentError', message: 'issueEar: issuer is required' };
  await assert.rejects(issueEar(base, key, { issuer: '' }), noIssuer);
  await assert.rejects(issueEar(base, key, undefined as unknown as { issuer: string }), noIssuer);
  const wrongKey = (e: unknown) =>
    e instanceof ArgumentError && e.message === 'EAR signing key: expected ECDSA P-256 (ES256)';
  const p384 = freshKeyPair('ec', { namedCurve: 'P-384' }).privateKey;
  const ed = generateKeyPairSync('ed25519').privateKey;
  for (const k of [p384, ed]) {
    await assert.rejects(publicJwks(k), wrongKey);
    await assert.rejects(issueEar(base, k, { issuer: 'v' }), wrongKey);
  }
});

test('issueEar: the header, the profile and policy id of the EAR draft and docs, and the submodule name', async () => {
  const key = freshKeyPair('ec', { namedCurve: 'P-256' }).privateKey;
  const jwt = await issueEar(base, key, { issuer: 'v' });
  const header = decodeProtectedHeader(jwt);
  assert.equal(header.alg, 'ES256');
  assert.equal(header.typ, 'JWT');
  // draft-fv-rats-ear's profile tag, and the policy id docs/verification.md gives.
  assert.equal(EAR_PROFILE, 'tag:github.com,2023:veraison/ear');
  const docs = readFileSync(new URL('../../../docs/verification.md', import.meta.url), 'utf8');
  const policyId = /`ear\.appraisal-policy-id`: `([^`]+)`/.exec(docs)?.[1];
  assert.ok(policyId);
  const subs = (c: Record<string, unknown>) => c.submods as Record<string, Record<string, unknown>>;
  assert.equal(subs(decodeJwt(jwt)).SGX['ear.appraisal-policy-id'], policyId);
  const names = async (a: Appraisal, submod?: string) =>
    Object.keys(subs(decodeJwt(await issueEar(a, key, { issuer: 'v', submod }))));
  assert.deepEqual(await names({ ...base, quote: undefined }), ['DCAP']);
  assert.deepEqual(await names({ ...base, quote: { ...base.quote!, teeType: 'tdx' } }), ['TDX']);
  assert.deepEqual(await names(base, 'enclave-a'), ['enclave-a']);
});
