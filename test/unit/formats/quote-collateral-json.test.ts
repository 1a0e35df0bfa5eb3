import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FormatError } from '../../../src/errors.ts';
import { parseQeIdentity, parseTcbInfo, slicePcsBody } from '../../../src/formats/index.ts';

/** PCS bodies (exact inner text), TCB info v2/v3 and QE identity v2 parsing on hand-written samples in Intel's shapes. */
const SIG = 'ab'.repeat(64);

test('slicePcsBody returns the inner object byte for byte, whatever the spacing and member order', () => {
  const inner = '{ "id":"SGX", "note":"braces } { and \\"quotes\\" inside", "a":[1,{"b":2}] }';
  for (const body of [
    `{"tcbInfo":${inner},"signature":"${SIG}"}`,
    `{\n  "signature" : "${SIG}" ,\n  "tcbInfo" :${inner}\n}`,
  ]) {
    const s = slicePcsBody(body, 'tcbInfo');
    assert.equal(s.text, inner);
    assert.equal(Buffer.from(s.signature).toString('hex'), SIG);
  }
});

test('slicePcsBody refuses other shapes', () => {
  const bad = (b: string) => assert.throws(() => slicePcsBody(b, 'tcbInfo'), FormatError, b);
  bad(`{"tcbInfo":{},"signature":"${SIG}","extra":1}`);
  bad(`{"enclaveIdentity":{},"signature":"${SIG}"}`);
  bad(`{"tcbInfo":{},"signature":"abcd"}`);
  bad(`{"tcbInfo":[],"signature":"${SIG}"}`);
  bad('not json');
});

const level3 = (svns: number[], pce: number, status: string, adv?: string[]) => ({
  tcb: { sgxtcbcomponents: svns.map((svn) => ({ svn })), pcesvn: pce },
  tcbDate: '2024-03-13T00:00:00Z',
  tcbStatus: status,
  ...(adv ? { advisoryIDs: adv } : {}),
});
const comps = (first: number) => [first, ...new Array(15).fill(0)];
const header = {
  issueDate: '2025-01-01T00:00:00Z',
  nextUpdate: '2025-02-01T00:00:00Z',
  fmspc: '00906ED50000',
  pceId: '0000',
  tcbType: 0,
  tcbEvaluationDataNumber: 17,
};

test('TCB info v3 (SGX) and v2 parse to the same levels', () => {
  const v3 = parseTcbInfo(
    JSON.stringify({
      id: 'SGX',
      version: 3,
      ...header,
      tcbLevels: [level3(comps(5), 13, 'UpToDate'), level3(comps(4), 13, 'OutOfDate', ['INTEL-SA-1'])],
    }),
  );
  const v2level = (first: number, status: string, adv?: string[]) => {
    const tcb: Record<string, number> = { pcesvn: 13 };
    comps(first).forEach((svn, i) => (tcb[`sgxtcbcomp${String(i + 1).padStart(2, '0')}svn`] = svn));
    return { tcb, tcbDate: '2024-03-13T00:00:00Z', tcbStatus: status, ...(adv ? { advisoryIDs: adv } : {}) };
  };
  const v2 = parseTcbInfo(
    JSON.stringify({
      version: 2,
      ...header,
      tcbLevels: [v2level(5, 'UpToDate'), v2level(4, 'OutOfDate', ['INTEL-SA-1'])],
    }),
  );
  assert.equal(v3.id, 'SGX');
  assert.equal(v2.id, 'SGX');
  assert.equal(v2.version, 2);
  assert.deepEqual(v2.tcbLevels, v3.tcbLevels);
  assert.equal(v3.tcbLevels[1].advisoryIds[0], 'INTEL-SA-1');
  assert.equal(Buffer.from(v3.fmspc).toString('hex'), '00906ed50000');
  assert.equal(v3.nextUpdate.toISOString(), '2025-02-01T00:00:00.000Z');
});

test('TCB info: unknown status, wrong component count, bad dates, unknown version are refused', () => {
  const ok = { id: 'SGX', version: 3, ...header, tcbLevels: [level3(comps(5), 13, 'UpToDate')] };
  assert.doesNotThrow(() => parseTcbInfo(JSON.stringify(ok)));
  const bad = (o: unknown) => assert.throws(() => parseTcbInfo(JSON.stringify(o)), FormatError);
  bad({ ...ok, tcbLevels: [level3(comps(5), 13, 'Fine')] });
  bad({ ...ok, tcbLevels: [level3([1, 2, 3], 13, 'UpToDate')] });
  bad({ ...ok, nextUpdate: '2025-02-01' });
  bad({ ...ok, version: 4 });
  bad({ ...ok, fmspc: '0090' });
  bad({ ...ok, tcbLevels: [] });
  bad({ ...ok, id: 'TDX' }); // TDX needs tdxModule and tdxtcbcomponents
});

test('QE identity v2 parses; a wrong id or version is refused', () => {
  const qe = {
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
    isvprodid: 1,
    tcbLevels: [{ tcb: { isvsvn: 8 }, tcbDate: '2024-03-13T00:00:00Z', tcbStatus: 'UpToDate' }],
  };
  const p = parseQeIdentity(JSON.stringify(qe));
  assert.equal(p.isvProdId, 1);
  assert.equal(p.tcbLevels[0].isvSvn, 8);
  assert.equal(p.attributes[0], 0x11);
  assert.throws(() => parseQeIdentity(JSON.stringify({ ...qe, id: 'XE' })), FormatError);
  assert.throws(() => parseQeIdentity(JSON.stringify({ ...qe, version: 1 })), FormatError);
  assert.throws(() => parseQeIdentity(JSON.stringify({ ...qe, mrsigner: 'abcd' })), FormatError);
});
