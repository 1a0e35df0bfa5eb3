import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convergeStatus, matchPlatformTcbLevel, matchQeTcbLevel } from '../../../src/attestation/index.ts';
import type { EnclaveIdentity, TcbInfo, TcbStatus } from '../../../src/formats/index.ts';

/** TCB level selection and Intel's status convergence (QVL TcbLevelCheck / convergeTcbStatus*), on small hand-made collateral. */
const d = new Date(0);
const lvl = (first: number, pceSvn: number, tcbStatus: TcbStatus, advisoryIds: string[] = []) => ({
  sgxComponents: [first, ...new Array(15).fill(1)],
  pceSvn,
  tcbDate: d,
  tcbStatus,
  advisoryIds,
});
const info: TcbInfo = {
  id: 'SGX',
  version: 3,
  issueDate: d,
  nextUpdate: d,
  fmspc: new Uint8Array(6),
  pceId: new Uint8Array(2),
  tcbType: 0,
  tcbEvaluationDataNumber: 1,
  tcbLevels: [lvl(10, 13, 'UpToDate'), lvl(10, 10, 'SWHardeningNeeded', ['A']), lvl(5, 10, 'OutOfDate', ['A', 'B'])],
};
const pck = (first: number, pceSvn: number, rest = 1) => ({
  components: [first, ...new Array(15).fill(rest)],
  pceSvn,
  cpuSvn: new Uint8Array(16),
});

test('the first level every component and PCESVN reach is chosen', () => {
  assert.equal(matchPlatformTcbLevel(info, pck(10, 13))?.tcbStatus, 'UpToDate');
  assert.equal(matchPlatformTcbLevel(info, pck(12, 20))?.tcbStatus, 'UpToDate');
  assert.equal(matchPlatformTcbLevel(info, pck(10, 12))?.tcbStatus, 'SWHardeningNeeded');
  assert.equal(matchPlatformTcbLevel(info, pck(9, 13))?.tcbStatus, 'OutOfDate');
  assert.equal(matchPlatformTcbLevel(info, pck(4, 13)), undefined);
  assert.equal(matchPlatformTcbLevel(info, pck(10, 13, 0)), undefined, 'one lower component anywhere fails the level');
  // TDX: TEE_TCB_SVN must reach tdxtcbcomponents too.
  const tdx: TcbInfo = {
    ...info,
    id: 'TDX',
    tcbLevels: [
      { ...lvl(1, 1, 'UpToDate'), tdxComponents: [3, ...new Array(15).fill(0)] },
      { ...lvl(1, 1, 'OutOfDate'), tdxComponents: new Array(16).fill(0) },
    ],
  };
  assert.equal(
    matchPlatformTcbLevel(tdx, pck(1, 1), Uint8Array.from([3, ...new Array(15).fill(0)]))?.tcbStatus,
    'UpToDate',
  );
  assert.equal(matchPlatformTcbLevel(tdx, pck(1, 1), new Uint8Array(16))?.tcbStatus, 'OutOfDate');
});

test('QE level by ISVSVN', () => {
  const qe = {
    tcbLevels: [
      { isvSvn: 8, tcbDate: d, tcbStatus: 'UpToDate', advisoryIds: [] },
      { isvSvn: 6, tcbDate: d, tcbStatus: 'OutOfDate', advisoryIds: ['X'] },
    ],
  } as unknown as EnclaveIdentity;
  assert.equal(matchQeTcbLevel(qe, 10)?.status, 'UpToDate');
  assert.deepEqual(matchQeTcbLevel(qe, 7), { status: 'OutOfDate', advisoryIds: ['X'] });
  assert.equal(matchQeTcbLevel(qe, 5), undefined);
});

test("Intel's convergence table, with the advisory union", () => {
  const cases: Array<[TcbStatus, TcbStatus, TcbStatus]> = [
    ['UpToDate', 'UpToDate', 'UpToDate'],
    ['SWHardeningNeeded', 'UpToDate', 'SWHardeningNeeded'],
    ['UpToDate', 'OutOfDate', 'OutOfDate'],
    ['SWHardeningNeeded', 'OutOfDate', 'OutOfDate'],
    ['ConfigurationNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded'],
    ['ConfigurationAndSWHardeningNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded'],
    ['OutOfDate', 'OutOfDate', 'OutOfDate'],
    ['ConfigurationAndSWHardeningNeeded', 'UpToDate', 'ConfigurationAndSWHardeningNeeded'],
    ['UpToDate', 'Revoked', 'Revoked'],
    ['Revoked', 'UpToDate', 'Revoked'],
  ];
  for (const [platform, qe, want] of cases) {
    assert.equal(
      convergeStatus({ status: platform, advisoryIds: ['A'] }, { status: qe, advisoryIds: ['B', 'A'] }).status,
      want,
      `${platform} + ${qe}`,
    );
  }
  assert.deepEqual(
    convergeStatus({ status: 'UpToDate', advisoryIds: ['A'] }, { status: 'UpToDate', advisoryIds: ['B', 'A'] })
      .advisoryIds,
    ['A', 'B'],
  );
});
