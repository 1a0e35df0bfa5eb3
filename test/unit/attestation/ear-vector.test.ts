import assert from 'node:assert/strict';
import { test } from 'node:test';
import { earStatus, trustworthinessVector } from '../../../src/attestation/ear.ts';
import type { Appraisal, Check } from '../../../src/attestation/dcap/types.ts';

/** The EAR status and AR4SI trustworthiness vector of an appraisal (ear.ts), claim by claim. */
const quote = {
  version: 3,
  teeType: 'sgx' as const,
  mrEnclave: 'aa',
  mrSigner: 'bb',
  isvProdId: 0,
  isvSvn: 0,
  debug: false,
  reportData: '00',
  attributes: '05',
  qeSvn: 1,
  pceSvn: 1,
};
const appraisal = (o: Partial<Appraisal> = {}, checks: Check[] = []): Appraisal => ({
  verdict: 'accepted',
  tcbStatus: 'UpToDate',
  advisoryIds: [],
  rootIsIntel: true,
  at: '2025-07-01T00:00:00.000Z',
  checks,
  quote,
  ...o,
});

test('earStatus: affirming only for an accepted UpToDate appraisal without advisories', () => {
  assert.equal(earStatus(appraisal()), 'affirming');
  assert.equal(earStatus(appraisal({ advisoryIds: ['SA-1'] })), 'warning');
  assert.equal(earStatus(appraisal({ tcbStatus: 'SWHardeningNeeded' })), 'warning');
  assert.equal(earStatus(appraisal({ verdict: 'rejected' })), 'contraindicated');
});

test('trustworthinessVector: hardware and configuration by TCB status', () => {
  const v = (tcbStatus: string | undefined, checks: Check[] = []) =>
    trustworthinessVector(appraisal({ tcbStatus, quote: undefined }, checks));
  assert.deepEqual(v('UpToDate'), { hardware: 2, configuration: 2 });
  assert.deepEqual(v('SWHardeningNeeded'), { hardware: 2, configuration: 2 });
  assert.deepEqual(v('ConfigurationNeeded'), { hardware: 2, configuration: 32 });
  assert.deepEqual(v('OutOfDate'), { hardware: 32, configuration: 2 });
  assert.deepEqual(v('OutOfDateConfigurationNeeded'), { hardware: 32, configuration: 32 });
  assert.deepEqual(v('Revoked'), { hardware: 96, configuration: 96 });
  assert.deepEqual(v(undefined), {});
  // A failed cryptographic check: unrecognized hardware, whatever the status.
  for (const name of [
    'quote.signature',
    'pck.chain',
    'crl.pck',
    'collateral.tcbInfo',
    'qe.identity',
    'tcb.platformLevel',
    'tdx.module',
    'internal',
  ]) {
    assert.equal(v('UpToDate', [{ name, ok: false }]).hardware, 97, name);
  }
  assert.equal(
    v('Revoked', [{ name: 'tcb.status', ok: false }]).hardware,
    96,
    'tcb.status is the status, not the crypto',
  );
  assert.equal(v('UpToDate', [{ name: 'policy.debug', ok: false }]).hardware, 2, 'a policy check is not crypto');
  assert.equal(v('UpToDate', [{ name: 'xquote.signature', ok: false }]).hardware, 2, 'names match from their start');
  assert.equal(v('UpToDate', [{ name: 'quote.signature', ok: true }]).hardware, 2);
});

test('trustworthinessVector: executables, instance identity and runtime from the policy checks and the quote', () => {
  const v = (checks: Check[], debug = false) =>
    trustworthinessVector(appraisal({ quote: { ...quote, debug } }, checks));
  assert.deepEqual(v([]), { hardware: 2, configuration: 2, 'runtime-opaque': 2 });
  assert.equal(v([], true)['runtime-opaque'], 96);
  assert.equal(trustworthinessVector(appraisal({ quote: undefined }))['runtime-opaque'], undefined);
  const id = (c: Partial<Check>) => v([{ name: 'policy.identity', ok: true, ...c }]).executables;
  assert.equal(id({ ok: false }), 33);
  assert.equal(id({ detail: 'the enclave identity matches the policy' }), 2);
  assert.equal(id({ detail: 'no enclave identity required by policy' }), undefined);
  assert.equal(id({}), 2);
  assert.equal(id({ ok: false, skipped: true }), undefined);
  const rd = (c: Partial<Check>) => v([{ name: 'policy.reportData', ok: true, ...c }])['instance-identity'];
  assert.equal(rd({ ok: false }), 96);
  assert.equal(rd({ detail: 'REPORTDATA matches' }), 2);
  assert.equal(rd({}), 2);
  assert.equal(rd({ detail: 'no REPORTDATA required by policy' }), undefined);
  assert.equal(v([{ name: 'policy.identity', ok: false }])['instance-identity'], undefined);
  // Each claim reads its own check: another passed check (first in the list) counts for neither.
  const other = { name: 'quote.signature', ok: true, detail: 'the quote verifies' };
  assert.equal(v([other]).executables, undefined);
  assert.equal(v([other])['instance-identity'], undefined);
  assert.equal(
    v([other, { name: 'policy.identity', ok: true, detail: 'no enclave identity required by policy' }]).executables,
    undefined,
  );
  assert.equal(
    v([other, { name: 'policy.reportData', ok: true, detail: 'no REPORTDATA required by policy' }])[
      'instance-identity'
    ],
    undefined,
  );
});
