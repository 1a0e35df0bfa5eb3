import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Chain } from '../../../src/chain/chain.ts';
import type { CollateralBlob } from '../../../src/chain/types.ts';
import { CotBuilder } from '../../../src/cot/builder.ts';
import {
  createDcapRemoteVerifier,
  dcapRemoteVerifier,
  verifiedQuotesOf,
} from '../../../src/cot/dcap-remote-verifier.ts';
import { buildElementImage } from '../../../src/cot/element.ts';
import { EmulatedWorld } from '../../../src/cot/world.ts';
import { generateP256 } from '../../../src/crypto/ecdsa.ts';
import { generateVendorKey } from '../../../src/crypto/rsa3072.ts';

// Chain.append may answer a remote link's quote from the verifier's memo of accepted verifications
// of exactly the same quote bytes, collateral and instant; anything else is verified in full.

let world: EmulatedWorld;
let other: EmulatedWorld;
let quote: Uint8Array;
let collateral: CollateralBlob;
const image = buildElementImage(generateVendorKey());

before(async () => {
  world = await EmulatedWorld.create({ clouds: 2 });
  other = await EmulatedWorld.create({ clouds: 1 });
  collateral = await world.collateralFor();
  await other.collateralFor();
  const h = await world.loadElement(1, image);
  quote = await world.quote(h, await h.evidence(world.qeTargetInfo(h), 'chain', '00'.repeat(32)));
});
after(async () => {
  await world.close();
  await other.close();
});

test('the same quote, collateral and instant is answered from the memo, only when the call asks for reuse', async () => {
  const at = new Date();
  const memo = verifiedQuotesOf(world.root);
  const first = await dcapRemoteVerifier(world.root).verify(quote, collateral, at);
  assert.equal(first.ok, true);
  const reader = createDcapRemoteVerifier(world.root, { reuse: memo });
  const hits = memo.hits;
  const again = await reader.verify(quote, collateral, at, { reuse: true });
  assert.equal(memo.hits, hits + 1);
  assert.deepEqual({ ...again, report: undefined }, { ...first, report: undefined });
  assert.deepEqual(again.ok && again.tee !== 'tdx' && again.report, first.ok && first.tee !== 'tdx' && first.report);
  // Fresh objects: altering what one caller got cannot change what the next one gets.
  if (again.ok) {
    again.advisoryIds.push('INTEL-SA-FAKE');
    again.qe.isvSvn = 9999;
  }
  const third = await reader.verify(quote, collateral, at, { reuse: true });
  // A hit is taken out of the memo (one admission, one append): asked again, verified in full, same result.
  assert.equal(memo.hits, hits + 1);
  assert.deepEqual(third.ok && third.advisoryIds, first.ok && first.advisoryIds);
  assert.deepEqual(third.ok && third.qe, first.ok && first.qe);
  // No reuse asked (bundle verification): verified in full.
  const h2 = memo.hits;
  assert.equal((await reader.verify(quote, collateral, at)).ok, true);
  assert.equal(memo.hits, h2);
});

test('another instant, other bytes, other collateral or collateral altered in place: verified in full', async () => {
  const at = new Date();
  const memo = verifiedQuotesOf(world.root);
  assert.equal((await dcapRemoteVerifier(world.root).verify(quote, collateral, at)).ok, true);
  const reader = createDcapRemoteVerifier(world.root, { reuse: memo });
  const hits = memo.hits;

  // Another instant: one millisecond later verifies (no hit); long after the collateral expired, refused.
  assert.equal((await reader.verify(quote, collateral, new Date(at.getTime() + 1), { reuse: true })).ok, true);
  const late = await reader.verify(quote, collateral, new Date(at.getTime() + 400 * 86_400_000), { reuse: true });
  assert.equal(late.ok, false);

  // Other bytes: the quote signature altered.
  const bad = quote.slice();
  bad[440] ^= 1;
  const r = await reader.verify(bad, collateral, at, { reuse: true });
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.check, /quote\.signature/);

  // An equal copy of the collateral (another object): verified, accepted.
  assert.equal((await reader.verify(quote, { ...collateral }, at, { reuse: true })).ok, true);

  // The same collateral object altered in place: not the remembered input.
  const mutable = { ...collateral };
  assert.equal((await dcapRemoteVerifier(world.root).verify(quote, mutable, at)).ok, true);
  assert.equal((await reader.verify(quote, mutable, at)).ok, true, 'parsed by the reader before the change');
  const key =
    Object.keys(mutable).find((k) => /tcb_info$|tcbInfo$/i.test(k) && !/sig|issuer/i.test(k)) ??
    Object.keys(mutable)[0];
  mutable[key] =
    mutable[key].replace(/"tcbEvaluationDataNumber":\s*\d+/, '"tcbEvaluationDataNumber":999') +
    (/"tcbEvaluationDataNumber"/.test(mutable[key]) ? '' : ' ');
  const altered = await reader.verify(quote, mutable, at, { reuse: true });
  assert.equal(altered.ok, false, `altered ${key} must be verified (and refused)`);
  assert.equal(memo.hits, hits, 'none of these was answered from the memo');
});

test('a memo of another root is refused; a quote of another world is refused by this root', async () => {
  assert.throws(() => createDcapRemoteVerifier(world.root, { reuse: verifiedQuotesOf(other.root) }), /another root/);
  const at = new Date();
  const h = await other.loadElement(0, image);
  const q = await other.quote(h, await h.evidence(other.qeTargetInfo(h), 'chain', '00'.repeat(32)));
  const oc = await other.collateralFor();
  assert.equal((await dcapRemoteVerifier(other.root).verify(q, oc, at)).ok, true);
  const r = await createDcapRemoteVerifier(world.root, { reuse: verifiedQuotesOf(world.root) }).verify(q, oc, at, {
    reuse: true,
  });
  assert.equal(r.ok, false);
});

test('a chain built with reuse verifies its remote links once at append, and its bundle verifies in full', async () => {
  const memo = verifiedQuotesOf(world.root);
  const remote = createDcapRemoteVerifier(world.root, { reuse: memo });
  const chain = Chain.create({
    name: 'reuse',
    root: world.root,
    emulatedRoot: true,
    policy: {},
    owner: generateP256(),
    remote,
    now: new Date(),
  });
  const b = new CotBuilder(chain, world, world.root);
  const first = await b.appendFirst(await world.loadElement(0, image));
  const hits = memo.hits;
  const e2 = await b.appendRemote(first.id, await world.loadElement(1, image));
  await b.appendRemote(e2.id, await world.loadElement(0, image));
  await b.appendLocal(e2.id, await world.loadElement(1, image));
  assert.equal(memo.hits, hits + 2, 'each remote append found its parent’s verification');
  const offline = createDcapRemoteVerifier(world.root, { reuse: memo });
  const before = memo.hits;
  const v = await chain.verify(new Date());
  assert.equal(v.valid, true);
  const { verifyBundle } = await import('../../../src/chain/verify-bundle.ts');
  const v2 = await verifyBundle(chain.toBundle(), { root: world.root, at: new Date(), remote: offline });
  assert.equal(v2.valid, true);
  assert.equal(memo.hits, before, 'verification of a bundle never reads the memo');
});
