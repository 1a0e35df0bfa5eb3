import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { collateralFromQvlJson } from '../../src/attestation/collateral/from-qvl-json.ts';
import { directoryCollateral } from '../../src/attestation/collateral/from-directory.ts';
import { explainTcb } from '../../src/attestation/dcap/tcb-explanation.ts';
import { verifyQuote } from '../../src/attestation/dcap/verify-quote.ts';
import { parseTcbInfo } from '../../src/formats/tcb-info.ts';
import { skipWithoutVectors, vector, vectorPath, vectorText } from '../helpers/vectors.ts';

/**
 * tcbExplanation on Intel's real vectors. The expected match and shortfalls are computed here from
 * the raw TCB info JSON by a separate, naive reading (not by the code under test), and the statuses
 * are the ones the vectors' README states (asserted upstream).
 */
type RawLevel = {
  tcb: { sgxtcbcomponents: Array<{ svn: number; category?: string; type?: string }>; pcesvn: number };
  tcbStatus: string;
  advisoryIDs?: string[];
};
const ROOT = resolve(import.meta.dirname, '..', '..');

function naive(levels: RawLevel[], comps: number[], pce: number) {
  const m = levels.findIndex((l) => l.tcb.pcesvn <= pce && l.tcb.sgxtcbcomponents.every((c, i) => c.svn <= comps[i]));
  const short = (l: RawLevel) => [
    ...l.tcb.sgxtcbcomponents.flatMap((c, i) =>
      comps[i] < c.svn ? [{ index: i, have: comps[i], need: c.svn, category: c.category, type: c.type }] : [],
    ),
    ...(pce < l.tcb.pcesvn ? [{ pcesvn: true, have: pce, need: l.tcb.pcesvn }] : []),
  ];
  return { m, next: m > 0 ? { index: m - 1, shortfalls: short(levels[m - 1]) } : null };
}

const simplify = (
  s: Array<{ component: string; index?: number; have: number; need: number; category?: string; type?: string }>,
) =>
  s.map((x) =>
    x.component === 'pcesvn'
      ? { pcesvn: true, have: x.have, need: x.need }
      : { index: x.index, have: x.have, need: x.need, category: x.category, type: x.type },
  );

test(
  'phala (SGX v3): ConfigurationAndSWHardeningNeeded; the components short of the next level, as its TCB info says',
  { skip: skipWithoutVectors },
  async () => {
    const col = JSON.parse(vectorText('sgx-v3-phala/collateral.json')) as { tcb_info: string };
    const a = await verifyQuote(vector('sgx-v3-phala/quote.dat'), {
      collateral: collateralFromQvlJson(col),
      at: new Date('2025-07-01T00:00:00Z'),
      policy: { acceptedTcbStatuses: ['ConfigurationAndSWHardeningNeeded'] },
    });
    assert.equal(a.verdict, 'accepted');
    const p = a.platform!;
    const x = explainTcb({ components: p.tcbComponents, pceSvn: p.pceSvn }, parseTcbInfo(col.tcb_info));
    const raw = (JSON.parse(col.tcb_info) as { tcbLevels: RawLevel[] }).tcbLevels;
    const want = naive(raw, p.tcbComponents, p.pceSvn);

    assert.equal(x.tcbStatus, 'ConfigurationAndSWHardeningNeeded');
    assert.deepEqual(x.advisoryIds, ['INTEL-SA-00289', 'INTEL-SA-00615']);
    assert.equal(x.matched?.index, want.m);
    assert.equal(x.matched?.tcbStatus, raw[want.m].tcbStatus);
    assert.equal(x.fmspc, '00a067110000');
    assert.equal(x.tcbEvaluationDataNumber, 17);
    assert.ok(want.next && want.next.shortfalls.length > 0, 'the vector has a higher level the platform misses');
    assert.equal(x.next?.index, want.next.index);
    assert.equal(x.next?.tcbStatus, raw[want.next.index].tcbStatus);
    assert.deepEqual(simplify(x.next.shortfalls), want.next.shortfalls);
    // No UpToDate level in this TCB info: nothing further to name.
    assert.equal(
      raw.some((l) => l.tcbStatus === 'UpToDate'),
      false,
    );
    assert.equal(x.upToDate, null);
  },
);

test(
  'zkdcap (SGX v3): SWHardeningNeeded at the top level — no higher level to reach',
  { skip: skipWithoutVectors },
  async () => {
    const dir = vectorPath('sgx-v3-zkdcap');
    const a = await verifyQuote(vector('sgx-v3-zkdcap/quote.dat'), {
      collateral: directoryCollateral(dir),
      at: new Date(1737458686 * 1000),
      policy: { acceptedTcbStatuses: ['SWHardeningNeeded'] },
    });
    assert.equal(a.verdict, 'accepted');
    const body = JSON.parse(vectorText('sgx-v3-zkdcap/tcb_info.json')) as { tcbInfo: { tcbLevels: RawLevel[] } };
    const text = JSON.stringify(body.tcbInfo);
    const x = explainTcb({ components: a.platform!.tcbComponents, pceSvn: a.platform!.pceSvn }, parseTcbInfo(text));
    const want = naive(body.tcbInfo.tcbLevels, a.platform!.tcbComponents, a.platform!.pceSvn);
    assert.equal(want.m, 0);
    assert.equal(x.matched?.index, 0);
    assert.equal(x.tcbStatus, 'SWHardeningNeeded');
    assert.deepEqual(x.advisoryIds, ['INTEL-SA-00334', 'INTEL-SA-00615']);
    assert.equal(x.next, null);
    assert.equal(x.upToDate, null);
  },
);

test(
  "component categories and types come from the TCB info's sgxtcbcomponents (real TDX TCB info)",
  { skip: skipWithoutVectors },
  () => {
    const col = JSON.parse(vectorText('tdx-v4-phala/collateral.json')) as { tcb_info: string };
    const raw = (JSON.parse(col.tcb_info) as { tcbLevels: RawLevel[] }).tcbLevels;
    // A platform one microcode step below the top level in component 0 (synthetic TCB, the vector's TCB info).
    const comps = raw[0].tcb.sgxtcbcomponents.map((c) => c.svn);
    comps[0] = comps[0] - 1;
    const x = explainTcb({ components: comps, pceSvn: raw[0].tcb.pcesvn }, parseTcbInfo(col.tcb_info));
    const want = naive(raw, comps, raw[0].tcb.pcesvn);
    if (want.m < 0) assert.equal(x.matched, null);
    else assert.equal(x.matched?.index, want.m);
    // The next level: the one above the match, or the lowest level when none is reached.
    const target = want.m < 0 ? raw.length - 1 : want.m - 1;
    assert.equal(x.next?.index, target);
    const s0 = x.next.shortfalls.find((s) => s.component === 'sgx' && s.index === 0)!;
    assert.deepEqual(s0, {
      component: 'sgx',
      index: 0,
      category: raw[target].tcb.sgxtcbcomponents[0].category,
      type: raw[target].tcb.sgxtcbcomponents[0].type,
      have: comps[0],
      need: raw[target].tcb.sgxtcbcomponents[0].svn,
    });
    assert.equal(s0.category, 'BIOS');
    assert.equal(s0.type, 'Early Microcode Update');
  },
);

test('catena quote verify --json carries the tcbExplanation (phala)', { skip: skipWithoutVectors }, async () => {
  const out = await new Promise<string>((ok, fail) =>
    execFile(
      process.execPath,
      [
        join(ROOT, 'bin', 'catena.js'),
        'quote',
        'verify',
        vectorPath('sgx-v3-phala/quote.dat'),
        '--collateral',
        vectorPath('sgx-v3-phala/collateral.json'),
        '--at',
        '1751328000',
        '--accept-tcb',
        'ConfigurationAndSWHardeningNeeded',
        '--json',
      ],
      { cwd: ROOT, timeout: 60_000 },
      (err, stdout, stderr) => (err ? fail(new Error(`${err.message}\n${stderr}`)) : ok(stdout)),
    ),
  );
  const r = JSON.parse(out) as {
    verdict: string;
    tcbExplanation: { tcbStatus: string; matched: { index: number }; next: { shortfalls: unknown[] } };
  };
  const col = JSON.parse(vectorText('sgx-v3-phala/collateral.json')) as { tcb_info: string };
  const a = await verifyQuote(vector('sgx-v3-phala/quote.dat'), {
    collateral: collateralFromQvlJson(col),
    at: new Date(1751328000 * 1000),
  });
  const expected = JSON.parse(
    JSON.stringify(
      explainTcb({ components: a.platform!.tcbComponents, pceSvn: a.platform!.pceSvn }, parseTcbInfo(col.tcb_info)),
    ),
  );
  assert.equal(r.verdict, 'accepted');
  assert.deepEqual(r.tcbExplanation, expected);
  assert.equal(r.tcbExplanation.tcbStatus, 'ConfigurationAndSWHardeningNeeded');

  // The plain output names the same shortfalls.
  const plain = await new Promise<string>((ok) =>
    execFile(
      process.execPath,
      [
        join(ROOT, 'bin', 'catena.js'),
        'quote',
        'verify',
        vectorPath('sgx-v3-phala/quote.dat'),
        '--collateral',
        vectorPath('sgx-v3-phala/collateral.json'),
        '--at',
        '1751328000',
      ],
      { cwd: ROOT, timeout: 60_000 },
      (_e, stdout) => ok(stdout),
    ),
  );
  const raw = (JSON.parse(col.tcb_info) as { tcbLevels: RawLevel[] }).tcbLevels;
  const want = naive(raw, a.platform!.tcbComponents, a.platform!.pceSvn);
  assert.match(plain, new RegExp(`TCB: level ${want.m} of TCB info 17 \\(${raw[want.m].tcbStatus}\\)`));
  for (const s of want.next!.shortfalls)
    if ('index' in s) assert.ok(plain.includes(`SGX component ${s.index} ${s.have} → ${s.need}`), plain);
});
