/**
 * The manager speaks every element kind (issue 16): a mixed chain (TD → workload → SGX enclave → TD …)
 * appended link by link through POST /v1/chains/:id/elements, GET /v1/chains/:id/verify reporting each
 * element's kind and checks, the proof bundle verifying offline; a wrong-kind policy and a workload the
 * TD did not measure are refused with their named checks.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { hex } from '../../../src/bytes/util.ts';
import { workloadDigest } from '../../../src/chain/layers.ts';
import { linkSigningBytes } from '../../../src/chain/signing.ts';
import type { Link, ProofBundle } from '../../../src/chain/types.ts';
import { verifyBundle } from '../../../src/chain/verify-bundle.ts';
import { createDcapRemoteVerifier } from '../../../src/cot/dcap-remote-verifier.ts';
import { signWithElementKey, type ElementKey } from '../../../src/cot/element-core.ts';
import {
  buildLayeredChain,
  layeredPolicy,
  openLayeredWorld,
  workloadsOf,
  type LayeredWorld,
} from '../../../src/cot/layered-chain.ts';
import { generateVendorKey } from '../../../src/crypto/rsa3072.ts';
import { buildManager } from '../../../src/server/manager.ts';
import { loadOrCreateManagerKey } from '../../../src/server/manager-key.ts';
import { createToken } from '../../../src/server/tokens.ts';
import { openStore } from '../../../src/store/open-store.ts';
import type { Store } from '../../../src/store/types.ts';

let lw: LayeredWorld;
let dir: string;
let store: Store;
let app: FastifyInstance;
let token: string;

before(async () => {
  lw = await openLayeredWorld(2);
  dir = await mkdtemp(join(tmpdir(), 'catena-layers-manager-'));
  store = await openStore(join(dir, 'catena.db'));
  app = await buildManager({ store, key: await loadOrCreateManagerKey(join(dir, 'key.pem')) });
  token = (await createToken(store, 'admin', 'test')).token;
});
after(async () => {
  await app.close();
  await store.close();
  await lw.close();
  await rm(dir, { recursive: true, force: true });
});

const req = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
  app.inject({
    method,
    url,
    headers: {
      authorization: `Bearer ${token}`,
      ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}),
  });

test('a policy naming a TD field for SGX enclaves is refused: 400 ERR_MALFORMED, check policy-kind', async () => {
  const r = await req('POST', '/v1/chains', {
    name: 'wrong kind',
    root: hex(lw.world.root),
    emulatedRoot: true,
    policy: { identities: [{ mrSigner: 'ab'.repeat(32) }], tdx: { mrEnclave: ['cd'.repeat(32)] } },
  });
  assert.equal(r.statusCode, 400, r.body);
  assert.equal(r.json().code, 'ERR_MALFORMED');
  assert.equal(r.json().check, 'policy-kind');
});

test('a mixed chain appended link by link: the manager checks each, reports kinds, its proof verifies offline', async () => {
  const vendor = generateVendorKey();
  const policy = layeredPolicy(hex(lw.world.elementImage(vendor).mrSigner), [
    ...workloadsOf(0, 1),
    ...workloadsOf(1, 1),
  ]);
  const created = await req('POST', '/v1/chains', {
    name: 'mixed',
    root: hex(lw.world.root),
    emulatedRoot: true,
    policy,
  });
  assert.equal(created.statusCode, 201, created.body);
  const id = created.json<{ id: string }>().id;
  const { nonce } = (await req('POST', `/v1/chains/${id}/challenge`)).json<{ nonce: string }>();
  const posted: Link[] = [];
  const { builder, tds } = await buildLayeredChain(lw, {
    vendor,
    chainId: id,
    firstNonce: nonce,
    onCommit: async (link, collateral, cloud) => {
      const r = await req('POST', `/v1/chains/${id}/elements`, { link, ...(collateral ? { collateral } : {}), cloud });
      assert.equal(r.statusCode, 201, r.body);
      posted.push(link);
    },
  });
  await builder.destroyAll();
  assert.deepEqual([...new Set(posted.map((l) => l.type))].sort(), ['local', 'measured', 'remote']);

  const v = (await req('GET', `/v1/chains/${id}/verify`)).json<{
    valid: boolean;
    kinds: Record<string, number>;
    links: { measured?: number };
    elements: Record<string, { kind: string; checks: string[] }>;
  }>();
  assert.equal(v.valid, true, JSON.stringify(v));
  assert.deepEqual(v.kinds, { 'tdx-td': 3, 'td-workload': 2, 'sgx-enclave': 4 });
  assert.equal(v.links.measured, 2);
  const td = Object.values(v.elements).find((e) => e.kind === 'tdx-td')!;
  assert.ok(td.checks.includes('td-event-log'));
  const proof = (await req('GET', `/v1/chains/${id}/proof`)).json<ProofBundle>();
  const offline = await verifyBundle(proof, {
    root: lw.world.root,
    at: new Date(),
    remote: createDcapRemoteVerifier(lw.world.root),
  });
  assert.equal(offline.valid, true, JSON.stringify(offline.failures));
  assert.deepEqual(offline.kinds, v.kinds);

  // A workload the TD never measured, in a link the TD signed: 422 ERR_LINK_REFUSED, check workload-measured.
  const tdId = posted[0].child;
  const absent = 'sha256:' + 'ee'.repeat(32);
  const w = posted.find((l) => l.type === 'measured')!;
  const draft: Omit<Link, 'signature'> = {
    ...w,
    child: 'e-' + 'ab'.repeat(12),
    nonce: 'cd'.repeat(32),
    childKey: posted[2].childKey,
    childIdentity: { kind: 'td-workload', imageDigest: absent, event: 99 },
    evidence: { kind: 'td-event', event: 99, digest: workloadDigest(absent) },
  };
  const key = (tds[0] as unknown as { key: ElementKey }).key;
  const forged: Link = { ...draft, parent: tdId, signature: hex(signWithElementKey(key, linkSigningBytes(draft))) };
  const r = await req('POST', `/v1/chains/${id}/elements`, { link: forged });
  assert.equal(r.statusCode, 422, r.body);
  assert.equal(r.json().code, 'ERR_LINK_REFUSED');
  assert.equal(r.json().check, 'workload-measured');
});
