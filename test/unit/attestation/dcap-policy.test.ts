import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyPolicy, parsePolicy, type QuoteSummary } from '../../../src/attestation/index.ts';

/** The appraisal policy on top of the DCAP checks: each field can refuse, the defaults are strict. */
const quote: QuoteSummary = {
  version: 3,
  teeType: 'sgx',
  mrEnclave: 'aa'.repeat(32),
  mrSigner: 'bb'.repeat(32),
  isvProdId: 2,
  isvSvn: 5,
  debug: false,
  reportData: '01'.repeat(32) + '00'.repeat(32),
  attributes: '05'.padEnd(32, '0'),
  qeSvn: 1,
  pceSvn: 1,
};
const at = new Date('2025-01-10T00:00:00Z');
const facts = {
  quote,
  tcbStatus: 'UpToDate',
  advisoryIds: [] as string[],
  collateralIssueDates: [new Date('2025-01-01T00:00:00Z')],
  at,
};
const failing = (c: ReturnType<typeof applyPolicy>) => c.filter((x) => !x.ok).map((x) => x.name);

test('the empty policy accepts UpToDate only and refuses DEBUG', () => {
  assert.deepEqual(failing(applyPolicy({}, facts)), []);
  assert.deepEqual(failing(applyPolicy({}, { ...facts, tcbStatus: 'SWHardeningNeeded' })), ['policy.tcbStatus']);
  assert.deepEqual(failing(applyPolicy({}, { ...facts, quote: { ...quote, debug: true } })), ['policy.debug']);
  assert.deepEqual(failing(applyPolicy({ allowDebug: true }, { ...facts, quote: { ...quote, debug: true } })), []);
  assert.deepEqual(failing(applyPolicy({}, { ...facts, tcbStatus: undefined })), ['policy.tcbStatus']);
});

test('identity: MRENCLAVE list, or MRSIGNER + ISVPRODID + minimum ISVSVN', () => {
  assert.deepEqual(failing(applyPolicy({ mrEnclave: ['cc'.repeat(32), 'AA'.repeat(32)] }, facts)), []);
  assert.deepEqual(failing(applyPolicy({ mrEnclave: ['cc'.repeat(32)] }, facts)), ['policy.identity']);
  assert.deepEqual(failing(applyPolicy({ mrSigner: 'bb'.repeat(32), isvProdId: 2, minIsvSvn: 5 }, facts)), []);
  assert.deepEqual(failing(applyPolicy({ mrSigner: 'bb'.repeat(32), minIsvSvn: 6 }, facts)), ['policy.identity']);
  assert.deepEqual(failing(applyPolicy({ isvProdId: 3 }, facts)), ['policy.identity']);
  assert.deepEqual(
    failing(applyPolicy({ mrSigner: 'bb'.repeat(32) }, { ...facts, quote: { ...quote, teeType: 'tdx' } })),
    ['policy.identity'],
  );
});

test('REPORTDATA exact or prefix; advisories; collateral age', () => {
  assert.deepEqual(failing(applyPolicy({ reportData: new Uint8Array(32).fill(1) }, facts)), []);
  assert.deepEqual(
    failing(applyPolicy({ reportData: new Uint8Array(Buffer.from(quote.reportData, 'hex')) }, facts)),
    [],
  );
  assert.deepEqual(failing(applyPolicy({ reportData: new Uint8Array(32).fill(2) }, facts)), ['policy.reportData']);
  const adv = { ...facts, tcbStatus: 'SWHardeningNeeded', advisoryIds: ['INTEL-SA-1', 'INTEL-SA-2'] };
  assert.deepEqual(failing(applyPolicy({ acceptedTcbStatuses: ['SWHardeningNeeded'] }, adv)), []);
  assert.deepEqual(
    failing(applyPolicy({ acceptedTcbStatuses: ['SWHardeningNeeded'], acceptedAdvisories: ['INTEL-SA-1'] }, adv)),
    ['policy.advisories'],
  );
  assert.deepEqual(failing(applyPolicy({ maxCollateralAgeSeconds: 9 * 86400 }, facts)), []);
  assert.deepEqual(failing(applyPolicy({ maxCollateralAgeSeconds: 9 * 86400 - 1 }, facts)), ['policy.collateralAge']);
});

test('parsePolicy validates field by field', () => {
  assert.deepEqual(parsePolicy({ mrSigner: 'BB'.repeat(32), acceptedTcbStatuses: ['UpToDate'] }), {
    mrSigner: 'bb'.repeat(32),
    acceptedTcbStatuses: ['UpToDate'],
  });
  assert.deepEqual([...parsePolicy({ reportData: '0102' }).reportData!], [1, 2]);
  for (const bad of [
    { mrSigner: 'bb' },
    { isvProdId: -1 },
    { allowDebug: 'yes' },
    { reportData: 'zz' },
    { unknown: 1 },
    { reportData: '00'.repeat(65) },
    [],
  ]) {
    assert.throws(() => parsePolicy(bad), TypeError, JSON.stringify(bad));
  }
});
