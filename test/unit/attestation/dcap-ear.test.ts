import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { EAR_PROFILE, issueEar, publicJwks, type Appraisal } from '../../../src/attestation/index.ts';
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
