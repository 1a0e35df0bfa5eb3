import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  alwaysRejectVerifier,
  CHECK_CODES,
  directoryCollateral,
  parsePolicy,
  pemCertificates,
  verifyQuote,
  type Appraisal,
  type AppraisalPolicy,
} from '../../../src/attestation/index.ts';
import type { CollateralSource } from '../../../src/attestation/collateral/types.ts';
import { variantFixtures, type VariantFixtures } from '../../helpers/variant-fixtures.ts';

/**
 * Verification error codes the named variants do not reach: the policy's refusals, a malformed
 * quote or collateral, the internal-error report and the always-reject verifier. Each test expects
 * exactly one code, on the emulated good evidence with one thing changed.
 */
let fx: VariantFixtures;
let scratch: string;
before(
  async () => {
    fx = await variantFixtures(['good', 'tcb-out-of-date', 'tcb-signing-other-root']);
    scratch = mkdtempSync(join(tmpdir(), 'catena-verify-codes-'));
  },
  { timeout: 300_000 },
);
after(async () => {
  await fx?.cleanup();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function verify(
  name: string,
  o: { quote?: Uint8Array; policy?: AppraisalPolicy; collateral?: CollateralSource; at?: Date } = {},
): Promise<Appraisal> {
  return verifyQuote(o.quote ?? fx.bytes(name, 'quote.dat'), {
    collateral: o.collateral ?? directoryCollateral(fx.path(name, 'collateral')),
    at: o.at ?? fx.at,
    trustedRoots: [fx.bytes(name, 'root.der')],
    ...(o.policy ? { policy: o.policy } : {}),
  });
}

const failing = (a: Appraisal) => a.checks.filter((c) => !c.ok && !c.skipped).map((c) => c.name);

function rejected(a: Appraisal, code: string, check: string): void {
  assert.equal(a.verdict, 'rejected');
  assert.equal(a.error?.code, code, a.error?.message);
  assert.equal(a.error?.check, check);
}

test('policy.advisories: an accepted status with an advisory the policy does not list is ERR_ADVISORY_NOT_ACCEPTED', async () => {
  const ok = await verify('tcb-out-of-date', { policy: { acceptedTcbStatuses: ['OutOfDate'] } });
  assert.equal(ok.verdict, 'accepted', ok.error?.message);
  assert.ok(ok.advisoryIds.length > 0);
  rejected(
    await verify('tcb-out-of-date', {
      policy: { acceptedTcbStatuses: ['OutOfDate'], acceptedAdvisories: ok.advisoryIds.slice(1) },
    }),
    'ERR_ADVISORY_NOT_ACCEPTED',
    'policy.advisories',
  );
  assert.equal(
    (
      await verify('tcb-out-of-date', {
        policy: { acceptedTcbStatuses: ['OutOfDate'], acceptedAdvisories: ok.advisoryIds },
      })
    ).verdict,
    'accepted',
  );
});

test('policy.reportData: another REPORTDATA is ERR_REPORT_DATA_MISMATCH', async () => {
  assert.equal((await verify('good', { policy: parsePolicy({ reportData: '00'.repeat(64) }) })).verdict, 'accepted');
  rejected(
    await verify('good', { policy: parsePolicy({ reportData: '00'.repeat(63) + '01' }) }),
    'ERR_REPORT_DATA_MISMATCH',
    'policy.reportData',
  );
});

test('policy.collateralAge: collateral older than maxCollateralAgeSeconds is ERR_COLLATERAL_TOO_OLD', async () => {
  assert.equal((await verify('good', { policy: { maxCollateralAgeSeconds: 86_400 } })).verdict, 'accepted');
  rejected(
    await verify('good', { policy: { maxCollateralAgeSeconds: 60 } }),
    'ERR_COLLATERAL_TOO_OLD',
    'policy.collateralAge',
  );
});

test('quote.format: a quote cut short is ERR_SHORT_INPUT; a v3 header with its reserved field set is ERR_QUOTE_FORMAT', async () => {
  const q = fx.bytes('good', 'quote.dat');
  rejected(await verify('good', { quote: q.subarray(0, q.length - 1) }), 'ERR_SHORT_INPUT', 'quote.format');
  const reserved = Uint8Array.from(q);
  reserved[4] = 1; // v3: bytes 4..7 are reserved (tee_type in v4)
  rejected(await verify('good', { quote: reserved }), 'ERR_QUOTE_FORMAT', 'quote.format');
});

test('quote.header: an attestation key type other than ECDSA P-256 is ERR_QUOTE_UNSUPPORTED', async () => {
  const q = Uint8Array.from(fx.bytes('good', 'quote.dat'));
  q[2] = 3; // att_key_type (u16 at offset 2): 3 = ECDSA P-384
  rejected(await verify('good', { quote: q }), 'ERR_QUOTE_UNSUPPORTED', 'quote.header');
});

test('collateral.source: a collateral directory whose TCB info is not a PCS body is ERR_COLLATERAL_FORMAT', async () => {
  const dir = join(scratch, 'bad-body');
  cpSync(fx.path('good', 'collateral'), dir, { recursive: true });
  writeFileSync(join(dir, 'tcb_info.json'), '{"tcbInfo":{}}');
  const a = await verify('good', { collateral: directoryCollateral(dir) });
  rejected(a, 'ERR_COLLATERAL_FORMAT', 'collateral.source');
  // Without collateral every check that needs it is skipped, none is failed (nor crashes).
  assert.deepEqual(failing(a), ['collateral.source']);
  for (const n of [
    'crl.rootCa',
    'crl.pck',
    'collateral.tcbSigningChain',
    'pck.revocation',
    'collateral.tcbInfo',
    'pck.fmspcPceId',
    'qe.identity',
    'tcb.platformLevel',
    'tcb.status',
  ]) {
    assert.equal(a.checks.find((c) => c.name === n)?.skipped, true, n);
  }
});

test('a collateral source that breaks its contract is reported as ERR_VERIFIER_INTERNAL, not thrown', async () => {
  const good = directoryCollateral(fx.path('good', 'collateral'));
  // A source whose collateral throws when read: a bug outside the verifier, which still answers with an appraisal.
  const broken: CollateralSource = {
    get: async (req, at) =>
      Object.defineProperty({ ...(await good.get(req, at)) }, 'tcbInfo', {
        get() {
          throw new TypeError('collateral source bug');
        },
      }),
  };
  const a = await verify('good', { collateral: broken, policy: { maxCollateralAgeSeconds: 86_400 } });
  rejected(a, 'ERR_VERIFIER_INTERNAL', 'internal');
  // The policy still runs, on no collateral dates: the age check is not evaluated.
  assert.equal(a.checks.find((c) => c.name === 'policy.collateralAge')?.skipped, true);
});

test('alwaysRejectVerifier rejects with ERR_NO_VERIFIER', async () => {
  const a = await alwaysRejectVerifier('not configured').verify(fx.bytes('good', 'quote.dat'), {
    collateral: directoryCollateral(fx.path('good', 'collateral')),
    at: fx.at,
  });
  rejected(a, 'ERR_NO_VERIFIER', 'verifier');
});

test('alwaysRejectVerifier: the whole appraisal, its default reason, and `at` only when it is a valid Date', async () => {
  const collateral = directoryCollateral(fx.path('good', 'collateral'));
  const q = fx.bytes('good', 'quote.dat');
  assert.deepEqual(await alwaysRejectVerifier().verify(q, { collateral, at: fx.at }), {
    verdict: 'rejected',
    advisoryIds: [],
    checks: [{ name: 'verifier', ok: false, detail: 'no quote verifier configured', code: 'ERR_NO_VERIFIER' }],
    error: { code: 'ERR_NO_VERIFIER', message: 'verifier: no quote verifier configured', check: 'verifier' },
    rootIsIntel: false,
    at: fx.at.toISOString(),
  });
  for (const at of [new Date(Number.NaN), undefined]) {
    const a = await alwaysRejectVerifier('x').verify(q, { collateral, at: at as Date });
    assert.equal(a.at, '');
    assert.equal(a.error?.message, 'verifier: x');
  }
});

test('CHECK_CODES: the stable code of each DCAP check (docs/verification.md)', () => {
  assert.deepEqual(CHECK_CODES, {
    'quote.format': 'ERR_QUOTE_FORMAT',
    'quote.header': 'ERR_QUOTE_UNSUPPORTED',
    'pck.chain': 'ERR_PCK_CHAIN',
    'pck.extension': 'ERR_PCK_EXTENSION',
    'collateral.source': 'ERR_COLLATERAL_UNAVAILABLE',
    'crl.rootCa': 'ERR_ROOT_CA_CRL',
    'crl.pck': 'ERR_PCK_CRL',
    'pck.revocation': 'ERR_CERT_REVOKED',
    'collateral.tcbSigningChain': 'ERR_TCB_SIGNING_CHAIN',
    'collateral.tcbInfo': 'ERR_TCB_INFO',
    'collateral.tcbInfoWindow': 'ERR_COLLATERAL_EXPIRED',
    'collateral.qeIdentity': 'ERR_QE_IDENTITY',
    'collateral.qeIdentityWindow': 'ERR_COLLATERAL_EXPIRED',
    'pck.fmspcPceId': 'ERR_FMSPC_MISMATCH',
    'qe.reportSignature': 'ERR_QE_REPORT_SIGNATURE',
    'qe.keyBinding': 'ERR_QE_KEY_BINDING',
    'qe.identity': 'ERR_QE_IDENTITY_MISMATCH',
    'quote.signature': 'ERR_QUOTE_SIGNATURE',
    'tcb.platformLevel': 'ERR_TCB_LEVEL_NOT_FOUND',
    'tdx.module': 'ERR_TDX_MODULE',
    'tcb.status': 'ERR_TCB_REVOKED',
  });
});

test("quote.header: a QE vendor ID other than Intel's, or certification data other than a PCK chain, is ERR_QUOTE_UNSUPPORTED", async () => {
  const q = fx.bytes('good', 'quote.dat');
  const vendor = Uint8Array.from(q);
  vendor[12] ^= 0x01; // qe_vendor_id: header bytes 12..27
  rejected(await verify('good', { quote: vendor }), 'ERR_QUOTE_UNSUPPORTED', 'quote.header');
  const certType = Uint8Array.from(q);
  const authLen = new DataView(q.buffer, q.byteOffset).getUint16(1012, true);
  certType[1014 + authLen] = 4; // certification data type (u16 after the QE auth data): 4 is not a PCK chain
  rejected(await verify('good', { quote: certType }), 'ERR_QUOTE_UNSUPPORTED', 'quote.header');
});

test('quote.signature: an attestation key that is not a P-256 point fails the signature check too, not only the key binding', async () => {
  const q = Uint8Array.from(fx.bytes('good', 'quote.dat'));
  q.fill(0, 500, 564); // attestation key (after header 48, body 384, sig_data_len 4, signature 64): all zero
  const a = await verify('good', { quote: q });
  rejected(a, 'ERR_QE_KEY_BINDING', 'qe.keyBinding');
  assert.deepEqual(failing(a), ['qe.keyBinding', 'quote.signature']);
  assert.match(a.checks.find((c) => c.name === 'quote.signature')!.detail!, /not a P-256 point/);
});

test("collateral.tcbSigningChain: a TCB signing chain to another trusted root than the PCK chain's is ERR_TCB_SIGNING_CHAIN", async () => {
  // Trust both roots: each chain builds, but to different roots.
  const pem = readFileSync(join(fx.path('tcb-signing-other-root', 'collateral'), 'tcb_signing_cert.pem'), 'utf8');
  const otherRoot = pemCertificates(pem).at(-1)!;
  const a = await verifyQuote(fx.bytes('tcb-signing-other-root', 'quote.dat'), {
    collateral: directoryCollateral(fx.path('tcb-signing-other-root', 'collateral')),
    at: fx.at,
    trustedRoots: [fx.bytes('tcb-signing-other-root', 'root.der'), otherRoot],
  });
  rejected(a, 'ERR_TCB_SIGNING_CHAIN', 'collateral.tcbSigningChain');
  assert.match(a.error!.message, /different root/);
});
