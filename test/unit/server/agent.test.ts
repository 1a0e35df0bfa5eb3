import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { hex } from '../../../src/bytes/util.ts';
import { Chain } from '../../../src/chain/chain.ts';
import { generateP256 } from '../../../src/crypto/ecdsa.ts';
import { generateVendorKey } from '../../../src/crypto/rsa3072.ts';
import { dcapRemoteVerifier } from '../../../src/cot/dcap-remote-verifier.ts';
import { EmulatedWorld } from '../../../src/cot/world.ts';
import { buildAgent } from '../../../src/server/agent.ts';

let world: EmulatedWorld;
let app: FastifyInstance;
before(async () => {
  world = await EmulatedWorld.create({ clouds: 1, platformsPerCloud: 2 });
  await world.collateralFor();
  app = buildAgent({ world, cloud: 'cloud-t', vendorKey: generateVendorKey(), id: 'agent-t' });
});
after(async () => {
  await app.close();
  await world.close();
});

const post = (url: string, payload: object) => app.inject({ method: 'POST', url, payload });

test('agent: local admits only a child whose REPORT verifies for the parent; remote admits a quoted child; links pass the chain checks', async () => {
  const chain = Chain.create({ name: 'a', root: world.root, emulatedRoot: true, policy: {}, owner: generateP256(), remote: dcapRemoteVerifier(world.root), now: new Date() });
  const load = async (platform: number) => (await post('/v1/elements', { platform })).json();
  const [p, sameP, otherP] = [await load(0), await load(0), await load(1)];
  assert.equal((await post('/v1/elements', { platform: 9 })).statusCode, 404);
  assert.equal((await post('/v1/elements', { platform: 'x' })).statusCode, 400);

  // First link: the chain owner (here: in-process) appraises the agent's quote.
  const nonce = chain.newNonce();
  const ev = (await post(`/v1/elements/${p.element}/evidence`, { chain: chain.id, nonce })).json();
  assert.ok(ev.quote && ev.collateral);
  const { identityOfBody } = await import('../../../src/cot/element-core.ts');
  const { parseReport } = await import('../../../src/formats/report.ts');
  const { fromHex } = await import('../../../src/bytes/util.ts');
  const base = {
    version: 1 as const,
    chain: chain.id,
    parent: null,
    child: ev.element,
    type: 'remote' as const,
    nonce,
    childKey: ev.elementKey,
    childIdentity: identityOfBody(parseReport(fromHex(ev.report)).body),
    childPlatform: ev.platform,
    evidence: { kind: 'dcap-quote' as const, quote: ev.quote, collateral: Chain.collateralId(ev.collateral) },
    at: new Date().toISOString(),
  };
  const appraisal = await chain.appraiseRemote(fromHex(ev.quote), ev.collateral, new Date());
  await chain.append(chain.signAsOwner({ ...base, appraisal }), { at: new Date(), collateral: ev.collateral });

  const admit = (child: { element: string }, type: 'local' | 'remote') =>
    post(`/v1/elements/${p.element}/admit`, { chain: { id: chain.id, policy: {} }, root: hex(world.root), depth: 2, type, child: { element: child.element } });
  const bad = await admit(otherP, 'local');
  assert.equal(bad.statusCode, 422, bad.body);
  assert.equal(bad.json().code, 'ERR_LINK_REFUSED');
  assert.equal(bad.json().check, 'report-mac');

  const local = await admit(sameP, 'local');
  assert.equal(local.statusCode, 200, local.body);
  await chain.append(local.json().link, { at: new Date() });
  const remote = await admit(otherP, 'remote');
  assert.equal(remote.statusCode, 200, remote.body);
  assert.equal(remote.json().link.appraisal.tcbStatus, 'UpToDate');
  await chain.append(remote.json().link, { at: new Date(), collateral: remote.json().collateral });
  const v = await chain.verify(new Date());
  assert.equal(v.valid, true, JSON.stringify(v.failures));
  assert.deepEqual(v.links, { local: 1, remote: 2 });
  assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).json().elements, 3);
});
