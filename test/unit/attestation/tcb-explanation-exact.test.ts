import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explainTcb, tdxModuleWords } from '../../../src/attestation/dcap/tcb-explanation.ts';
import type { TcbInfo, TcbLevel, TcbStatus } from '../../../src/formats/tcb-info.ts';

/**
 * explainTcb's whole answer, field by field, on small hand-made TCB infos whose answer is worked out by
 * hand in each case: the matched level, `next` and `upToDate` with every shortfall (component names
 * where given, PCESVN, TEE_TCB_SVN bytes), equal SVNs reaching a level, the TDX module judgement, and
 * the `early` comparison.
 */
const day = (n: number) => new Date(Date.UTC(2025, 0, n));
const c16 = (...head: number[]) => [...head, ...new Array(16 - head.length).fill(0)];

function level(
  sgx: number[],
  pceSvn: number,
  tcbStatus: TcbStatus,
  n: number,
  extra: Partial<TcbLevel> = {},
): TcbLevel {
  return { sgxComponents: sgx, pceSvn, tcbStatus, tcbDate: day(n), advisoryIds: [`SA-${n}`], ...extra };
}

function info(levels: TcbLevel[], extra: Partial<TcbInfo> = {}): TcbInfo {
  return {
    id: 'SGX',
    version: 3,
    issueDate: day(1),
    nextUpdate: day(2),
    fmspc: Uint8Array.of(0x00, 0x90, 0x6e, 0xa1, 0x00, 0x00),
    pceId: new Uint8Array(2),
    tcbType: 0,
    tcbEvaluationDataNumber: 17,
    tcbLevels: levels,
    ...extra,
  };
}

const names = [
  { category: 'BIOS', type: 'Early Microcode Update' },
  { category: 'OS/VMM' },
  { type: 'SGX Late Microcode Update' },
  {},
];
const SGX = info([
  level(c16(3, 3, 3, 3), 12, 'UpToDate', 3, { sgxComponentNames: names }),
  level(c16(2, 2, 2, 2), 11, 'SWHardeningNeeded', 2),
  level(c16(1, 1, 1, 1), 10, 'OutOfDate', 1),
]);

test('SGX: the level reached with equal SVNs, the next one up and UpToDate, each shortfall named', () => {
  const x = explainTcb({ components: c16(2, 2, 2, 1), pceSvn: 10 }, SGX);
  assert.deepEqual(x, {
    fmspc: '00906ea10000',
    tcbEvaluationDataNumber: 17,
    platform: { components: c16(2, 2, 2, 1), pceSvn: 10 },
    matched: { index: 2, tcbStatus: 'OutOfDate', tcbDate: '2025-01-01T00:00:00Z', advisoryIds: ['SA-1'] },
    tcbStatus: 'OutOfDate',
    advisoryIds: ['SA-1'],
    next: {
      index: 1,
      tcbStatus: 'SWHardeningNeeded',
      tcbDate: '2025-01-02T00:00:00Z',
      advisoryIds: ['SA-2'],
      shortfalls: [
        { component: 'sgx', index: 3, have: 1, need: 2 },
        { component: 'pcesvn', have: 10, need: 11 },
      ],
    },
    upToDate: {
      index: 0,
      tcbStatus: 'UpToDate',
      tcbDate: '2025-01-03T00:00:00Z',
      advisoryIds: ['SA-3'],
      shortfalls: [
        { component: 'sgx', index: 0, category: 'BIOS', type: 'Early Microcode Update', have: 2, need: 3 },
        { component: 'sgx', index: 1, category: 'OS/VMM', have: 2, need: 3 },
        { component: 'sgx', index: 2, type: 'SGX Late Microcode Update', have: 2, need: 3 },
        { component: 'sgx', index: 3, have: 1, need: 3 },
        { component: 'pcesvn', have: 10, need: 12 },
      ],
    },
  });
  assert.equal('teeTcbSvn' in x.platform, false);
  assert.equal('tdxModule' in x, false);
  assert.equal('early' in x, false);
});

test('SGX: at the top nothing is next; below every level the lowest is next; missing components count as 0', () => {
  const top = explainTcb({ components: c16(3, 3, 3, 3), pceSvn: 12 }, SGX);
  assert.equal(top.matched?.index, 0);
  assert.equal(top.next, null);
  assert.equal(top.upToDate, null);
  const second = explainTcb({ components: c16(2, 2, 2, 2), pceSvn: 11 }, SGX);
  assert.equal(second.next?.index, 0, 'the UpToDate level is next');
  assert.equal(second.upToDate, null, 'not repeated as upToDate');
  const none = explainTcb({ components: [1, 1, 1], pceSvn: 10 }, SGX);
  assert.equal(none.matched, null);
  assert.equal(none.tcbStatus, null);
  assert.deepEqual(none.advisoryIds, []);
  assert.deepEqual(none.next?.shortfalls, [{ component: 'sgx', index: 3, have: 0, need: 1 }]);
  assert.equal(none.upToDate?.index, 0);
  // No UpToDate level at all: no upToDate target.
  const noUp = info([level(c16(2), 0, 'SWHardeningNeeded', 2), level(c16(1), 0, 'OutOfDate', 1)]);
  assert.equal(explainTcb({ components: c16(1), pceSvn: 0 }, noUp).upToDate, null);
  assert.equal(explainTcb({ components: c16(0), pceSvn: 0 }, noUp).upToDate, null);
  // UpToDate below the match (a TCB info listing an UpToDate level under a better one): not a target.
  const odd = info([level(c16(2), 0, 'SWHardeningNeeded', 2), level(c16(1), 0, 'UpToDate', 1)]);
  assert.equal(explainTcb({ components: c16(2), pceSvn: 0 }, odd).upToDate, null);
});

// Names for the first two TEE_TCB_SVN components only (a TCB info may name fewer than it lists).
const tdxNames = [{ category: 'OS/VMM', type: 'TDX Module' }, { category: 'OS/VMM' }];
const TDX = info(
  [
    level(c16(1), 1, 'UpToDate', 3, { tdxComponents: c16(5, 12, 4), tdxComponentNames: tdxNames }),
    level(c16(1), 1, 'OutOfDate', 1, { tdxComponents: c16(3, 0, 2) }),
    level(c16(1), 1, 'Revoked', 0),
  ],
  {
    id: 'TDX',
    tdxModuleIdentities: [
      {
        id: 'TDX_0B',
        mrSigner: new Uint8Array(48),
        attributes: new Uint8Array(8),
        attributesMask: new Uint8Array(8),
        tcbLevels: [
          { isvSvn: 7, tcbDate: day(5), tcbStatus: 'UpToDate', advisoryIds: [] },
          { isvSvn: 3, tcbDate: day(4), tcbStatus: 'OutOfDate', advisoryIds: ['SA-M'] },
        ],
      },
    ],
  },
);
const svn = (...head: number[]) => Uint8Array.from(c16(...head));

test('TDX: TEE_TCB_SVN bytes against tdxtcbcomponents (a level without them is never reached), and the module level', () => {
  const x = explainTcb({ components: c16(1), pceSvn: 1, teeTcbSvn: svn(3, 0x0b, 2) }, TDX);
  assert.equal(x.platform.teeTcbSvn, '030b0200000000000000000000000000');
  assert.equal(x.matched?.index, 1, 'equal bytes reach the level');
  assert.equal(x.next?.index, 0);
  assert.equal(x.upToDate, null);
  assert.deepEqual(x.next?.shortfalls, [
    { component: 'tdx', index: 0, category: 'OS/VMM', type: 'TDX Module', have: 3, need: 5 },
    { component: 'tdx', index: 1, category: 'OS/VMM', have: 0x0b, need: 12 },
    { component: 'tdx', index: 2, have: 2, need: 4 },
  ]);
  assert.deepEqual(x.tdxModule, {
    id: 'TDX_0B',
    isvSvn: 3,
    matched: { isvSvn: 3, tcbStatus: 'OutOfDate', tcbDate: '2025-01-04T00:00:00Z', advisoryIds: ['SA-M'] },
    upToDate: { isvSvn: 7, tcbDate: '2025-01-05T00:00:00Z' },
  });
  assert.equal(tdxModuleWords(x.tdxModule), 'TDX module TDX_0B at ISVSVN 3: OutOfDate (UpToDate needs ISVSVN 7)');
  const up = explainTcb({ components: c16(1), pceSvn: 1, teeTcbSvn: svn(7, 0x0b, 4) }, TDX);
  assert.equal(up.matched?.index, 1);
  assert.deepEqual(up.next?.shortfalls, [{ component: 'tdx', index: 1, category: 'OS/VMM', have: 0x0b, need: 12 }]);
  assert.deepEqual(up.tdxModule?.upToDate, null);
  assert.equal(tdxModuleWords(up.tdxModule), 'TDX module TDX_0B at ISVSVN 7: UpToDate');
  const below = explainTcb({ components: c16(1), pceSvn: 1, teeTcbSvn: svn(2, 0x0b, 0) }, TDX);
  assert.equal(below.matched, null, 'the Revoked level has no tdxtcbcomponents: not reached');
  assert.equal(below.tdxModule?.matched, null);
  assert.equal(
    tdxModuleWords(below.tdxModule),
    'TDX module TDX_0B at ISVSVN 2: below every TDX_0B level (UpToDate needs ISVSVN 7)',
  );
  const unknown = explainTcb({ components: c16(1), pceSvn: 1, teeTcbSvn: svn(9, 0x0c, 4) }, TDX);
  assert.deepEqual(unknown.tdxModule, { id: 'TDX_0C', isvSvn: 9, matched: null, upToDate: null });
  assert.equal(
    'tdxModule' in explainTcb({ components: c16(1), pceSvn: 1, teeTcbSvn: svn(9, 0, 4) }, TDX),
    false,
    'version 0: no module level',
  );
  assert.equal(tdxModuleWords(undefined), undefined);
  const noIdentities = explainTcb(
    { components: c16(1), pceSvn: 1, teeTcbSvn: svn(9, 0x0b, 4) },
    { ...TDX, tdxModuleIdentities: undefined },
  );
  assert.deepEqual(noIdentities.tdxModule, { id: 'TDX_0B', isvSvn: 9, matched: null, upToDate: null });
});

test('TDX: unnamed tdxtcbcomponents short of the level; a module without an UpToDate level', () => {
  const t = info([level(c16(1), 1, 'OutOfDate', 2, { tdxComponents: c16(0, 0, 3) })], {
    id: 'TDX',
    tdxModuleIdentities: [
      {
        id: 'TDX_01',
        mrSigner: new Uint8Array(48),
        attributes: new Uint8Array(8),
        attributesMask: new Uint8Array(8),
        tcbLevels: [
          { isvSvn: 9, tcbDate: day(5), tcbStatus: 'OutOfDate', advisoryIds: [] },
          { isvSvn: 5, tcbDate: day(4), tcbStatus: 'Revoked', advisoryIds: [] },
        ],
      },
    ],
  });
  const x = explainTcb({ components: c16(1), pceSvn: 1, teeTcbSvn: svn(3, 1, 2) }, t);
  assert.equal(x.matched, null);
  assert.deepEqual(x.next?.shortfalls, [{ component: 'tdx', index: 2, have: 2, need: 3 }]);
  assert.deepEqual(x.tdxModule, { id: 'TDX_01', isvSvn: 3, matched: null, upToDate: null });
  assert.equal(tdxModuleWords(x.tdxModule), 'TDX module TDX_01 at ISVSVN 3: below every TDX_01 level');
  assert.equal(
    explainTcb({ components: c16(1), pceSvn: 1, teeTcbSvn: svn(3, 1, 2) }, t, t).early?.changed,
    false,
    'no module level on either side',
  );
});

test('early collateral: `changed` compares the platform status and the module status', () => {
  const p = { components: c16(2, 2, 2, 2), pceSvn: 11 };
  const same = explainTcb(p, SGX, SGX);
  assert.equal(same.early?.changed, false);
  assert.equal(same.early?.tcbStatus, 'SWHardeningNeeded');
  assert.equal('early' in (same.early ?? {}), false);
  const raised = info([level(c16(3, 3, 3, 3), 12, 'UpToDate', 4), level(c16(2, 2, 2, 2), 11, 'OutOfDate', 3)], {
    tcbEvaluationDataNumber: 18,
  });
  const x = explainTcb(p, SGX, raised);
  assert.equal(x.tcbStatus, 'SWHardeningNeeded');
  assert.equal(x.early?.tcbStatus, 'OutOfDate');
  assert.equal(x.early?.tcbEvaluationDataNumber, 18);
  assert.equal(x.early?.changed, true);
  // TDX: the same platform status, another module status.
  const t = { components: c16(1), pceSvn: 1, teeTcbSvn: svn(3, 0x0b, 2) };
  const tdxEarly: TcbInfo = {
    ...TDX,
    tdxModuleIdentities: [
      {
        ...TDX.tdxModuleIdentities![0],
        tcbLevels: [{ isvSvn: 3, tcbDate: day(6), tcbStatus: 'UpToDate', advisoryIds: [] }],
      },
    ],
  };
  const y = explainTcb(t, TDX, tdxEarly);
  assert.equal(y.early?.tcbStatus, y.tcbStatus);
  assert.equal(y.early?.changed, true);
  assert.equal(explainTcb(t, TDX, TDX).early?.changed, false);
});
