import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { hex } from '../../../../src/bytes/util.ts';
import type { ChainPolicy } from '../../../../src/chain/types.ts';
import { dcapRemoteVerifier } from '../../../../src/cot/dcap-remote-verifier.ts';
import { parseTcbInfo } from '../../../../src/formats/tcb-info.ts';
import type { ElementRecord } from '../../../../src/server/chain-service.ts';
import { collateralRequestOfQuote } from '../../../../src/server/pcs-collateral.ts';
import {
  CollateralMonitor,
  type CollateralKey,
  type MonitorEvent,
} from '../../../../src/server/selfmanage/collateral-monitor.ts';
import { Reappraiser, type Appraised } from '../../../../src/server/selfmanage/reappraise.ts';
import { explainLink, TcbExplanationSchema } from '../../../../src/server/routes/tcb-status.ts';
import type { Chain } from '../../../../src/chain/chain.ts';
import type { Link } from '../../../../src/chain/types.ts';
import Fastify from 'fastify';
import { buildPcsServer, Manufacturer } from '../../../../src/sgx/manufacturer/index.ts';
import { DEFAULT_FMSPC, DEFAULT_PCE_SVN, DEFAULT_TCB_COMPONENTS } from '../../../../src/sgx/platform.ts';
import type { ElementRow } from '../../../../src/store/types.ts';
import { emulateTdEvidence } from '../../../../src/tdx/emulate-td-evidence.ts';

/**
 * TDX TCB recoveries in the self-management loop (issue 16, item 1): the emulated PCS stages a TDX TCB
 * recovery (admin API, `tee: "tdx"`) at update=early and promotes it; the collateral monitor watches the
 * TDX TCB info and TD_QE identity of the TD's FMSPC with conditional GETs; the stored TD evidence (an
 * emulated TDX quote, held as an element's remote-link evidence) is re-appraised against the held TDX
 * collateral: at-risk under the early release, degraded (or revoked) once promoted, with the TDX module
 * or TEE_TCB_SVN component that moved named in words.
 */
const TOKEN = 'tdx-recovery-admin-token-012345';
const policy: ChainPolicy = { acceptedTcbStatuses: ['UpToDate'] };

describe('TDX TCB recovery: watched, re-appraised, explained', () => {
  let m: Manufacturer;
  let app: FastifyInstance;
  let pcsUrl: string;
  let monitor: CollateralMonitor;
  let key: CollateralKey;
  let td: ElementRow;
  let r: Reappraiser;
  const answers: Array<{ status: number; url: string }> = [];

  const admin = async (body: object) => {
    const res = await fetch(`${pcsUrl}/admin/v1/tcb-recovery`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const appraise = async (): Promise<Appraised> => {
    const [a] = await r.appraiseChain({ root: m.root, policy }, [td], new Date());
    (td.record as ElementRecord).health = a.health; // recorded, as the loop does
    return a;
  };
  const tdxInfoHeld = (update: 'standard' | 'early') => {
    const h = monitor.held(key, update);
    return h && parseTcbInfo((h.blob as { tcb_info: string }).tcb_info);
  };

  before(async () => {
    m = await Manufacturer.create();
    m.ensureFmspc(DEFAULT_FMSPC, { components: [...DEFAULT_TCB_COMPONENTS], pceSvn: DEFAULT_PCE_SVN });
    const ev = await emulateTdEvidence({ manufacturer: m });
    assert.ok(ev.quote);
    const req = collateralRequestOfQuote(ev.quote);
    key = { teeType: req.teeType, fmspc: req.fmspc, pckCa: req.pckCa };
    assert.equal(key.teeType, 'tdx');
    const at = new Date().toISOString();
    td = {
      id: 'td-0',
      parentId: null,
      status: 'active',
      record: { link: { type: 'remote', at, evidence: { kind: 'dcap-quote', quote: hex(ev.quote), collateral: 'c' } } },
    } as unknown as ElementRow;
    app = buildPcsServer({ manufacturer: m, adminToken: TOKEN });
    app.addHook('onResponse', async (rq, reply) => {
      answers.push({ status: reply.statusCode, url: rq.url });
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    pcsUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    monitor = new CollateralMonitor({ pcsUrl, roots: () => [m.root] });
    r = new Reappraiser(dcapRemoteVerifier, monitor);
    assert.deepEqual(r.keysOf([td]), [key], 'the TD evidence needs the TDX collateral of its FMSPC');
    monitor.watch(key);
  });
  after(() => app.close());

  test('the TDX documents are watched with conditional GETs; the TD is valid, UpToDate', async () => {
    assert.deepEqual(await monitor.poll(), [], 'the first round is the baseline');
    const tdxUrls = answers.filter((a) => a.url.startsWith('/tdx/certification/v4/')).map((a) => a.url);
    for (const p of ['/tdx/certification/v4/tcb?', '/tdx/certification/v4/qe/identity?update=standard'])
      assert.ok(
        tdxUrls.some((u) => u.startsWith(p)),
        p,
      );
    assert.ok(tdxUrls.some((u) => u.includes('/tdx/certification/v4/tcb?') && u.includes('update=early')));
    assert.equal(tdxInfoHeld('standard')?.id, 'TDX');
    answers.length = 0;
    assert.deepEqual(await monitor.poll(), []);
    const tdx = answers.filter((a) => a.url.startsWith('/tdx/certification/v4/') && !a.url.includes('evaluation'));
    assert.equal(tdx.length, 4, 'TDX TCB info and TD_QE identity, standard and early');
    assert.deepEqual(
      tdx.map((a) => a.status),
      [304, 304, 304, 304],
      'unchanged: answered 304',
    );
    const a = await appraise();
    assert.equal(a.health.state, 'valid');
    assert.equal(a.health.tcbStatus, 'UpToDate');
  });

  test('a TDX module recovery staged early: detected on the TDX documents, the TD at-risk with the module named', async () => {
    const sgxBefore = m.tcbLevels(DEFAULT_FMSPC);
    const res = await admin({ stage: 'early', tee: 'tdx', tdxComponent: 'module' });
    assert.equal(res.status, 200);
    assert.equal(res.body.tee, 'tdx');
    assert.deepEqual(m.tcbLevels(DEFAULT_FMSPC, 'early'), sgxBefore, 'the SGX levels are left as they are');
    const events = await monitor.poll();
    const tdxEarly = (k: MonitorEvent['kind']) =>
      events.find((e) => e.type === 'collateral.changed' && e.kind === k && e.update === 'early');
    assert.equal(tdxEarly('tcb-info')?.fmspc, key.fmspc);
    assert.equal(tdxEarly('tcb-info')?.tcbEvaluationDataNumber, (res.body.early as number) ?? NaN);
    assert.ok(tdxEarly('qe-identity'));
    assert.equal(tdxInfoHeld('early')?.id, 'TDX');
    const a = await appraise();
    assert.equal(a.changed, true);
    assert.equal(a.health.state, 'at-risk');
    assert.equal(a.health.event, 'tcb-predicted-downgrade');
    assert.equal(a.health.tcbStatus, 'UpToDate');
    assert.equal(a.health.predictedTcbStatus, 'OutOfDate');
    assert.match(
      a.health.cause!,
      /^under the early TCB release \(evaluation data number \d+\): TCB status OutOfDate is not accepted .* — TDX TCB info \d+: TDX module TDX_01 at ISVSVN 4 UpToDate → OutOfDate \(UpToDate needs ISVSVN 5\)$/,
    );
    assert.match(a.health.explanation!, /^under the early release: TDX TCB info \d+: TDX module TDX_01/);
    // The platform status API's explanation of the TD's quote, over what the monitor holds.
    const link = { evidence: (td.record as ElementRecord).link.evidence } as Link;
    const x = explainLink({} as Chain, link, {
      standard: monitor.held(key, 'standard')!.blob,
      early: monitor.held(key, 'early')!.blob,
    });
    // Serialized by the route's response schema, as GET /v1/platforms/:id/tcb-status answers it.
    const http = Fastify();
    http.get('/x', { schema: { response: { 200: TcbExplanationSchema } } }, async () => x);
    const served = (await http.inject({ method: 'GET', url: '/x' })).json<typeof x>();
    await http.close();
    assert.deepEqual(served.tdxModule, x.tdxModule, 'the response schema keeps the module judgement');
    assert.deepEqual(served.early?.tdxModule, x.early?.tdxModule);
    assert.equal(served.tdxModule?.matched?.tcbStatus, 'UpToDate');
    assert.equal(x.early?.tdxModule?.matched?.tcbStatus, 'OutOfDate');
    assert.equal(x.early?.tdxModule?.upToDate?.isvSvn, 5);
    assert.equal(x.early?.changed, true);
  });

  test('promoted: the TD degraded (OutOfDate), old → new status in words', async () => {
    const res = await admin({ stage: 'standard', tee: 'tdx' });
    assert.equal(res.status, 200);
    const events = await monitor.poll();
    assert.ok(events.some((e) => e.type === 'collateral.changed' && e.kind === 'tcb-info' && e.update === 'standard'));
    const a = await appraise();
    assert.equal(a.changed, true);
    assert.equal(a.health.state, 'degraded');
    assert.equal(a.health.event, 'tcb-downgrade');
    assert.equal(a.health.tcbStatus, 'OutOfDate');
    assert.equal(a.health.check, 'policy-tcb-status');
    assert.match(
      a.health.cause!,
      /^TCB status OutOfDate is not accepted .* — TDX TCB info \d+: TDX module TDX_01 at ISVSVN 4 OutOfDate/,
    );
    assert.match(
      a.health.explanation!,
      /TDX module TDX_01 at ISVSVN 4 UpToDate → OutOfDate \(UpToDate needs ISVSVN 5\)/,
    );
    const again = await appraise();
    assert.equal(again.changed, false, 'the same state again is no change');
  });

  test('a TEE_TCB_SVN recovery that revokes the former level: the TD revoked, the component named', async () => {
    const res = await admin({ stage: 'standard', tee: 'tdx', tdxComponent: 'tee-tcb-svn', downgradeTo: 'Revoked' });
    assert.equal(res.status, 200);
    await monitor.poll();
    const a = await appraise();
    assert.equal(a.health.state, 'revoked');
    assert.equal(a.health.event, 'revoked');
    assert.equal(a.health.check, 'tcb.status');
    assert.match(
      a.health.cause!,
      /TDX level (OutOfDate → )?Revoked, TEE_TCB_SVN\[2\] \(TDX Late Microcode Update\) 2 → 3/,
    );
  });

  test('the admin API refuses a TDX component on an SGX recovery', async () => {
    const res = await admin({ stage: 'early', tdxComponent: 'module' });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'ERR_MALFORMED');
  });
});
