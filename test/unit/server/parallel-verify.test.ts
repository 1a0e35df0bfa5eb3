import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex } from '../../../src/bytes/util.ts';
import type { RemoteEvidenceResult, RemoteEvidenceVerifier } from '../../../src/chain/remote-verifier.ts';
import type { ChainPolicy, CollateralBlob, Link } from '../../../src/chain/types.ts';
import { createDcapRemoteVerifier } from '../../../src/cot/dcap-remote-verifier.ts';
import type { ElementHandle } from '../../../src/cot/element.ts';
import { PrefetchingVerifier } from '../../../src/server/prefetching-verifier.ts';
import { VerifierPool } from '../../../src/server/verifier-pool.ts';
import { elementId, ManagerFixture } from './fixture.ts';

const POLICY: ChainPolicy = { acceptedTcbStatuses: ['UpToDate'] };

/** A verifier that counts its calls and answers each with a distinct result. */
function counting(): RemoteEvidenceVerifier & { calls: number } {
  const v = {
    calls: 0,
    async verify(): Promise<RemoteEvidenceResult> {
      v.calls++;
      return { ok: false, check: 'fake', message: `call ${v.calls}` };
    },
  };
  return v;
}

test('PrefetchingVerifier hands a started verification only to the same quote, collateral object and time, while its request runs', async () => {
  const base = counting();
  const p = new PrefetchingVerifier(base);
  const quote = Uint8Array.from([1, 2, 3, 4]);
  const coll: CollateralBlob = { a: 'x' };
  const at = new Date(1_000_000);
  const release = p.start(quote, coll, at);
  assert.equal(base.calls, 1);
  assert.deepEqual(await p.verify(Uint8Array.from([1, 2, 3, 4]), coll, new Date(1_000_000)), {
    ok: false,
    check: 'fake',
    message: 'call 1',
  });
  assert.equal(base.calls, 1, 'the started verification was used');
  // Another time, another collateral object (even with equal content), other bytes: verified afresh.
  await p.verify(quote, coll, new Date(1_000_001));
  await p.verify(quote, { a: 'x' }, at);
  await p.verify(Uint8Array.from([1, 2, 3, 5]), coll, at);
  assert.equal(base.calls, 4);
  // Two requests with the same inputs share one entry; it lives until both released.
  const release2 = p.start(quote, coll, at);
  assert.equal(base.calls, 4);
  release();
  release(); // idempotent
  assert.equal(p.size, 1);
  release2();
  assert.equal(p.size, 0);
  // Released: nothing is reused across appends.
  assert.equal((await p.verify(quote, coll, at)).ok === false && base.calls, 5);
});

test('PrefetchingVerifier hands a started signature verdict only to the same link object and key', async () => {
  let signatureCalls = 0;
  const base = {
    async verify(): Promise<RemoteEvidenceResult> {
      return { ok: false, check: 'fake', message: 'inline' };
    },
    async verifyLink(): Promise<{ result: RemoteEvidenceResult; signature?: boolean | null }> {
      signatureCalls++;
      return { result: { ok: false, check: 'fake', message: 'pooled' }, signature: signatureCalls === 1 ? true : null };
    },
  };
  const p = new PrefetchingVerifier(base);
  const link = { child: 'x' } as unknown as Link;
  const key = new Uint8Array(64).fill(7);
  const keyHex = '07'.repeat(64);
  const quote = Uint8Array.from([9]);
  const coll: CollateralBlob = {};
  const at = new Date(5);
  const release = p.start(quote, coll, at, { link, key: keyHex });
  assert.equal(await p.signatureFor(link, key), true);
  assert.equal(p.signatureFor({ ...link }, key), undefined, 'another link object');
  assert.equal(p.signatureFor(link, new Uint8Array(64).fill(8)), undefined, 'another key');
  assert.deepEqual(await p.verify(quote, coll, at), { ok: false, check: 'fake', message: 'pooled' });
  release();
  assert.equal(p.signatureFor(link, key), undefined, 'released');
  // A verdict the worker could not compute (null) is no verdict: the checker verifies itself.
  const release2 = p.start(quote, coll, at, { link, key: keyHex });
  assert.equal(await p.signatureFor(link, key), undefined);
  release2();
});

describe('verification off the event loop', () => {
  let f: ManagerFixture;
  let parent: ElementHandle;
  let child: ElementHandle;
  before(async () => {
    f = await ManagerFixture.create({ verifierThreads: 1 });
    [parent, child] = await Promise.all([f.load(0), f.load(1)]);
  });
  after(() => f.close());

  test('VerifierPool gives exactly the in-process verifier result (accepted, and refused for an expired time); closed, it verifies in-process', async () => {
    const inProcess = createDcapRemoteVerifier(f.world.root);
    const pool = new VerifierPool(f.world.root, 2, inProcess);
    try {
      const { link, collateral } = await f.links.remote('c', 'p', parent, child, POLICY, 2);
      const quote = fromHex(link.evidence.kind === 'dcap-quote' ? link.evidence.quote : '');
      const now = new Date();
      const expected = await inProcess.verify(quote, collateral, now);
      assert.equal(expected.ok, true);
      // Several at once (both threads), each equal to the in-process result.
      const got = await Promise.all(Array.from({ length: 4 }, () => pool.verify(quote, collateral, now)));
      for (const g of got) assert.deepEqual(g, expected);
      const late = new Date(now.getTime() + 400 * 86_400_000);
      const refused = await pool.verify(quote, collateral, late);
      assert.equal(refused.ok, false);
      assert.deepEqual(refused, await inProcess.verify(quote, collateral, late));
      const altered = quote.slice();
      altered[100] ^= 1;
      assert.deepEqual(await pool.verify(altered, collateral, now), await inProcess.verify(altered, collateral, now));
      await pool.close();
      assert.equal(pool.liveThreads, 0);
      assert.deepEqual(await pool.verify(quote, collateral, now), expected);
    } finally {
      await pool.close();
    }
  });

  test('concurrent remote appends through a manager with a verifier thread: all stored once, in order, the chain verifies; replays refused as before', async () => {
    const chainId = await f.createChain(POLICY);
    const first = await f.firstLink(chainId, parent);
    assert.equal((await f.req('POST', `/v1/chains/${chainId}/elements`, first)).statusCode, 201);
    const kids = await Promise.all(Array.from({ length: 6 }, (_, i) => f.load(i % 2)));
    const bodies = [];
    for (const k of kids) bodies.push(await f.links.remote(chainId, elementId(parent), parent, k, POLICY, 2));
    const rs = await Promise.all(bodies.map((b) => f.req('POST', `/v1/chains/${chainId}/elements`, { link: b.link })));
    for (const r of rs) assert.equal(r.statusCode, 201, r.body);
    assert.deepEqual(
      rs.map((r) => r.json().seq).sort((a, b) => a - b),
      [2, 3, 4, 5, 6, 7],
    );
    // The same body again: refused, and so is the same quote under a link the parent did not sign.
    const again = await f.req('POST', `/v1/chains/${chainId}/elements`, { link: bodies[0].link });
    assert.equal(again.statusCode, 409, again.body);
    const forged = await f.req('POST', `/v1/chains/${chainId}/elements`, {
      link: { ...bodies[1].link, child: elementId(child) },
    });
    assert.equal(forged.statusCode, 422, forged.body);
    // A new link for a new element, its signature flipped: refused on the signature (checked off-thread).
    const k7 = await f.load(1);
    const next = await f.links.remote(chainId, elementId(parent), parent, k7, POLICY, 2);
    const sig = next.link.signature;
    const bad = await f.req('POST', `/v1/chains/${chainId}/elements`, {
      link: { ...next.link, signature: sig.slice(0, 20) + (sig[20] === '0' ? '1' : '0') + sig.slice(21) },
    });
    assert.equal(bad.statusCode, 422, bad.body);
    assert.equal(bad.json().check, 'link-signature');
    // A signature that is not hex: the same refusal as without a verifier thread (format).
    const notHex = await f.req('POST', `/v1/chains/${chainId}/elements`, {
      link: { ...next.link, signature: 'zz' + sig.slice(2) },
    });
    assert.equal(notHex.statusCode, 422, notHex.body);
    assert.equal(notHex.json().check, 'format');
    assert.equal((await f.req('POST', `/v1/chains/${chainId}/elements`, { link: next.link })).statusCode, 201);
    const v = (await f.req('GET', `/v1/chains/${chainId}/verify`)).json();
    assert.equal(v.valid, true, JSON.stringify(v.failures));
    assert.equal((await f.store.listElements(chainId)).length, 8);
  });
});

describe('quote verification outside the chain lock', () => {
  let f: ManagerFixture;
  const seen = { calls: 0, inFlight: 0, maxInFlight: 0 };
  before(async () => {
    const wrap = (inner: RemoteEvidenceVerifier): RemoteEvidenceVerifier => ({
      async verify(q, c, at) {
        seen.calls++;
        seen.maxInFlight = Math.max(seen.maxInFlight, ++seen.inFlight);
        try {
          await new Promise((r) => setTimeout(r, 20)); // a slow verifier: overlapping calls show
          return await inner.verify(q, c, at);
        } finally {
          seen.inFlight--;
        }
      },
    });
    f = await ManagerFixture.create({ remoteVerifier: (root) => wrap(createDcapRemoteVerifier(root)) });
  });
  after(() => f.close());

  test('concurrent appends to one chain verify their quotes concurrently, each exactly once', async () => {
    const [parent, ...kids] = await Promise.all([f.load(0), f.load(1), f.load(0), f.load(1), f.load(0)]);
    const chainId = await f.createChain(POLICY);
    assert.equal(
      (await f.req('POST', `/v1/chains/${chainId}/elements`, await f.firstLink(chainId, parent))).statusCode,
      201,
    );
    const bodies = [];
    for (const k of kids) bodies.push(await f.links.remote(chainId, elementId(parent), parent, k, POLICY, 2));
    seen.calls = 0;
    seen.maxInFlight = 0;
    const rs = await Promise.all(bodies.map((b) => f.req('POST', `/v1/chains/${chainId}/elements`, { link: b.link })));
    for (const r of rs) assert.equal(r.statusCode, 201, r.body);
    assert.equal(seen.calls, kids.length, 'one DCAP verification per append');
    assert.ok(seen.maxInFlight > 1, `verifications overlapped (max in flight ${seen.maxInFlight})`);
  });
});
