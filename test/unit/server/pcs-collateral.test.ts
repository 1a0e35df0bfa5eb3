import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { collateralToQvlJson, pcsCollateral } from '../../../src/attestation/collateral/index.ts';
import { hex } from '../../../src/bytes/util.ts';
import type { ChainPolicy, CollateralBlob, Link, ProofBundle } from '../../../src/chain/types.ts';
import { collateralId, verifyBundle } from '../../../src/chain/verify-bundle.ts';
import { dcapRemoteVerifier } from '../../../src/cot/dcap-remote-verifier.ts';
import type { ElementHandle } from '../../../src/cot/element.ts';
import { collateralRequestOfQuote } from '../../../src/server/pcs-collateral.ts';
import { listenUrl } from '../../../src/server/net.ts';
import { buildPcsServer } from '../../../src/sgx/manufacturer/pcs-server.ts';
import { DEFAULT_FMSPC } from '../../../src/sgx/platform.ts';
import { elementId, ManagerFixture } from './fixture.ts';

const POLICY: ChainPolicy = { acceptedTcbStatuses: ['UpToDate'] };

function problem(
  r: { statusCode: number; headers: Record<string, unknown>; json(): any },
  status: number,
  code: string,
): any {
  assert.equal(
    r.statusCode,
    status,
    `expected ${status} ${code}, got ${r.statusCode} ${r.statusCode === 201 ? '' : JSON.stringify(r.json())}`,
  );
  assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
  const p = r.json();
  assert.equal(p.code, code);
  return p;
}

function counter(metrics: string, name: string): number {
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics);
  assert.ok(m, `${name} in /metrics`);
  return Number(m[1]);
}

describe('manager collateral from a PCS', () => {
  let f: ManagerFixture;
  let pcs: FastifyInstance;
  let pcsUrl: string;
  /** What the PCS serves, fetched independently of the manager (converted as the chain stores it). */
  let served: CollateralBlob;
  let e0: ElementHandle, e1: ElementHandle, e2: ElementHandle;
  before(async () => {
    f = await ManagerFixture.create();
    pcs = buildPcsServer({ manufacturer: f.world.manufacturer });
    pcsUrl = await listenUrl(pcs, '127.0.0.1', 0);
    served = collateralToQvlJson(
      await pcsCollateral(pcsUrl).get({ fmspc: hex(DEFAULT_FMSPC), pckCa: 'processor', teeType: 'sgx' }, new Date()),
    );
    [e0, e1, e2] = await Promise.all([f.load(0), f.load(1), f.load(1)]);
  });
  after(async () => {
    await f.close();
    await pcs.close();
  });

  const append = (chainId: string, body: object) => f.req('POST', `/v1/chains/${chainId}/elements`, body);
  const metrics = async () => (await f.req('GET', '/metrics', undefined, f.reader)).body;

  test('the collateral request comes from the PCK leaf in the quote', async () => {
    const { link } = await f.firstLink(await f.createChain(POLICY), e0);
    const req = collateralRequestOfQuote(
      Uint8Array.from(Buffer.from((link.evidence as { quote: string }).quote, 'hex')),
    );
    assert.deepEqual(req, { fmspc: hex(DEFAULT_FMSPC), pckCa: 'processor', teeType: 'sgx' });
    assert.throws(
      () => collateralRequestOfQuote(new Uint8Array(100)),
      (e: any) => e.code === 'ERR_LINK_REFUSED' && e.check === 'collateral-request',
    );
  });

  test('without a PCS, a first link without collateral is refused with ERR_COLLATERAL_REQUIRED and nothing is written', async () => {
    const chainId = await f.createChain(POLICY);
    const { link } = await f.firstLink(chainId, e0);
    const head = (await f.store.getAuditHead()).seq;
    const p = problem(await append(chainId, { link }), 422, 'ERR_COLLATERAL_REQUIRED');
    assert.equal(p.check, 'collateral-missing');
    assert.equal((await f.store.getAuditHead()).seq, head);
    assert.equal((await f.store.listElements(chainId)).length, 0);
  });

  test('with a PCS: first links without collateral succeed, N appends cause one fetch, the bundle holds the PCS collateral', async () => {
    await f.restart({ pcsUrl });
    const N = 3;
    const ids: string[] = [];
    for (let i = 0; i < N; i++) {
      const chainId = await f.createChain(POLICY);
      const { link } = await f.firstLink(chainId, e0);
      const r = await append(chainId, { link });
      assert.equal(r.statusCode, 201, r.body);
      // The manager signed the first link over the collateral it fetched, which is what the PCS serves.
      assert.equal(r.json().link.evidence.collateral, collateralId(served));
      ids.push(chainId);
    }
    const m = await metrics();
    assert.equal(counter(m, 'catena_collateral_fetches_total'), 1);
    assert.equal(counter(m, 'catena_collateral_cache_hits_total'), N - 1);

    const bundle = (await f.req('GET', `/v1/chains/${ids[0]}/proof`)).json<ProofBundle>();
    assert.deepEqual(Object.keys(bundle.collateral), [collateralId(served)]);
    assert.deepEqual(bundle.collateral[collateralId(served)], served);
    const v = await verifyBundle(bundle, {
      root: f.world.root,
      at: new Date(),
      remote: dcapRemoteVerifier(f.world.root),
    });
    assert.equal(v.valid, true, JSON.stringify(v.failures));
  });

  test('with a PCS: a client collateral on a first link is ignored (the PCS one is used)', async () => {
    const chainId = await f.createChain(POLICY);
    const { link, collateral } = await f.firstLink(chainId, e0);
    const r = await append(chainId, { link, collateral: { ...collateral, tcb_info: collateral.tcb_info + ' ' } });
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(r.json().link.evidence.collateral, collateralId(served));
  });

  test('with a PCS: later remote links — referencing the PCS collateral needs no body collateral; another one must be sent', async () => {
    const chainId = await f.createChain(POLICY);
    const first = await f.firstLink(chainId, e0);
    assert.equal((await append(chainId, { link: first.link })).statusCode, 201);
    const parentId = elementId(e0);

    // The parent verified with exactly what the PCS serves: the body needs no collateral.
    const viaPcs = await remoteLinkWith(f, served, chainId, parentId, e0, e1);
    const r1 = await append(chainId, { link: viaPcs });
    assert.equal(r1.statusCode, 201, r1.body);

    // The parent verified with its own copy (signed at another time): the manager checks the quote with
    // the PCS collateral too, and the referenced collateral must come with the request.
    const own = f.world.collateral(e2);
    if (collateralId(own) !== collateralId(served)) {
      const viaOwn = await remoteLinkWith(f, own, chainId, parentId, e0, e2);
      const head = (await f.store.getAuditHead()).seq;
      problem(await append(chainId, { link: viaOwn }), 422, 'ERR_COLLATERAL_REQUIRED');
      assert.equal((await f.store.getAuditHead()).seq, head);
      const r2 = await append(chainId, { link: viaOwn, collateral: own });
      assert.equal(r2.statusCode, 201, r2.body);
    }
    const bundle = (await f.req('GET', `/v1/chains/${chainId}/proof`)).json<ProofBundle>();
    const v = await verifyBundle(bundle, {
      root: f.world.root,
      at: new Date(),
      remote: dcapRemoteVerifier(f.world.root),
    });
    assert.equal(v.valid, true, JSON.stringify(v.failures));
  });

  test('an unreachable PCS gives 502 ERR_COLLATERAL_UNAVAILABLE and writes nothing, even with a client collateral', async () => {
    // A port nothing listens on: bind one, note it, close it.
    const gone = buildPcsServer({ manufacturer: f.world.manufacturer });
    const goneUrl = await listenUrl(gone, '127.0.0.1', 0);
    await gone.close();
    await f.restart({ pcsUrl: goneUrl });
    const chainId = await f.createChain(POLICY);
    const { link, collateral } = await f.firstLink(chainId, e0);
    const head = (await f.store.getAuditHead()).seq;
    const p = problem(await append(chainId, { link }), 502, 'ERR_COLLATERAL_UNAVAILABLE');
    assert.equal(p.check, 'collateral-source');
    assert.match(p.detail, /PCS/);
    problem(await append(chainId, { link, collateral }), 502, 'ERR_COLLATERAL_UNAVAILABLE');
    assert.equal((await f.store.getAuditHead()).seq, head);
    assert.equal((await f.store.listElements(chainId)).length, 0);
    assert.equal(counter(await metrics(), 'catena_collateral_fetches_total'), 0);
  });
});

/** A remote link whose parent enclave verified the child's quote with `collateral` (as an agent does). */
async function remoteLinkWith(
  f: ManagerFixture,
  collateral: CollateralBlob,
  chainId: string,
  parentId: string,
  parent: ElementHandle,
  child: ElementHandle,
): Promise<Link> {
  return (await f.links.remote(chainId, parentId, parent, child, POLICY, 1, child.elementKey, collateral)).link;
}
