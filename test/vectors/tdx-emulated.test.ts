import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRequire } from 'node:module';
import {
  collateralFromQvlJson,
  openCollateral,
  parsePolicy,
  verifyQuote,
  VerificationCache,
  type Appraisal,
} from '../../src/attestation/index.ts';
import { collateralJson } from '../../src/sgx/manufacturer/collateral.ts';
import { emulateTdEvidence, TD_EVIDENCE_VARIANTS, type EmulatedTdEvidence } from '../../src/tdx/index.ts';
import { skipWithoutVectors, vector, vectorPath } from '../helpers/vectors.ts';

/**
 * Emulated TDX evidence (issue 16): the TD quote of an emulated TD is accepted by @phala/dcap-qvl (code
 * nobody here wrote) under the emulated root with UpToDate, and by Catena's verifier with the TD's event
 * log and policy; the real tdx-v4-phala vector still is; each named variant is rejected with its check;
 * every 1-bit flip of the signed part (header ‖ body) of an emulated TD quote is rejected.
 */
const require = createRequire(import.meta.url);
const qvl = require('@phala/dcap-qvl') as {
  QuoteVerifier: {
    newWithRootCa(root: Buffer): { verify(q: Buffer, c: unknown, now: number): Promise<{ status: string }> };
  };
};

async function catena(
  ev: EmulatedTdEvidence,
  policy: unknown = ev.policy,
  cache?: VerificationCache,
): Promise<Appraisal> {
  return verifyQuote(ev.quote!, {
    collateral: collateralFromQvlJson(collateralJson(ev.collateral)),
    at: new Date(),
    trustedRoots: [ev.root],
    policy: parsePolicy(policy),
    eventLog: ev.eventLog,
    ...(cache ? { cache } : {}),
  });
}

const dcapQvl = (ev: EmulatedTdEvidence) =>
  qvl.QuoteVerifier.newWithRootCa(Buffer.from(ev.root)).verify(
    Buffer.from(ev.quote!),
    collateralJson(ev.collateral),
    Math.floor(Date.now() / 1000),
  );

for (const version of [4, 5] as const) {
  test(`an emulated TD quote v${version} (tee_type 0x81) is accepted by @phala/dcap-qvl and Catena: UpToDate`, async () => {
    const ev = await emulateTdEvidence({ version });
    const q = ev.quote!;
    assert.equal(q[0] | (q[1] << 8), version);
    assert.equal(q[4], 0x81);
    assert.equal((await dcapQvl(ev)).status, 'UpToDate');
    const a = await catena(ev);
    assert.equal(a.verdict, 'accepted', a.error?.message);
    assert.equal(a.tcbStatus, 'UpToDate');
    assert.equal(a.quote?.version, version);
    assert.equal(a.checks.find((c) => c.name === 'td.eventLog')?.ok, true);
    for (const n of [
      'policy.td.mrTd',
      'policy.td.rtmr',
      'policy.td.attributes',
      'policy.td.xfam',
      'policy.td.owner',
      'tdx.module',
    ])
      assert.equal(a.checks.find((c) => c.name === n)?.ok, true, n);
  });
}

test(
  'the real TDX vector tdx-v4-phala is still accepted (UpToDate, no advisories)',
  { skip: skipWithoutVectors },
  async () => {
    const a = await verifyQuote(vector('tdx-v4-phala/quote.dat'), {
      collateral: await openCollateral(vectorPath('tdx-v4-phala/collateral.json')),
      at: new Date(1751328000 * 1000),
    });
    assert.equal(a.verdict, 'accepted', a.error?.message);
    assert.equal(a.tcbStatus, 'UpToDate');
    assert.deepEqual(a.advisoryIds, []);
  },
);

for (const v of TD_EVIDENCE_VARIANTS) {
  test(`TD variant ${v.name}: rejected with ${v.check} (${v.code})`, async () => {
    const ev = await emulateTdEvidence({ variant: v.name });
    if (v.check === 'td-qe') {
      assert.equal(ev.quote, undefined);
      assert.equal(ev.refusal?.code, 'ERR_TDREPORT_MAC');
      return;
    }
    const a = await catena(ev);
    assert.equal(a.verdict, 'rejected');
    assert.equal(a.error?.check, v.check, a.error?.message);
    assert.equal(a.error?.code, v.code);
  });
}

test('a TD bound to a service TD is accepted when the policy sets allowServiceTd', async () => {
  const ev = await emulateTdEvidence({ variant: 'service-td-bound' });
  const a = await catena(ev, { ...ev.policy, allowServiceTd: true });
  assert.equal(a.verdict, 'accepted', a.error?.message);
  assert.equal(a.quote?.version, 5);
});

test('a policy mixing SGX enclave and TD fields is refused; a TD policy on an SGX quote fails policy.kind', async () => {
  assert.throws(
    () => parsePolicy({ mrEnclave: ['00'.repeat(32)], mrTd: ['00'.repeat(48)] }),
    /SGX enclave field.*TD field/,
  );
  assert.throws(() => parsePolicy({ mrSigner: '00'.repeat(32), rtmr0: '00'.repeat(48) }), /one kind/);
  assert.throws(() => parsePolicy({ mrTd: ['00'] }), /policy\.mrTd\[0\]: expected 48 bytes/);
  const { emulateEvidence } = await import('../../src/sgx/manufacturer/variants.ts');
  const sgx = await emulateEvidence();
  const a = await verifyQuote(sgx.quote, {
    collateral: collateralFromQvlJson(collateralJson(sgx.collateral)),
    at: new Date(),
    trustedRoots: [sgx.root],
    policy: parsePolicy({ mrTd: ['00'.repeat(48)] }),
  });
  assert.equal(a.error?.check, 'policy.kind');
  assert.equal(a.error?.code, 'ERR_POLICY_KIND');
});

test('an event log that does not parse fails td.eventLog with the parser code', async () => {
  const ev = await emulateTdEvidence();
  const a = await verifyQuote(ev.quote!, {
    collateral: collateralFromQvlJson(collateralJson(ev.collateral)),
    at: new Date(),
    trustedRoots: [ev.root],
    eventLog: ev.eventLog.subarray(0, ev.eventLog.length - 20),
  });
  assert.equal(a.error?.check, 'td.eventLog');
  assert.equal(a.error?.code, 'ERR_SHORT_INPUT');
});

/** The code a flip at a byte of header ‖ body must be rejected with (as for Intel's quotes in dcap-quote.test.ts). */
function expectedFlipCode(i: number): string {
  if (i < 2) return 'ERR_QUOTE_VERSION'; // version 4 → another: unsupported, or v5 with no valid body type
  if (i < 4) return 'ERR_QUOTE_UNSUPPORTED'; // attestation key type
  if (i < 8) return 'ERR_QUOTE_VERSION'; // tee_type 0x81 → an unknown TEE
  if (i >= 12 && i < 28) return 'ERR_QUOTE_UNSUPPORTED'; // QE vendor id
  return 'ERR_QUOTE_SIGNATURE'; // reserved svns, user data, the TD report
}

/**
 * The signed parts of the signature data of an emulated v4 TD quote (sig_data_len at 632): the quote
 * signature, the attestation key and the QE auth data (bound by the QE report), the QE report and its
 * PCK signature; the type-6 header (type, size) between them is layout, not signed content.
 */
const SIG_DATA_REGIONS: Array<[from: number, to: number, code: string]> = [
  [636, 700, 'ERR_QUOTE_SIGNATURE'],
  [700, 764, 'ERR_QE_KEY_BINDING'],
  [770, 1154, 'ERR_QE_REPORT_SIGNATURE'],
  [1154, 1218, 'ERR_QE_REPORT_SIGNATURE'],
  [1220, 1252, 'ERR_QE_KEY_BINDING'],
];

test('every 1-bit flip of the signed parts of the signature data (signature, attestation key, QE report, its signature, auth data) is rejected with its code', async () => {
  const ev = await emulateTdEvidence();
  const quote = ev.quote!;
  assert.equal(
    new DataView(quote.buffer, quote.byteOffset).getUint16(1218, true),
    32,
    'QE auth data of 32 bytes at 1220',
  );
  const cache = new VerificationCache();
  const collateral = collateralFromQvlJson(collateralJson(ev.collateral));
  const at = new Date();
  let n = 0;
  for (const [from, to, want] of SIG_DATA_REGIONS)
    for (let i = from; i < to; i++)
      for (let b = 0; b < 8; b++) {
        const q = Uint8Array.from(quote);
        q[i] ^= 1 << b;
        const a = await verifyQuote(q, { collateral, at, trustedRoots: [ev.root], cache });
        assert.equal(a.error?.code, want, `byte ${i} bit ${b}: ${a.error?.message}`);
        n++;
      }
  assert.equal(n, 608 * 8);
});

test('every 1-bit flip in the signed part (header ‖ TD report body) of an emulated TD quote is rejected with its code', async () => {
  const ev = await emulateTdEvidence();
  const quote = ev.quote!;
  const signedLength = 48 + 584;
  const cache = new VerificationCache();
  const collateral = collateralFromQvlJson(collateralJson(ev.collateral));
  const at = new Date();
  let rejected = 0;
  for (let i = 0; i < signedLength; i++)
    for (let b = 0; b < 8; b++) {
      const q = Uint8Array.from(quote);
      q[i] ^= 1 << b;
      const a = await verifyQuote(q, { collateral, at, trustedRoots: [ev.root], cache });
      assert.equal(a.verdict, 'rejected', `byte ${i} bit ${b}`);
      assert.equal(a.error?.code, expectedFlipCode(i), `byte ${i} bit ${b}: ${a.error?.message}`);
      rejected++;
    }
  assert.equal(rejected, signedLength * 8);
});
