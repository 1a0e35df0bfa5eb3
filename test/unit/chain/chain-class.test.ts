/**
 * The Chain class on synthetic links (test/helpers/synthetic-chain.ts: real keys and signatures, a remote
 * verifier answering what the test chose; milliseconds each): append refusals and that a refused append
 * leaves no trace (element, nonce, collateral), streaming (retire, counts, refusals), revoke and the
 * invalid subtree, re-attestation and its rollback, removeLeaf's platform cleanup, restore/fromBundle,
 * toBundle's collateral filter, linkCounts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hex } from '../../../src/bytes/util.ts';
import { sha256 } from '../../../src/crypto/sha256.ts';
import { createHash } from 'node:crypto';
import { Chain, enclaveElementId } from '../../../src/chain/chain.ts';
import { ChainError } from '../../../src/chain/errors.ts';
import { elementReportData } from '../../../src/chain/signing.ts';
import { parseReport, serializeReport } from '../../../src/formats/report.ts';
import { collateralId } from '../../../src/chain/verify-bundle.ts';
import { verifyBundleV2 } from '../../../src/chain/verify-bundle-v2.ts';
import { BundleWriter } from '../../../src/chain/write-bundle-v2.ts';
import type { CollateralBlob, Link } from '../../../src/chain/types.ts';
import type { RemoteEvidenceResult } from '../../../src/chain/remote-verifier.ts';
import { alwaysFailRemoteVerifier } from '../../../src/chain/remote-verifier.ts';
import { COLLATERAL, COLLATERAL_ID, ROOT, SynthChain } from '../../helpers/synthetic-chain.ts';

const COLL2: CollateralBlob = { tcbInfo: '{"synthetic":2}', qeIdentity: 'qe2' };
const COLL2_ID = collateralId(COLL2);

function chainOf(s: SynthChain, stream?: BundleWriter): Chain {
  return Chain.create({
    name: 'synthetic',
    id: s.header.id,
    root: ROOT,
    emulatedRoot: true,
    policy: {},
    owner: s.owner,
    remote: s.remote,
    now: s.now,
    ...(stream ? { stream } : {}),
  });
}

/** A refusal: its code, and (when given) its check and a pattern of its message. */
function refusal(code: string, check?: string, message?: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof ChainError, String(e));
    assert.equal(e.code, code);
    assert.equal(e.check, check);
    if (message) assert.match(e.message, message);
    return true;
  };
}

/** e1 (remote, a1) → e2 (local) → e3 (remote, a2), appended to a fresh (non-streaming) chain. */
async function sgx(stream?: BundleWriter) {
  const s = new SynthChain();
  const c = chainOf(s, stream);
  await c.append(s.remoteSgx('e1', null, 'a1'), { at: s.now, collateral: COLLATERAL });
  await c.append(s.localSgx('e2', 'e1'), { at: s.now });
  await c.append(s.remoteSgx('e3', 'e2', 'a2'), { at: s.now, collateral: COLLATERAL });
  return { s, c };
}

/** A link `s` signs for a child the test names, the quote unanswered (refused with quote:synthetic). */
function unanswered(
  s: SynthChain,
  l: Link,
  collateral = l.evidence.kind === 'dcap-quote' ? l.evidence.collateral : '',
) {
  if (l.evidence.kind !== 'dcap-quote') throw new Error('a remote link');
  s.results.delete(l.evidence.quote);
  return s.sign({ ...l, evidence: { ...l.evidence, collateral }, signature: '' });
}

/** Fresh evidence for an SGX element admitted remotely (same key and parent); unanswered when `refuse`. */
function reattestLink(s: SynthChain, old: Link, tag: number, o: { refuse?: boolean; collateral?: string } = {}): Link {
  if (old.evidence.kind !== 'dcap-quote') throw new Error('a remote link');
  const prev = s.results.get(old.evidence.quote) as Extract<RemoteEvidenceResult, { ok: true; tee?: 'sgx' }>;
  const nonce = sha256(new TextEncoder().encode(`re/${old.child}/${tag}`));
  const qb = Uint8Array.from(Buffer.from(old.evidence.quote, 'hex'));
  qb[0] ^= tag;
  const quote = hex(qb);
  const report = {
    ...prev.report,
    reportData: elementReportData(s.header.id, Buffer.from(old.childKey, 'hex'), nonce),
  };
  if (!o.refuse) s.results.set(quote, { ...prev, report });
  return s.sign({
    ...old,
    nonce: hex(nonce),
    evidence: { kind: 'dcap-quote', quote, collateral: o.collateral ?? old.evidence.collateral },
    signature: '',
  });
}

test('append: the admitted elements, platform elements for remote links only, counts, nonces, collateral', async () => {
  const s = new SynthChain();
  const c = chainOf(s);
  const l1 = s.remoteSgx('e1', null, 'a1');
  await c.append(l1, { at: s.now, collateral: COLLATERAL });
  assert.equal(c.element('platform:a1')?.cloud, undefined);
  // A local link names a cloud: the platform element (the remote link's) keeps none.
  const l2 = s.localSgx('e2', 'e1');
  const e2 = await c.append(l2, { at: s.now, collateral: COLL2, cloud: 'x' });
  assert.equal(e2.cloud, 'x');
  assert.equal(c.element('platform:a1')?.cloud, undefined);
  assert.equal(c.heldCollateral(COLL2_ID), undefined, 'a local link stores no collateral');
  assert.deepEqual(c.heldCollateral(COLLATERAL_ID), COLLATERAL);
  assert.equal(c.nonceUsed(l1.nonce), true);
  assert.equal(c.nonceUsed(l2.nonce), true);
  assert.equal(c.nonceUsed('00'.repeat(32)), false);
  assert.deepEqual(c.linkCounts, { local: 1, remote: 1 });
  assert.deepEqual(c.childrenOf(null), ['e1']);
  assert.deepEqual(c.childrenOf('e1'), ['e2']);
  assert.equal(c.size, 4);
  assert.equal((await c.verify(s.now)).valid, true);
});

test('append refusals: duplicate, unknown parent, a second first enclave', async () => {
  const { s, c } = await sgx();
  const dup = c.link('e2')!;
  await assert.rejects(
    c.append(dup, { at: s.now }),
    refusal('ERR_CHAIN_DUPLICATE', undefined, /^element e2 is already in the chain$/),
  );
  const orphan = { ...s.localSgx('x1', 'e2'), parent: 'nope' };
  await assert.rejects(
    c.append(orphan, { at: s.now }),
    refusal('ERR_CHAIN_UNKNOWN_ELEMENT', undefined, /^parent nope is not in the chain$/),
  );
  const second = s.remoteSgx('r2', null, 'a9');
  await assert.rejects(
    c.append(second, { at: s.now, collateral: COLLATERAL }),
    refusal('ERR_CHAIN_LINK_REFUSED', 'link-structure', /^the chain already has its first enclave$/),
  );
  assert.equal(c.element('r2'), undefined);
});

test('a refused append leaves no trace: no element, its nonce free, the collateral it brought dropped, held collateral kept', async () => {
  const { s, c } = await sgx();
  const before = c.toBundle();
  // New collateral, refused quote.
  const l = unanswered(s, s.remoteSgx('e4', 'e3', 'a3'), COLL2_ID);
  await assert.rejects(
    c.append(l, { at: s.now, collateral: COLL2 }),
    refusal('ERR_CHAIN_LINK_REFUSED', 'quote:synthetic', /^quote:synthetic: no answer for this quote$/),
  );
  assert.equal(c.element('e4'), undefined);
  assert.equal(c.element('platform:a3'), undefined);
  assert.equal(c.nonceUsed(l.nonce), false);
  assert.equal(c.heldCollateral(COLL2_ID), undefined);
  // Collateral already held is kept when a link bringing it again is refused.
  const l5 = unanswered(s, s.remoteSgx('e5', 'e3', 'a3'));
  await assert.rejects(
    c.append(l5, { at: s.now, collateral: COLLATERAL }),
    refusal('ERR_CHAIN_LINK_REFUSED', 'quote:synthetic'),
  );
  assert.deepEqual(c.heldCollateral(COLLATERAL_ID), COLLATERAL);
  // A refused link reusing an accepted link's nonce does not free it.
  const reuse = s.sign({ ...s.localSgx('e6', 'e3'), nonce: c.link('e2')!.nonce, signature: '' });
  await assert.rejects(c.append(reuse, { at: s.now }), refusal('ERR_CHAIN_LINK_REFUSED', 'nonce-reuse'));
  assert.equal(c.nonceUsed(c.link('e2')!.nonce), true);
  assert.deepEqual(c.toBundle(), before);
});

test('appraiseRemote refuses refused evidence with its check; signAsOwner needs the owner key', async () => {
  const { s, c } = await sgx();
  await assert.rejects(
    c.appraiseRemote(Uint8Array.of(1, 2), COLLATERAL, s.now),
    refusal('ERR_CHAIN_LINK_REFUSED', 'quote:synthetic', /^quote:synthetic: no answer for this quote$/),
  );
  const q = Uint8Array.from(Buffer.from((c.link('e1')!.evidence as { quote: string }).quote, 'hex'));
  assert.deepEqual(await c.appraiseRemote(q, COLLATERAL, s.now), {
    verdict: 'accepted',
    tcbStatus: 'UpToDate',
    advisoryIds: [],
  });
  const restored = await Chain.restore(c.toBundle(), { root: ROOT, remote: s.remote, at: s.now });
  assert.throws(
    () => restored.signAsOwner(c.link('e1')!),
    refusal('ERR_CHAIN_NO_OWNER_KEY', undefined, /^this chain instance does not hold the owner key$/),
  );
  assert.throws(
    () => restored.revoke('e2', 'r', s.now),
    refusal('ERR_CHAIN_NO_OWNER_KEY', undefined, /^this chain instance does not hold the owner key$/),
  );
  const { signature: _, ...unsigned } = c.link('e1')!;
  assert.equal(c.signAsOwner(unsigned).signature.length, 128);
});

test('revoke: unknown element refused; the subtree invalid with the cause; children of it refused', async () => {
  const { s, c } = await sgx();
  assert.throws(
    () => c.revoke('nope', 'r', s.now),
    refusal('ERR_CHAIN_UNKNOWN_ELEMENT', undefined, /^no element nope$/),
  );
  c.revoke('e2', 'gone', s.now);
  await assert.rejects(
    c.append(s.localSgx('x', 'e2'), { at: s.now }),
    refusal('ERR_CHAIN_LINK_REFUSED', 'ancestor', /^ancestor: ancestor e2 invalid: revoked: gone$/),
  );
  await assert.rejects(
    c.append(s.localSgx('y', 'e3'), { at: s.now }),
    refusal(
      'ERR_CHAIN_LINK_REFUSED',
      'ancestor',
      /^ancestor: ancestor e3 invalid: ancestor e2 invalid: revoked: gone$/,
    ),
  );
  const v = await c.verify(s.now);
  assert.equal(v.valid, false);
  assert.deepEqual(
    Object.entries(v.elements)
      .filter(([, e]) => !e.valid)
      .map(([k]) => k)
      .sort(),
    ['e2', 'e3'],
  );
});

test('reattest: unknown element, other key or parent refused; fresh evidence replaces the link, with its new collateral', async () => {
  const { s, c } = await sgx();
  const old = c.link('e3')!;
  await assert.rejects(
    c.reattest({ ...old, child: 'nope' }, { at: s.now }),
    refusal('ERR_CHAIN_UNKNOWN_ELEMENT', undefined, /^no element nope$/),
  );
  await assert.rejects(
    c.reattest({ ...old, parent: 'e1' }, { at: s.now }),
    refusal('ERR_CHAIN_LINK_REFUSED', 'link-structure', /^re-attestation must keep the element key and parent$/),
  );
  await assert.rejects(
    c.reattest({ ...old, childKey: c.link('e2')!.childKey }, { at: s.now }),
    refusal('ERR_CHAIN_LINK_REFUSED', 'link-structure', /^re-attestation must keep the element key and parent$/),
  );
  const seen: Array<{ reuse?: boolean } | undefined> = [];
  const remote = s.remote.verify.bind(s.remote);
  s.remote.verify = (q, coll, at, o) => (seen.push(o), remote(q, coll, at, o));
  const fresh = reattestLink(s, old, 1, { collateral: COLL2_ID });
  await c.reattest(fresh, { at: s.now, collateral: COLL2 });
  assert.deepEqual(seen, [{ reuse: true }]);
  assert.deepEqual(c.link('e3'), fresh);
  assert.deepEqual(c.heldCollateral(COLL2_ID), COLL2);
  // e1 still uses COLLATERAL; e3 now COLL2: both in the bundle. A reattested e1 to COLL2 drops COLLATERAL.
  assert.deepEqual(Object.keys(c.toBundle().collateral).sort(), [COLLATERAL_ID, COLL2_ID].sort());
  await c.reattest(reattestLink(s, c.link('e1')!, 2, { collateral: COLL2_ID }), { at: s.now });
  assert.deepEqual(Object.keys(c.toBundle().collateral), [COLL2_ID]);
  assert.equal((await c.verify(s.now)).valid, true);
});

test('a refused re-attestation keeps the old link, the element valid (or invalid) as it was, held collateral', async () => {
  const { s, c } = await sgx();
  const before = c.toBundle();
  const old = c.link('e3')!;
  await assert.rejects(
    c.reattest(reattestLink(s, old, 3, { refuse: true, collateral: COLL2_ID }), { at: s.now, collateral: COLL2 }),
    refusal('ERR_CHAIN_LINK_REFUSED', 'quote:synthetic', /^quote:synthetic: no answer for this quote$/),
  );
  assert.equal(c.heldCollateral(COLL2_ID), undefined);
  await assert.rejects(
    c.reattest(reattestLink(s, old, 4, { refuse: true }), { at: s.now, collateral: COLLATERAL }),
    refusal('ERR_CHAIN_LINK_REFUSED', 'quote:synthetic'),
  );
  assert.deepEqual(c.heldCollateral(COLLATERAL_ID), COLLATERAL);
  assert.deepEqual(c.toBundle(), before);
  // e3 still admits children (its state was put back).
  await c.append(s.localSgx('e4', 'e3'), { at: s.now });
  // A revoked element stays invalid after a refused re-attestation: its children stay refused.
  c.revoke('e3', 'bad', s.now);
  await assert.rejects(
    c.reattest(reattestLink(s, old, 5, { refuse: true }), { at: s.now }),
    refusal('ERR_CHAIN_LINK_REFUSED', 'quote:synthetic'),
  );
  await assert.rejects(
    c.append(s.localSgx('e5', 'e3'), { at: s.now }),
    refusal('ERR_CHAIN_LINK_REFUSED', 'ancestor', /^ancestor: ancestor e3 invalid: revoked: bad$/),
  );
  // A revoked element's re-attestation is refused as revoked, and it stays so.
  await assert.rejects(
    c.reattest(reattestLink(s, old, 6), { at: s.now }),
    refusal('ERR_CHAIN_LINK_REFUSED', 'revoked'),
  );
});

test('removeLeaf: only leaves of the chain; the platform elements go with the last enclave on them', async () => {
  const { s, c } = await sgx();
  await c.append(s.localSgx('e4', 'e3'), { at: s.now });
  assert.throws(
    () => c.removeLeaf('nope'),
    refusal('ERR_CHAIN_UNKNOWN_ELEMENT', undefined, /^no enclave element nope$/),
  );
  assert.throws(
    () => c.removeLeaf('platform:a1'),
    refusal('ERR_CHAIN_UNKNOWN_ELEMENT', undefined, /^no enclave element platform:a1$/),
  );
  assert.throws(() => c.removeLeaf('e3'), refusal('ERR_CHAIN_NOT_LEAF', undefined, /^e3 has children$/));
  c.removeLeaf('e4');
  assert.equal(c.element('e4'), undefined);
  assert.ok(c.element('platform:a2'), 'e3 still runs on a2');
  c.removeLeaf('e3');
  assert.equal(c.element('platform:a2'), undefined);
  assert.equal(c.element('qe:a2'), undefined);
  assert.ok(c.element('platform:a1'));
  assert.deepEqual(c.linkCounts, { local: 1, remote: 1 });
  assert.equal((await c.verify(s.now)).valid, true);
  // A removed leaf may be admitted again (fresh nonce): its parent still has its key.
  c.retire('e2');
  assert.ok(c.element('e2'), 'a non-streaming chain keeps a retired element');
  c.retire('nope');
  await c.append(s.localSgx('e9', 'e2'), { at: s.now });
});

test('restore keeps invalid elements invalid; fromBundle refuses an invalid bundle, naming the failure', async () => {
  const { s, c } = await sgx();
  c.revoke('e2', 'why', s.now);
  const b = c.toBundle();
  await assert.rejects(
    Chain.fromBundle(b, { root: ROOT, remote: s.remote, at: s.now }),
    refusal('ERR_CHAIN_BUNDLE', 'revoked', /^bundle does not verify: e2 revoked: element revoked: why$/),
  );
  const r = await Chain.restore(b, { root: ROOT, remote: s.remote, at: s.now, owner: s.owner });
  assert.deepEqual(r.toBundle(), b);
  await assert.rejects(
    r.append(s.localSgx('x', 'e3'), { at: s.now }),
    refusal('ERR_CHAIN_LINK_REFUSED', 'ancestor', /^ancestor: ancestor e3 invalid: ancestor e2 invalid: /),
  );
  await r.append(s.localSgx('y', 'e1'), { at: s.now });
  // A bad header: refused by both.
  const bad = structuredClone(b);
  bad.chain.name = 'changed';
  await assert.rejects(
    Chain.restore(bad, { root: ROOT, remote: s.remote, at: s.now }),
    refusal('ERR_CHAIN_BUNDLE', 'header-signature'),
  );
  // Collateral missing from a restored bundle: toBundle lists none it does not hold.
  const noColl = { ...b, collateral: {} };
  const r2 = await Chain.restore(noColl, { root: ROOT, remote: s.remote, at: s.now });
  assert.deepEqual(r2.toBundle().collateral, {});
  // A valid bundle imports, with its counts and members.
  const { s: s3, c: c3 } = await sgx();
  const f = await Chain.fromBundle(c3.toBundle(), { root: ROOT, remote: s3.remote, at: s3.now });
  assert.deepEqual(f.linkCounts, { local: 1, remote: 2 });
  assert.deepEqual(f.toBundle(), c3.toBundle());
  await assert.rejects(
    Chain.fromBundle(c3.toBundle(), { root: ROOT, remote: alwaysFailRemoteVerifier, at: s3.now }),
    refusal(
      'ERR_CHAIN_BUNDLE',
      'quote:remote-verifier',
      /^bundle does not verify: e1 quote:remote-verifier: no remote evidence verifier configured$/,
    ),
  );
});

test('linkCounts: measured only when there are measured links', async () => {
  const s = new SynthChain();
  const c = chainOf(s);
  await c.append(s.remoteSgx('e1', null, 'a1'), { at: s.now, collateral: COLLATERAL });
  await c.append(s.td('td1', 'e1', 'a3', { workloads: ['sha256:aa'] }), { at: s.now, collateral: COLLATERAL });
  assert.deepEqual(c.linkCounts, { local: 0, remote: 2 });
  await c.append(s.workload('w1', 'td1', 'sha256:aa', 1), { at: s.now });
  assert.deepEqual(c.linkCounts, { local: 0, remote: 2, measured: 1 });
});

test('streaming: counts, retire, a second first enclave refused, everything but append refused, the bundle verifies', async () => {
  const parts: Uint8Array[] = [];
  const { s, c } = await sgx(new BundleWriter((x) => parts.push(x.slice())));
  assert.deepEqual(c.linkCounts, { local: 1, remote: 2 });
  for (const what of ['revoke', 'reattest', 'removeLeaf', 'writeBundle', 'toBundle', 'verify'] as const) {
    const call = () =>
      what === 'revoke'
        ? c.revoke('e1', 'r', s.now)
        : what === 'reattest'
          ? c.reattest(s.links[0], { at: s.now })
          : what === 'removeLeaf'
            ? c.removeLeaf('e3')
            : what === 'writeBundle'
              ? c.writeBundle(new BundleWriter(() => {}))
              : what === 'toBundle'
                ? c.toBundle()
                : c.verify(s.now);
    const re = new RegExp(`^${what}: this chain streams its links to a bundle and keeps none$`);
    if (what === 'reattest') await assert.rejects(async () => call(), refusal('ERR_CHAIN_STREAMING', undefined, re));
    else assert.throws(call, refusal('ERR_CHAIN_STREAMING', undefined, re));
  }
  await assert.rejects(
    c.append(s.remoteSgx('r2', null, 'a9'), { at: s.now, collateral: COLLATERAL }),
    refusal('ERR_CHAIN_LINK_REFUSED', 'link-structure', /^the chain already has its first enclave$/),
  );
  // Retiring what is not an enclave (a platform, an unknown id) changes nothing.
  c.retire('platform:a1');
  c.retire('nope');
  assert.equal(c.size, 7);
  c.retire('e3');
  assert.equal(c.size, 7);
  await assert.rejects(
    c.append(s.localSgx('x', 'e3'), { at: s.now }),
    refusal(
      'ERR_CHAIN_LINK_REFUSED',
      'link-structure',
      /^link-structure: parent e3 is retired: it admits no more children$/,
    ),
  );
  await assert.rejects(
    c.append(
      s.links.find((l) => l.child === 'e3')!,
      { at: s.now },
    ),
    refusal('ERR_CHAIN_DUPLICATE'),
  );
  await c.append(s.localSgx('e4', 'e2'), { at: s.now });
  assert.deepEqual(c.linkCounts, { local: 2, remote: 2 });
  c.finishStream();
  const v = await verifyBundleV2(parts, s.opts());
  assert.equal(v.valid, true);
  assert.equal(v.size, 8);
  assert.deepEqual(v.links, { local: 2, remote: 2 });
  assert.throws(
    () => chainOf(s).finishStream(),
    refusal('ERR_CHAIN_STREAMING', undefined, /^this chain does not stream its links$/),
  );
});

test('a remote link places its platform and QE elements, with the cloud and what the quote told; the remote verifier is asked with reuse', async () => {
  const s = new SynthChain();
  const c = chainOf(s);
  const seen: Array<{ reuse?: boolean } | undefined> = [];
  const remote = s.remote.verify.bind(s.remote);
  s.remote.verify = (q, coll, at, o) => (seen.push(o), remote(q, coll, at, o));
  await c.append(
    s.remoteSgx('e1', null, 'a1', {
      fmspc: '00aabbcc0000',
      tcbStatus: 'UpToDate',
      advisoryIds: ['INTEL-SA-1'],
    }),
    {
      at: s.now,
      collateral: COLLATERAL,
      cloud: 'c1',
    },
  );
  assert.deepEqual(seen, [{ reuse: true }]);
  assert.deepEqual(c.element('platform:a1'), {
    id: 'platform:a1',
    kind: 'platform',
    parent: null,
    platform: 'a1',
    cloud: 'c1',
    fmspc: '00aabbcc0000',
    tcbStatus: 'UpToDate',
    advisoryIds: ['INTEL-SA-1'],
  });
  assert.deepEqual(c.element('qe:a1'), { id: 'qe:a1', kind: 'qe', parent: 'platform:a1', platform: 'a1', cloud: 'c1' });
  assert.equal(c.element('e1')?.cloud, 'c1');
});

test('re-attesting a local link stores no collateral offered with it', async () => {
  const { s, c } = await sgx();
  const old = c.link('e2')!;
  if (old.evidence.kind !== 'sgx-report') throw new Error('a local link');
  const rep = parseReport(Uint8Array.from(Buffer.from(old.evidence.report, 'hex')));
  const nonce = sha256(new TextEncoder().encode('re/e2/local'));
  const body = { ...rep.body, reportData: elementReportData(s.header.id, Buffer.from(old.childKey, 'hex'), nonce) };
  const fresh = s.sign({
    ...old,
    nonce: hex(nonce),
    evidence: { kind: 'sgx-report', report: hex(serializeReport(body, rep.keyId, rep.mac)) },
    signature: '',
  });
  await c.reattest(fresh, { at: s.now, collateral: COLL2 });
  assert.deepEqual(c.link('e2'), fresh);
  assert.equal(c.heldCollateral(COLL2_ID), undefined);
  assert.equal((await c.verify(s.now)).valid, true);
});

test("an enclave's element id is e- and the first 12 bytes of SHA-256(element key), hex (docs/chain.md)", () => {
  for (const key of [new Uint8Array(65).fill(4), Uint8Array.from({ length: 65 }, (_, i) => i)]) {
    const expected = 'e-' + createHash('sha256').update(key).digest().subarray(0, 12).toString('hex');
    assert.equal(enclaveElementId(key), expected);
  }
});
