import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { verifyQuote } from '../../../src/attestation/dcap/verify-quote.ts';
import { collateralFromQvlJson } from '../../../src/attestation/collateral/from-qvl-json.ts';
import { fromHex, hex } from '../../../src/bytes/util.ts';
import { generateVendorKey } from '../../../src/crypto/rsa3072.ts';
import { EmulatedWorld } from '../../../src/cot/world.ts';
import { selfSignedCertificate } from '../../../src/formats/self-signed-certificate.ts';
import { buildAgent } from '../../../src/server/agent.ts';
import { DEFAULT_FMSPC } from '../../../src/sgx/platform.ts';
import { freshKeyPair } from '../../helpers/keys.ts';

/**
 * POST /v1/platforms/:id/tcb-update on the agent (admin): after a promoted TCB recovery, the platform
 * takes the update and an element's fresh quote is UpToDate again under the promoted collateral.
 */
let world: EmulatedWorld;
let agent: FastifyInstance;
const vendor = generateVendorKey();

before(async () => {
  world = await EmulatedWorld.create({ platformsPerCloud: 2 });
  await world.collateralFor();
  const key = freshKeyPair('ec', { namedCurve: 'P-256' });
  const now = Date.now();
  const der = selfSignedCertificate({
    commonName: 'test agent',
    organization: 'catena tests',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3_600_000),
    spki: new Uint8Array(key.publicKey.export({ format: 'der', type: 'spki' })),
    privateKey: key.privateKey,
    extensions: [],
  });
  const tls = {
    keyPem: key.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    certPem: new X509Certificate(der).toString(),
  };
  agent = buildAgent({
    world,
    cloud: 'cloud-t',
    vendorKey: vendor,
    id: 'agent-t',
    tls,
    checkToken: async (t) =>
      t === 'op-admin' ? { id: 'op', role: 'admin' } : t === 'op-reader' ? { id: 'r', role: 'reader' } : null,
  });
});
after(async () => {
  await agent?.close();
  await world?.close();
});

const call = (url: string, body: unknown, token = 'op-admin') =>
  agent.inject({ method: 'POST', url, payload: body as object, headers: { authorization: `Bearer ${token}` } });

async function quoteOfElement(element: string): Promise<{ quote: Uint8Array }> {
  const r = await call(`/v1/elements/${element}/evidence`, { chain: 'c1', nonce: 'ab'.repeat(32) });
  assert.equal(r.statusCode, 200, r.body);
  return { quote: fromHex(r.json().quote) };
}

const statusUnder = async (quote: Uint8Array) => {
  world.refreshCollateral();
  const c = collateralFromQvlJson(await world.collateralFor(DEFAULT_FMSPC));
  return (
    await verifyQuote(quote, {
      collateral: c,
      at: new Date(),
      trustedRoots: [world.root],
      policy: { acceptedTcbStatuses: ['UpToDate', 'OutOfDate'] },
    })
  ).tcbStatus;
};

test('the route is admin-only, validates its body, and names an unknown platform 404', async () => {
  assert.deepEqual(
    agent.routeTable.filter((r) => r.url === '/v1/platforms/:id/tcb-update').map((r) => r.auth),
    ['admin'],
  );
  const reader = await call('/v1/platforms/0/tcb-update', {}, 'op-reader');
  assert.equal(reader.statusCode, 403);
  assert.equal(reader.json().code, 'ERR_FORBIDDEN');
  const missing = await call('/v1/platforms/7/tcb-update', {});
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().code, 'ERR_NOT_FOUND');
  const half = await call('/v1/platforms/0/tcb-update', { pceSvn: 20 });
  assert.equal(half.statusCode, 400);
  assert.equal(half.json().code, 'ERR_MALFORMED');
  const down = await call('/v1/platforms/0/tcb-update', { components: new Array(16).fill(0), pceSvn: 0 });
  assert.equal(down.statusCode, 400);
  assert.equal(down.json().code, 'ERR_MALFORMED');
});

test('after a promoted recovery, the platform takes the update: OutOfDate → UpToDate for its element', async () => {
  const created = await call('/v1/elements', { platform: 1 });
  assert.equal(created.statusCode, 201, created.body);
  const element = created.json().element as string;
  world.manufacturer.stageTcbRecovery();
  world.manufacturer.promoteTcbRecovery();
  assert.equal(await statusUnder((await quoteOfElement(element)).quote), 'OutOfDate');

  const ppid = world.platforms[1].ppid;
  const r = await call(`/v1/platforms/${ppid}/tcb-update`, {});
  assert.equal(r.statusCode, 200, r.body);
  const top = world.manufacturer.tcbLevels(DEFAULT_FMSPC)[0];
  assert.deepEqual(r.json().tcbComponents, top.components);
  assert.equal(r.json().platform, ppid);
  assert.equal(r.json().index, 1);
  assert.equal(r.json().pck, hex(world.platforms[1].quoting.pckChain[0]));
  assert.equal(await statusUnder((await quoteOfElement(element)).quote), 'UpToDate');
  // Platform 0 did not take it.
  assert.notDeepEqual(world.platforms[0].platform.identity.tcbComponents, top.components);
});
