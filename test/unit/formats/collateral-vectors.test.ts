import assert from 'node:assert/strict';
import { test } from 'node:test';
import { slicePcsBody } from '../../../src/formats/pcs-body.ts';
import { parseQeIdentity } from '../../../src/formats/qe-identity.ts';
import { parseTcbInfo, type TcbInfo } from '../../../src/formats/tcb-info.ts';
import { skipWithoutVectors, vectorText } from '../../helpers/vectors.ts';

/**
 * Intel's TCB info and QE identity (../shared/vectors) against an oracle read straight from the JSON, and
 * each field's refusal by its exact code, at its bounds.
 */
type J = Record<string, any>;
const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');
const code = (c: string) => (e: unknown) => {
  assert.equal((e as { code?: string }).code, c, (e as Error).message);
  return true;
};

/** What parseTcbInfo must give for a v3 object, computed from the JSON independently. */
function expectTcb(t: J, info: TcbInfo): void {
  assert.equal(info.id, t.id);
  assert.equal(info.version, t.version);
  assert.equal(info.issueDate.toISOString().replace('.000', ''), t.issueDate);
  assert.equal(info.nextUpdate.toISOString().replace('.000', ''), t.nextUpdate);
  assert.equal(hexOf(info.fmspc), t.fmspc.toLowerCase());
  assert.equal(hexOf(info.pceId), t.pceId.toLowerCase());
  assert.equal(info.tcbType, t.tcbType);
  assert.equal(info.tcbEvaluationDataNumber, t.tcbEvaluationDataNumber);
  assert.equal(info.tcbLevels.length, t.tcbLevels.length);
  const names = (cs: J[]) =>
    cs.some((c) => c.category !== undefined || c.type !== undefined)
      ? cs.map((c) => ({
          ...(c.category !== undefined ? { category: c.category } : {}),
          ...(c.type !== undefined ? { type: c.type } : {}),
        }))
      : undefined;
  t.tcbLevels.forEach((l: J, i: number) => {
    const got = info.tcbLevels[i];
    assert.deepEqual(
      got.sgxComponents,
      l.tcb.sgxtcbcomponents.map((c: J) => c.svn),
    );
    assert.equal(got.pceSvn, l.tcb.pcesvn);
    assert.deepEqual(
      got.tdxComponents,
      l.tcb.tdxtcbcomponents?.map((c: J) => c.svn),
    );
    assert.deepEqual(got.sgxComponentNames, names(l.tcb.sgxtcbcomponents));
    assert.deepEqual(got.tdxComponentNames, l.tcb.tdxtcbcomponents ? names(l.tcb.tdxtcbcomponents) : undefined);
    assert.equal(got.tcbDate.toISOString().replace('.000', ''), l.tcbDate);
    assert.equal(got.tcbStatus, l.tcbStatus);
    assert.deepEqual(got.advisoryIds, l.advisoryIDs ?? []);
  });
  if (t.id === 'TDX') {
    assert.equal(hexOf(info.tdxModule!.mrSigner), t.tdxModule.mrsigner.toLowerCase());
    assert.equal(hexOf(info.tdxModule!.attributes), t.tdxModule.attributes.toLowerCase());
    assert.equal(hexOf(info.tdxModule!.attributesMask), t.tdxModule.attributesMask.toLowerCase());
    assert.equal(info.tdxModuleIdentities!.length, t.tdxModuleIdentities.length);
    t.tdxModuleIdentities.forEach((m: J, i: number) => {
      const got = info.tdxModuleIdentities![i];
      assert.equal(got.id, m.id);
      assert.equal(hexOf(got.mrSigner), m.mrsigner.toLowerCase());
      assert.equal(hexOf(got.attributesMask), m.attributesMask.toLowerCase());
      assert.deepEqual(
        got.tcbLevels.map((l) => [l.isvSvn, l.tcbDate.toISOString().replace('.000', ''), l.tcbStatus, l.advisoryIds]),
        m.tcbLevels.map((l: J) => [l.tcb.isvsvn, l.tcbDate, l.tcbStatus, l.advisoryIDs ?? []]),
      );
    });
  } else {
    assert.equal(info.tdxModule, undefined);
    assert.equal(info.tdxModuleIdentities, undefined);
  }
}

test(
  "Intel's TCB info (SGX v3 from a PCS body, TDX v3 with module identities) parses to what its JSON says",
  { skip: skipWithoutVectors },
  () => {
    const zk = slicePcsBody(vectorText('sgx-v3-zkdcap/tcb_info.json'), 'tcbInfo');
    const zkInfo = parseTcbInfo(zk.text);
    expectTcb(JSON.parse(zk.text), zkInfo);
    assert.equal(zkInfo.tcbEvaluationDataNumber, 17);
    assert.deepEqual(zkInfo.tcbLevels[0].advisoryIds, ['INTEL-SA-00334', 'INTEL-SA-00615']);
    for (const dir of ['tdx-v4-phala', 'sgx-v3-phala']) {
      const text = JSON.parse(vectorText(`${dir}/collateral.json`)).tcb_info as string;
      expectTcb(JSON.parse(text), parseTcbInfo(text));
    }
    const tdx = parseTcbInfo(JSON.parse(vectorText('tdx-v4-phala/collateral.json')).tcb_info);
    assert.deepEqual(tdx.tcbLevels[0].tdxComponentNames?.[0], { category: 'OS/VMM', type: 'TDX Module' });
    assert.deepEqual(tdx.tcbLevels[0].sgxComponentNames?.[6], {});
  },
);

test(
  "Intel's QE identities (QE from a PCS body, TD_QE) parse to what their JSON says",
  { skip: skipWithoutVectors },
  () => {
    const texts = [
      slicePcsBody(vectorText('sgx-v3-zkdcap/qe_identity.json'), 'enclaveIdentity').text,
      JSON.parse(vectorText('tdx-v4-phala/collateral.json')).qe_identity as string,
      JSON.parse(vectorText('sgx-v3-phala/collateral.json')).qe_identity as string,
    ];
    for (const text of texts) {
      const j = JSON.parse(text);
      const q = parseQeIdentity(text);
      assert.equal(q.id, j.id);
      assert.equal(q.version, 2);
      assert.equal(q.issueDate.toISOString().replace('.000', ''), j.issueDate);
      assert.equal(q.nextUpdate.toISOString().replace('.000', ''), j.nextUpdate);
      assert.equal(q.tcbEvaluationDataNumber, j.tcbEvaluationDataNumber);
      for (const [k, f] of [
        ['miscselect', q.miscSelect],
        ['miscselectMask', q.miscSelectMask],
        ['attributes', q.attributes],
        ['attributesMask', q.attributesMask],
        ['mrsigner', q.mrSigner],
      ] as const)
        assert.equal(hexOf(f), j[k].toLowerCase(), k);
      assert.equal(q.isvProdId, j.isvprodid);
      assert.deepEqual(
        q.tcbLevels.map((l) => [l.isvSvn, l.tcbDate.toISOString().replace('.000', ''), l.tcbStatus, l.advisoryIds]),
        j.tcbLevels.map((l: J) => [l.tcb.isvsvn, l.tcbDate, l.tcbStatus, l.advisoryIDs ?? []]),
      );
    }
  },
);

const comps = (svn = 1, extra: J = {}) => Array.from({ length: 16 }, () => ({ svn, ...extra }));
const level = (tcb: J = {}, rest: J = {}): J => ({
  tcb: { sgxtcbcomponents: comps(), pcesvn: 13, ...tcb },
  tcbDate: '2024-03-13T00:00:00Z',
  tcbStatus: 'UpToDate',
  ...rest,
});
const sgx: J = {
  id: 'SGX',
  version: 3,
  issueDate: '2025-01-01T00:00:00Z',
  nextUpdate: '2025-02-01T00:00:00.123Z',
  fmspc: '00906ED50000',
  pceId: '0000',
  tcbType: 0,
  tcbEvaluationDataNumber: 17,
  tcbLevels: [level()],
};
const module = { mrsigner: '00'.repeat(48), attributes: '00'.repeat(8), attributesMask: 'FF'.repeat(8) };
const tdx: J = { ...sgx, id: 'TDX', tdxModule: module, tcbLevels: [level({ tdxtcbcomponents: comps(2) })] };
const tcb = (o: J) => parseTcbInfo(JSON.stringify(o));
const without = (o: J, k: string) => Object.fromEntries(Object.entries(o).filter(([key]) => key !== k));

test('TCB info: bounds that pass, and every refusal as ERR_TCB_INFO_FORMAT (or _VERSION)', () => {
  assert.equal(tcb(sgx).nextUpdate.toISOString(), '2025-02-01T00:00:00.123Z');
  assert.deepEqual(
    tcb({ ...sgx, tcbLevels: [level({ sgxtcbcomponents: comps(255), pcesvn: 65535 })] }).tcbLevels[0].pceSvn,
    65535,
  );
  assert.equal(tcb(tdx).tcbLevels[0].tdxComponents?.[0], 2);
  assert.equal(tcb(tdx).tdxModuleIdentities, undefined);
  const F = 'ERR_TCB_INFO_FORMAT';
  const bad: Array<[string, J, string?]> = [
    ['version 1', { ...sgx, version: 1 }, 'ERR_TCB_INFO_VERSION'],
    ['version "3"', { ...sgx, version: '3' }],
    ['version 3.5', { ...sgx, version: 3.5 }],
    ['version -3', { ...sgx, version: -3 }],
    ['v3 without id', without(sgx, 'id')],
    ['v3 id "ABC"', { ...sgx, id: 'ABC' }],
    ['tcbType 1', { ...sgx, tcbType: 1 }],
    ['tcbType absent', without(sgx, 'tcbType')],
    ['issueDate absent', without(sgx, 'issueDate')],
    ['issueDate with offset', { ...sgx, issueDate: '2025-01-01T00:00:00+00:00' }],
    ['issueDate with 4 decimals', { ...sgx, issueDate: '2025-01-01T00:00:00.1234Z' }],
    // An ISO 8601 expanded year: Date reads it (the same instant), Intel's format has none.
    ['issueDate with an expanded year', { ...sgx, issueDate: '+002025-01-01T00:00:00Z' }],
    ['issueDate month 13', { ...sgx, issueDate: '2025-13-01T00:00:00Z' }],
    ['issueDate a number', { ...sgx, issueDate: 1 }],
    ['fmspc of 5 bytes', { ...sgx, fmspc: '00906ED500' }],
    ['fmspc not hex', { ...sgx, fmspc: '00906ED5000G' }],
    ['pceId of 3 bytes', { ...sgx, pceId: '000000' }],
    ['tcbLevels absent', without(sgx, 'tcbLevels')],
    ['tcbLevels an object', { ...sgx, tcbLevels: {} }],
    ['no tcbLevels', { ...sgx, tcbLevels: [] }],
    ['a level that is not an object', { ...sgx, tcbLevels: [[]] }],
    ['a level without tcb', { ...sgx, tcbLevels: [without(level(), 'tcb')] }],
    ['15 components', { ...sgx, tcbLevels: [level({ sgxtcbcomponents: comps().slice(1) })] }],
    ['17 components', { ...sgx, tcbLevels: [level({ sgxtcbcomponents: [...comps(), { svn: 1 }] })] }],
    ['component 256', { ...sgx, tcbLevels: [level({ sgxtcbcomponents: comps(256) })] }],
    ['component not an object', { ...sgx, tcbLevels: [level({ sgxtcbcomponents: Array(16).fill(1) })] }],
    ['component category a number', { ...sgx, tcbLevels: [level({ sgxtcbcomponents: comps(1, { category: 1 }) })] }],
    ['component type a number', { ...sgx, tcbLevels: [level({ sgxtcbcomponents: comps(1, { type: 2 }) })] }],
    ['pcesvn 65536', { ...sgx, tcbLevels: [level({ pcesvn: 65536 })] }],
    ['tcbStatus unknown', { ...sgx, tcbLevels: [level({}, { tcbStatus: 'Fine' })] }],
    ['advisoryIDs not an array', { ...sgx, tcbLevels: [level({}, { advisoryIDs: 'INTEL-SA-1' })] }],
    ['advisoryIDs of numbers', { ...sgx, tcbLevels: [level({}, { advisoryIDs: [1] })] }],
    ['TDX without tdxModule', without(tdx, 'tdxModule')],
    ['TDX module mrsigner of 32 bytes', { ...tdx, tdxModule: { ...module, mrsigner: '00'.repeat(32) } }],
    ['TDX module attributes of 7 bytes', { ...tdx, tdxModule: { ...module, attributes: '00'.repeat(7) } }],
    ['TDX module mask absent', { ...tdx, tdxModule: without(module, 'attributesMask') }],
    ['TDX level without tdxtcbcomponents', { ...tdx, tcbLevels: [level()] }],
    ['module identities not an array', { ...tdx, tdxModuleIdentities: {} }],
    ['module identity not an object', { ...tdx, tdxModuleIdentities: [1] }],
    ['module identity without id', { ...tdx, tdxModuleIdentities: [{ ...module, tcbLevels: [] }] }],
    ['module identity without levels', { ...tdx, tdxModuleIdentities: [{ ...module, id: 'TDX_01' }] }],
    [
      'module identity isvsvn 256',
      {
        ...tdx,
        tdxModuleIdentities: [
          {
            ...module,
            id: 'TDX_01',
            tcbLevels: [{ tcb: { isvsvn: 256 }, tcbDate: '2024-03-13T00:00:00Z', tcbStatus: 'UpToDate' }],
          },
        ],
      },
    ],
    [
      'module identity level without tcb',
      {
        ...tdx,
        tdxModuleIdentities: [
          { ...module, id: 'TDX_01', tcbLevels: [{ tcbDate: '2024-03-13T00:00:00Z', tcbStatus: 'UpToDate' }] },
        ],
      },
    ],
    [
      'module identity level status unknown',
      {
        ...tdx,
        tdxModuleIdentities: [
          {
            ...module,
            id: 'TDX_01',
            tcbLevels: [{ tcb: { isvsvn: 1 }, tcbDate: '2024-03-13T00:00:00Z', tcbStatus: 'Bad' }],
          },
        ],
      },
    ],
  ];
  for (const [why, o, c] of bad) assert.throws(() => tcb(o), code(c ?? F), why);
  for (const text of ['', 'null', '[]', '"x"', '{']) assert.throws(() => parseTcbInfo(text), code(F), text);
  const mi = tcb({
    ...tdx,
    tdxModuleIdentities: [
      {
        ...module,
        id: 'TDX_01',
        tcbLevels: [
          { tcb: { isvsvn: 255 }, tcbDate: '2024-03-13T00:00:00Z', tcbStatus: 'OutOfDate', advisoryIDs: ['A'] },
        ],
      },
    ],
  });
  assert.deepEqual(mi.tdxModuleIdentities![0].tcbLevels[0].isvSvn, 255);
  assert.deepEqual(mi.tdxModuleIdentities![0].tcbLevels[0].advisoryIds, ['A']);
  // v2: component names do not exist there; the 16 components are sgxtcbcompNNsvn.
  const v2tcb: J = { pcesvn: 1 };
  for (let i = 1; i <= 16; i++) v2tcb[`sgxtcbcomp${String(i).padStart(2, '0')}svn`] = i;
  const v2obj = {
    ...without(sgx, 'id'),
    version: 2,
    tcbLevels: [{ tcb: v2tcb, tcbDate: '2024-03-13T00:00:00Z', tcbStatus: 'Revoked' }],
  };
  const v2 = tcb(v2obj);
  assert.throws(() => tcb({ ...v2obj, id: 'SGX' }), code(F), 'v2 with an id');
  assert.deepEqual(
    v2.tcbLevels[0].sgxComponents,
    [...Array(16).keys()].map((i) => i + 1),
  );
  assert.equal(v2.tcbLevels[0].sgxComponentNames, undefined);
  assert.throws(
    () =>
      tcb({
        ...without(sgx, 'id'),
        version: 2,
        tcbLevels: [
          { tcb: { ...v2tcb, sgxtcbcomp16svn: 256 }, tcbDate: '2024-03-13T00:00:00Z', tcbStatus: 'UpToDate' },
        ],
      }),
    code(F),
  );
  assert.throws(
    () =>
      tcb({
        ...without(sgx, 'id'),
        version: 2,
        tcbLevels: [{ tcb: without(v2tcb, 'sgxtcbcomp01svn'), tcbDate: '2024-03-13T00:00:00Z', tcbStatus: 'UpToDate' }],
      }),
    code(F),
  );
});

test('TCB info v3: tdxComponents only in a TDX level; component names only where a component has a category or a type', () => {
  const keys = (o: object) => Object.keys(o).sort();
  const base = ['advisoryIds', 'pceSvn', 'sgxComponents', 'tcbDate', 'tcbStatus'];
  assert.deepEqual(keys(tcb(sgx).tcbLevels[0]), base);
  assert.deepEqual(keys(tcb(tdx).tcbLevels[0]), [...base, 'tdxComponents'].sort());
  const named = (i: number, extra: J) => comps().map((c, j) => (j === i ? { ...c, ...extra } : c));
  const expect = (i: number, name: J) => Array.from({ length: 16 }, (_, j) => (j === i ? name : {}));
  for (const name of [{ category: 'BIOS' }, { type: 'Early Microcode Update' }]) {
    const l = tcb({ ...sgx, tcbLevels: [level({ sgxtcbcomponents: named(3, name) })] }).tcbLevels[0];
    assert.deepEqual(l.sgxComponentNames, expect(3, name), JSON.stringify(name));
    assert.deepEqual(keys(l), [...base, 'sgxComponentNames'].sort());
    const t = tcb({ ...tdx, tcbLevels: [level({ tdxtcbcomponents: named(0, name) })] }).tcbLevels[0];
    assert.deepEqual(t.tdxComponentNames, expect(0, name), JSON.stringify(name));
    assert.deepEqual(keys(t), [...base, 'tdxComponents', 'tdxComponentNames'].sort());
  }
});

const qe: J = {
  id: 'QE',
  version: 2,
  issueDate: '2025-01-01T00:00:00Z',
  nextUpdate: '2025-02-01T00:00:00Z',
  tcbEvaluationDataNumber: 17,
  miscselect: '00000000',
  miscselectMask: 'FFFFFFFF',
  attributes: '11000000000000000000000000000000',
  attributesMask: 'FBFFFFFFFFFFFFFF0000000000000000',
  mrsigner: '8C4F5775D796503E96137F77C68A829A0056AC8DED70140B081B094490C57BFF',
  isvprodid: 65535,
  tcbLevels: [{ tcb: { isvsvn: 65535 }, tcbDate: '2024-03-13T00:00:00Z', tcbStatus: 'UpToDate' }],
};

test('QE identity: the three ids and the bounds pass; every refusal as ERR_QE_IDENTITY_FORMAT (or _VERSION)', () => {
  for (const id of ['QE', 'QVE', 'TD_QE']) assert.equal(parseQeIdentity(JSON.stringify({ ...qe, id })).id, id);
  const p = parseQeIdentity(JSON.stringify(qe));
  assert.equal(p.isvProdId, 65535);
  assert.equal(p.tcbLevels[0].isvSvn, 65535);
  assert.deepEqual(p.tcbLevels[0].advisoryIds, []);
  const F = 'ERR_QE_IDENTITY_FORMAT';
  const lv = (o: J) => ({ ...qe, tcbLevels: [{ ...qe.tcbLevels[0], ...o }] });
  const bad: Array<[string, J, string?]> = [
    ['version 3', { ...qe, version: 3 }, 'ERR_QE_IDENTITY_VERSION'],
    ['version absent', without(qe, 'version')],
    ['id absent', without(qe, 'id')],
    ['id "qe"', { ...qe, id: 'qe' }],
    ['no levels', { ...qe, tcbLevels: [] }],
    ['levels absent', without(qe, 'tcbLevels')],
    ['isvprodid 65536', { ...qe, isvprodid: 65536 }],
    ['miscselect of 3 bytes', { ...qe, miscselect: '000000' }],
    ['miscselectMask absent', without(qe, 'miscselectMask')],
    ['attributes of 15 bytes', { ...qe, attributes: '00'.repeat(15) }],
    ['attributesMask of 17 bytes', { ...qe, attributesMask: '00'.repeat(17) }],
    ['mrsigner of 31 bytes', { ...qe, mrsigner: '00'.repeat(31) }],
    ['tcbEvaluationDataNumber absent', without(qe, 'tcbEvaluationDataNumber')],
    ['nextUpdate absent', without(qe, 'nextUpdate')],
    ['issueDate bad', { ...qe, issueDate: '2025-01-01' }],
    ['level isvsvn 65536', lv({ tcb: { isvsvn: 65536 } })],
    ['level without tcb', lv({ tcb: undefined })],
    ['level status unknown', lv({ tcbStatus: 'Good' })],
    ['level date bad', lv({ tcbDate: 'yesterday' })],
    ['level advisories bad', lv({ advisoryIDs: [null] })],
    ['a level not an object', { ...qe, tcbLevels: ['x'] }],
  ];
  for (const [why, o, c] of bad) assert.throws(() => parseQeIdentity(JSON.stringify(o)), code(c ?? F), why);
  assert.throws(() => parseQeIdentity('[1]'), code(F));
  assert.throws(() => parseQeIdentity('not json'), code(F));
});

test('slicePcsBody: escapes inside strings, members in either order without spaces, and each malformed member refused', () => {
  const SIG = 'cd'.repeat(64);
  const inner = '{"a":"\\"}","b":[{"c":"]"}]}';
  assert.equal(slicePcsBody(`{"signature":"${SIG}","tcbInfo":${inner}}`, 'tcbInfo').text, inner);
  assert.equal(slicePcsBody(`{"tcbInfo":${inner},"signature":"${SIG}"}`, 'tcbInfo').text, inner);
  assert.equal(slicePcsBody(`{"enclaveIdentity":{},"signature":"${SIG}"}`, 'enclaveIdentity').text, '{}');
  const P = 'ERR_PCS_BODY';
  for (const body of [
    'null',
    '"x"',
    `{"tcbInfo":"{}","signature":"${SIG}"}`,
    `{"tcbInfo":1,"signature":"${SIG}"}`,
    `{"tcbInfo":{},"signature":1}`,
    `{"signature":1,"tcbInfo":{}}`,
    `{"tcbInfo":{}}`,
  ])
    assert.throws(() => slicePcsBody(body, 'tcbInfo'), code(P), body);
  // The signature is read as a string, escapes and all, before it is decoded: a bad one is bad hex.
  assert.throws(() => slicePcsBody(`{"signature":"ab\\"cd","tcbInfo":{}}`, 'tcbInfo'), code('ERR_HEX'));
  assert.throws(() => slicePcsBody(`{"tcbInfo":{},"signature":"abcd"}`, 'tcbInfo'), code('ERR_HEX'));
});
