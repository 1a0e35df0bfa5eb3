import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkTdxModule,
  convergeStatus,
  matchPlatformTcbLevel,
  matchQeTcbLevel,
} from '../../../src/attestation/dcap/tcb-level.ts';
import type { EnclaveIdentity } from '../../../src/formats/qe-identity.ts';
import type { TdReport10 } from '../../../src/formats/quote.ts';
import type { TcbInfo, TcbStatus } from '../../../src/formats/tcb-info.ts';

/**
 * The TCB decisions of tcb-level.ts at their boundaries: QVL's TdxModuleCheck (module identity by
 * TEE_TCB_SVN[1], masked SEAM attributes, level by TEE_TCB_SVN[0]), level matching with equal SVNs and
 * short component arrays, and the convergence table's OutOfDateConfigurationNeeded rows.
 */
const d = new Date(0);
const signer = (b: number) => new Uint8Array(48).fill(b);
const attrs = (...b: number[]) => Uint8Array.from([...b, ...new Array(8 - b.length).fill(0)]);

function info(o: Partial<TcbInfo> = {}): TcbInfo {
  return {
    id: 'TDX',
    version: 3,
    issueDate: d,
    nextUpdate: d,
    fmspc: new Uint8Array(6),
    pceId: new Uint8Array(2),
    tcbType: 0,
    tcbEvaluationDataNumber: 1,
    tcbLevels: [],
    tdxModule: { mrSigner: signer(1), attributes: attrs(0x10), attributesMask: attrs(0xf0) },
    tdxModuleIdentities: [
      {
        id: 'TDX_03',
        mrSigner: signer(3),
        attributes: attrs(0, 0x01),
        attributesMask: attrs(0, 0x0f),
        tcbLevels: [
          { isvSvn: 5, tcbDate: d, tcbStatus: 'UpToDate', advisoryIds: [] },
          { isvSvn: 2, tcbDate: d, tcbStatus: 'OutOfDate', advisoryIds: ['INTEL-SA-1', 'INTEL-SA-2'] },
        ],
      },
      {
        id: 'TDX_0A',
        mrSigner: signer(10),
        attributes: attrs(),
        attributesMask: attrs(),
        tcbLevels: [{ isvSvn: 0, tcbDate: d, tcbStatus: 'UpToDate', advisoryIds: [] }],
      },
    ],
    ...o,
  };
}

function td(isvSvn: number, version: number, mrSigner: Uint8Array, seamAttributes: Uint8Array): TdReport10 {
  const teeTcbSvn = new Uint8Array(16);
  teeTcbSvn[0] = isvSvn;
  teeTcbSvn[1] = version;
  return { teeTcbSvn, mrSignerSeam: mrSigner, seamAttributes } as unknown as TdReport10;
}

test('checkTdxModule, version 0: tdxModule.mrsigner and its masked attributes', () => {
  assert.deepEqual(checkTdxModule(info(), td(0, 0, signer(1), attrs(0x1f))), {
    ok: true,
    detail: 'TDX module version 0 matches tdxModule',
  });
  assert.equal(checkTdxModule(info(), td(0, 0, signer(1), attrs(0x10, 0xff))).ok, true, 'bits outside the mask');
  assert.deepEqual(checkTdxModule(info(), td(0, 0, signer(2), attrs(0x10))), {
    ok: false,
    detail: 'MRSIGNER_SEAM differs from tdxModule.mrsigner',
  });
  assert.deepEqual(checkTdxModule(info(), td(0, 0, signer(1), attrs(0x20))), {
    ok: false,
    detail: 'SEAM attributes differ from tdxModule (masked)',
  });
  assert.deepEqual(checkTdxModule(info({ tdxModule: undefined }), td(0, 0, signer(1), attrs(0x10))), {
    ok: false,
    detail: 'TCB info has no tdxModule',
  });
  // SEAM attributes shorter than the mask read as zero bytes.
  const shortMask = info({
    tdxModule: { mrSigner: signer(1), attributes: attrs(0x10, 0), attributesMask: attrs(0xff, 0xff) },
  });
  assert.equal(checkTdxModule(shortMask, td(0, 0, signer(1), Uint8Array.of(0x10))).ok, true);
  assert.equal(checkTdxModule(shortMask, td(0, 0, signer(1), Uint8Array.of(0x11))).ok, false);
  const shortExpected = info({
    tdxModule: { mrSigner: signer(1), attributes: Uint8Array.of(0x10), attributesMask: attrs(0xff, 0xff) },
  });
  assert.equal(checkTdxModule(shortExpected, td(0, 0, signer(1), attrs(0x10, 0x00))).ok, true);
  assert.equal(checkTdxModule(shortExpected, td(0, 0, signer(1), attrs(0x10, 0x01))).ok, false);
});

test('checkTdxModule, version ≠ 0: the TDX_<version> identity, its masked attributes, its level by ISVSVN', () => {
  assert.deepEqual(checkTdxModule(info(), td(5, 3, signer(3), attrs(0, 0xf1))), {
    ok: true,
    status: { status: 'UpToDate', advisoryIds: [] },
    detail: 'TDX_03 at ISVSVN 5: UpToDate',
  });
  assert.deepEqual(checkTdxModule(info(), td(4, 3, signer(3), attrs(0, 0x01))), {
    ok: true,
    status: { status: 'OutOfDate', advisoryIds: ['INTEL-SA-1', 'INTEL-SA-2'] },
    detail: 'TDX_03 at ISVSVN 4: OutOfDate',
  });
  assert.equal(checkTdxModule(info(), td(2, 3, signer(3), attrs(0, 0x01))).ok, true, 'ISVSVN equal to the level');
  assert.deepEqual(checkTdxModule(info(), td(1, 3, signer(3), attrs(0, 0x01))), {
    ok: false,
    detail: 'TDX_03 ISVSVN 1 is below every level',
  });
  assert.deepEqual(checkTdxModule(info(), td(5, 3, signer(1), attrs(0, 0x01))), {
    ok: false,
    detail: 'MRSIGNER_SEAM differs from TDX_03.mrsigner',
  });
  assert.deepEqual(checkTdxModule(info(), td(5, 3, signer(3), attrs(0, 0x02))), {
    ok: false,
    detail: 'SEAM attributes differ from TDX_03 (masked)',
  });
  assert.deepEqual(checkTdxModule(info(), td(5, 4, signer(3), attrs(0, 0x01))), {
    ok: false,
    detail: 'TCB info has no TDX module identity TDX_04',
  });
  assert.equal(
    checkTdxModule(info(), td(0, 10, signer(10), attrs())).detail,
    'TDX_0A at ISVSVN 0: UpToDate',
    'upper-case hex id',
  );
  assert.deepEqual(checkTdxModule(info({ tdxModuleIdentities: undefined }), td(5, 3, signer(3), attrs(0, 0x01))), {
    ok: false,
    detail: 'TCB info has no TDX module identity TDX_03',
  });
  // The returned advisory list is a copy: changing it leaves the collateral as it was.
  const i = info();
  const r = checkTdxModule(i, td(4, 3, signer(3), attrs(0, 0x01)));
  assert.ok(r.ok && r.status);
  r.status.advisoryIds.push('X');
  assert.deepEqual(i.tdxModuleIdentities?.[0].tcbLevels[1].advisoryIds, ['INTEL-SA-1', 'INTEL-SA-2']);
});

const lvl = (sgx: number[], pceSvn: number, tcbStatus: TcbStatus, tdx?: number[]) => ({
  sgxComponents: sgx,
  pceSvn,
  tcbDate: d,
  tcbStatus,
  advisoryIds: [],
  ...(tdx ? { tdxComponents: tdx } : {}),
});

test('matchPlatformTcbLevel: equal SVNs reach a level; a missing PCK component counts as 0', () => {
  const sgx16 = (v: number) => new Array(16).fill(v);
  const i = info({ tcbLevels: [lvl(sgx16(2), 5, 'UpToDate'), lvl(sgx16(0), 0, 'OutOfDate')] });
  const pck = (components: number[], pceSvn: number) => ({ components, pceSvn, cpuSvn: new Uint8Array(16) });
  assert.equal(matchPlatformTcbLevel(i, pck(sgx16(2), 5))?.tcbStatus, 'UpToDate');
  assert.equal(matchPlatformTcbLevel(i, pck(sgx16(2), 4))?.tcbStatus, 'OutOfDate');
  assert.equal(matchPlatformTcbLevel(i, pck(sgx16(2).slice(0, 15), 5))?.tcbStatus, 'OutOfDate', '15 components');
  assert.equal(matchPlatformTcbLevel(i, pck([...sgx16(2).slice(0, 15), 1], 5))?.tcbStatus, 'OutOfDate');
  // TDX: TEE_TCB_SVN against tdxtcbcomponents, equal bytes reaching; a level without them never matches.
  const tdx = info({
    tcbLevels: [
      lvl(sgx16(0), 0, 'UpToDate'),
      lvl(sgx16(0), 0, 'SWHardeningNeeded', [0, 0, 7, ...new Array(13).fill(0)]),
      lvl(sgx16(0), 0, 'OutOfDate', new Array(16).fill(0)),
    ],
  });
  const svn = (b2: number) => Uint8Array.from([0, 0, b2, ...new Array(13).fill(0)]);
  assert.equal(matchPlatformTcbLevel(tdx, pck(sgx16(0), 0), svn(7))?.tcbStatus, 'SWHardeningNeeded');
  assert.equal(matchPlatformTcbLevel(tdx, pck(sgx16(0), 0), svn(6))?.tcbStatus, 'OutOfDate');
  assert.equal(matchPlatformTcbLevel(tdx, pck(sgx16(0), 0))?.tcbStatus, 'UpToDate', 'SGX: tdxtcbcomponents not read');
});

test('matchQeTcbLevel: an ISVSVN equal to a level reaches it; the advisory list is a copy', () => {
  const qe = {
    tcbLevels: [
      { isvSvn: 8, tcbDate: d, tcbStatus: 'UpToDate', advisoryIds: [] },
      { isvSvn: 6, tcbDate: d, tcbStatus: 'OutOfDate', advisoryIds: ['X'] },
    ],
  } as unknown as EnclaveIdentity;
  assert.equal(matchQeTcbLevel(qe, 8)?.status, 'UpToDate');
  assert.equal(matchQeTcbLevel(qe, 6)?.status, 'OutOfDate');
  matchQeTcbLevel(qe, 6)?.advisoryIds.push('Y');
  assert.deepEqual(qe.tcbLevels[1].advisoryIds, ['X']);
});

test('convergeStatus: the OutOfDateConfigurationNeeded and Revoked rows', () => {
  const cases: Array<[TcbStatus, TcbStatus, TcbStatus]> = [
    ['UpToDate', 'OutOfDateConfigurationNeeded', 'OutOfDate'],
    ['SWHardeningNeeded', 'OutOfDateConfigurationNeeded', 'OutOfDate'],
    ['ConfigurationNeeded', 'OutOfDateConfigurationNeeded', 'OutOfDateConfigurationNeeded'],
    ['ConfigurationAndSWHardeningNeeded', 'OutOfDateConfigurationNeeded', 'OutOfDateConfigurationNeeded'],
    ['ConfigurationNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded'],
    ['ConfigurationNeeded', 'UpToDate', 'ConfigurationNeeded'],
    ['ConfigurationNeeded', 'SWHardeningNeeded', 'ConfigurationNeeded'],
    ['UpToDate', 'SWHardeningNeeded', 'UpToDate'],
    ['OutOfDateConfigurationNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded'],
    ['OutOfDate', 'OutOfDateConfigurationNeeded', 'OutOfDate'],
    ['Revoked', 'OutOfDate', 'Revoked'],
    ['ConfigurationNeeded', 'Revoked', 'Revoked'],
    ['OutOfDate', 'Revoked', 'Revoked'],
  ];
  for (const [platform, secondary, want] of cases) {
    assert.equal(
      convergeStatus({ status: platform, advisoryIds: [] }, { status: secondary, advisoryIds: [] }).status,
      want,
      `${platform} + ${secondary}`,
    );
  }
  assert.deepEqual(
    convergeStatus({ status: 'UpToDate', advisoryIds: ['A', 'B'] }, { status: 'Revoked', advisoryIds: ['C', 'B'] })
      .advisoryIds,
    ['A', 'B', 'C'],
  );
});
