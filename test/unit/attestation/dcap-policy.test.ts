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

test('applyPolicy: every check with its exact detail and code', () => {
  assert.deepEqual(applyPolicy({}, facts), [
    { name: 'policy.tcbStatus', ok: true, detail: 'UpToDate is among the accepted statuses [UpToDate]' },
    { name: 'policy.advisories', ok: true, detail: 'no advisories' },
    { name: 'policy.debug', ok: true, detail: 'not a DEBUG enclave' },
    { name: 'policy.identity', ok: true, detail: 'no enclave identity required by policy' },
    { name: 'policy.reportData', ok: true, detail: 'no REPORTDATA required by policy' },
  ]);
  const debug = { ...facts, quote: { ...quote, debug: true }, tcbStatus: 'OutOfDate', advisoryIds: ['SA-1', 'SA-2'] };
  assert.deepEqual(
    applyPolicy(
      {
        acceptedTcbStatuses: ['UpToDate', 'SWHardeningNeeded'],
        acceptedAdvisories: ['SA-3'],
        mrEnclave: ['cc'.repeat(32)],
        mrSigner: 'CC'.repeat(32),
        isvProdId: 3,
        minIsvSvn: 6,
        reportData: new Uint8Array(64).fill(1),
        maxCollateralAgeSeconds: 100,
      },
      debug,
    ),
    [
      {
        name: 'policy.tcbStatus',
        ok: false,
        detail: 'OutOfDate is not among the accepted statuses [UpToDate, SWHardeningNeeded]',
        code: 'ERR_TCB_STATUS_NOT_ACCEPTED',
      },
      {
        name: 'policy.advisories',
        ok: false,
        detail: 'advisories not accepted: SA-1, SA-2',
        code: 'ERR_ADVISORY_NOT_ACCEPTED',
      },
      {
        name: 'policy.debug',
        ok: false,
        detail: 'DEBUG enclave refused (its memory is readable by the host)',
        code: 'ERR_DEBUG_ENCLAVE',
      },
      {
        name: 'policy.identity',
        ok: false,
        detail: `MRENCLAVE ${'aa'.repeat(32)} is not in the policy; MRSIGNER ${'bb'.repeat(32)} is not ${'cc'.repeat(32)}; ISVPRODID 2 is not 3; ISVSVN 5 is below 6`,
        code: 'ERR_IDENTITY_MISMATCH',
      },
      {
        name: 'policy.reportData',
        ok: false,
        detail: `REPORTDATA does not match ${'01'.repeat(64)}`,
        code: 'ERR_REPORT_DATA_MISMATCH',
      },
      {
        name: 'policy.collateralAge',
        ok: false,
        detail: 'oldest collateral issued 777600 s before the verification time (max 100 s)',
        code: 'ERR_COLLATERAL_TOO_OLD',
      },
    ],
  );
  const ok = applyPolicy(
    {
      acceptedAdvisories: ['SA-1'],
      allowDebug: true,
      mrEnclave: ['AA'.repeat(32)],
      reportData: new Uint8Array(32).fill(1),
      maxCollateralAgeSeconds: 777600,
    },
    {
      ...facts,
      quote: { ...quote, debug: true },
      advisoryIds: ['SA-1'],
      collateralIssueDates: [at, new Date('2025-01-01T00:00:00Z')],
    },
  );
  assert.deepEqual(
    ok.map((c) => c.ok),
    [true, true, true, true, true, true],
  );
  assert.deepEqual(
    ok.map((c) => c.detail),
    [
      'UpToDate is among the accepted statuses [UpToDate]',
      'every advisory is accepted',
      'DEBUG enclave allowed by policy',
      'the enclave identity matches the policy',
      'REPORTDATA starts with the expected 32 bytes',
      'oldest collateral issued 777600 s before the verification time (max 777600 s)',
    ],
  );
  assert.equal(
    applyPolicy({}, { ...facts, advisoryIds: ['SA-1', 'SA-3'] })[1].detail,
    'advisories accepted with their status: SA-1, SA-3',
  );
  assert.equal(
    applyPolicy({ reportData: new Uint8Array(Buffer.from(quote.reportData, 'hex')) }, facts)[4].detail,
    'REPORTDATA matches',
  );
  assert.equal(
    applyPolicy({ reportData: new Uint8Array(32).fill(2) }, facts)[4].detail,
    `REPORTDATA does not start with ${'02'.repeat(32)}`,
  );
  assert.deepEqual(applyPolicy({ mrEnclave: [] }, facts)[3], {
    name: 'policy.identity',
    ok: true,
    detail: 'no enclave identity required by policy',
  });
  assert.deepEqual(applyPolicy({ isvProdId: 2 }, facts)[3].detail, 'the enclave identity matches the policy');
  assert.deepEqual(applyPolicy({ minIsvSvn: 5 }, facts)[3].detail, 'the enclave identity matches the policy');
  const td = { ...facts, quote: { ...quote, teeType: 'tdx' as const } };
  assert.equal(
    applyPolicy({ mrEnclave: ['cc'.repeat(32)], minIsvSvn: 0 }, td)[3].detail,
    `MRTD ${'aa'.repeat(32)} is not in the policy; MRSIGNER/ISVPRODID/ISVSVN do not apply to a TD`,
  );
  assert.equal(applyPolicy({ isvProdId: 2 }, td)[3].ok, false);
});

test('applyPolicy: without a quote or a TCB status or collateral, the checks that need them are skipped', () => {
  assert.deepEqual(applyPolicy({ maxCollateralAgeSeconds: 1 }, { advisoryIds: [], collateralIssueDates: [], at }), [
    {
      name: 'policy.tcbStatus',
      ok: false,
      skipped: true,
      detail: 'no TCB status was computed',
      code: 'ERR_TCB_STATUS_NOT_ACCEPTED',
    },
    { name: 'policy.advisories', ok: true, detail: 'no advisories' },
    {
      name: 'policy.debug',
      ok: false,
      skipped: true,
      detail: 'the quote could not be read',
      code: 'ERR_DEBUG_ENCLAVE',
    },
    {
      name: 'policy.identity',
      ok: false,
      skipped: true,
      detail: 'the quote could not be read',
      code: 'ERR_IDENTITY_MISMATCH',
    },
    {
      name: 'policy.reportData',
      ok: false,
      skipped: true,
      detail: 'the quote could not be read',
      code: 'ERR_REPORT_DATA_MISMATCH',
    },
    {
      name: 'policy.collateralAge',
      ok: false,
      skipped: true,
      detail: 'no collateral was read',
      code: 'ERR_COLLATERAL_TOO_OLD',
    },
  ]);
});

test('parsePolicy: bounds and messages field by field', () => {
  assert.deepEqual(parsePolicy({ isvProdId: 0xffff, minIsvSvn: 0, allowDebug: false, maxCollateralAgeSeconds: 0 }), {
    isvProdId: 0xffff,
    minIsvSvn: 0,
    allowDebug: false,
    maxCollateralAgeSeconds: 0,
  });
  assert.deepEqual(parsePolicy({ mrEnclave: ['AB', 'cd'], acceptedAdvisories: ['X'] }), {
    mrEnclave: ['ab', 'cd'],
    acceptedAdvisories: ['X'],
  });
  assert.equal(parsePolicy({ reportData: '01'.repeat(64) }).reportData?.length, 64);
  const cases: Array<[unknown, string]> = [
    [null, 'policy: expected an object'],
    ['x', 'policy: expected an object'],
    [[], 'policy: expected an object'],
    [{ bogus: 1 }, 'policy: unknown field bogus'],
    [{ mrEnclave: 'aa' }, 'policy.mrEnclave: expected an array of strings'],
    [{ mrEnclave: ['aa', 1] }, 'policy.mrEnclave: expected an array of strings'],
    [{ mrEnclave: ['a'] }, 'policy.mrEnclave: expected some bytes of hex'],
    [{ mrEnclave: [''] }, 'policy.mrEnclave: expected some bytes of hex'],
    [{ mrEnclave: ['abc'] }, 'policy.mrEnclave: expected some bytes of hex'],
    [{ mrSigner: 'zz' + 'bb'.repeat(31) }, 'policy.mrSigner: expected 32 bytes of hex'],
    [{ mrSigner: 'bb'.repeat(31) + 'zz' }, 'policy.mrSigner: expected 32 bytes of hex'],
    [{ mrSigner: 'bb'.repeat(31) }, 'policy.mrSigner: expected 32 bytes of hex'],
    [{ mrSigner: 'bb'.repeat(33) }, 'policy.mrSigner: expected 32 bytes of hex'],
    [{ mrSigner: 32 }, 'policy.mrSigner: expected 32 bytes of hex'],
    [{ isvProdId: 0x10000 }, 'policy.isvProdId: expected an integer in [0, 65535]'],
    [{ isvProdId: 1.5 }, 'policy.isvProdId: expected an integer in [0, 65535]'],
    [{ isvProdId: '1' }, 'policy.isvProdId: expected an integer in [0, 65535]'],
    [{ minIsvSvn: -1 }, 'policy.minIsvSvn: expected an integer in [0, 65535]'],
    [{ allowDebug: 1 }, 'policy.allowDebug: expected a boolean'],
    [{ reportData: '01'.repeat(65) }, 'policy.reportData: at most 64 bytes'],
    [{ reportData: 'x' }, 'policy.reportData: expected some bytes of hex'],
    [{ acceptedTcbStatuses: 'UpToDate' }, 'policy.acceptedTcbStatuses: expected an array of strings'],
    [{ acceptedAdvisories: [1] }, 'policy.acceptedAdvisories: expected an array of strings'],
    [
      { maxCollateralAgeSeconds: -1 },
      `policy.maxCollateralAgeSeconds: expected an integer in [0, ${Number.MAX_SAFE_INTEGER}]`,
    ],
  ];
  for (const [x, message] of cases) assert.throws(() => parsePolicy(x), { name: 'TypeError', message }, message);
});
