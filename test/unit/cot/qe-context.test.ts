import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { collateralFromQvlJson } from '../../../src/attestation/collateral/from-qvl-json.ts';
import { DcapVerifier } from '../../../src/attestation/dcap/verify-quote.ts';
import type { CollateralBlob } from '../../../src/chain/types.ts';
import { createDcapRemoteVerifier, contextHitsOf } from '../../../src/cot/dcap-remote-verifier.ts';
import { buildElementImage } from '../../../src/cot/element.ts';
import { EmulatedWorld } from '../../../src/cot/world.ts';
import { generateVendorKey } from '../../../src/crypto/rsa3072.ts';

// The remote verifier answers a quote whose QE context (PCK chain, QE report and its signature, QE auth
// data, attestation key) is byte-identical to an accepted one, under the same unchanged collateral and
// inside that acceptance's validity, by checking only the quote's format, header and signature. These
// tests hold it to the full DCAP verifier: same verdict, same failing check, same result — on every
// byte of a quote, at instants in and around the window.

let world: EmulatedWorld;
let collateral: CollateralBlob;
const quotes: Uint8Array[] = []; // quotes[0], [1]: platform 0; quotes[2]: platform 1
const image = buildElementImage(generateVendorKey());
const POLICY = {
  acceptedTcbStatuses: [
    'UpToDate',
    'SWHardeningNeeded',
    'ConfigurationNeeded',
    'ConfigurationAndSWHardeningNeeded',
    'OutOfDate',
    'OutOfDateConfigurationNeeded',
  ],
  allowDebug: true,
};

before(async () => {
  world = await EmulatedWorld.create({ clouds: 2 });
  collateral = await world.collateralFor();
  for (const p of [0, 0, 1]) {
    const h = await world.loadElement(p, image);
    quotes.push(await world.quote(h, await h.evidence(world.qeTargetInfo(h), 'chain', '11'.repeat(32))));
  }
});
after(() => world.close());

/** The full verifier's word on a quote: the reference. */
const full = new DcapVerifier();
async function reference(quote: Uint8Array, at: Date): Promise<{ ok: boolean; check?: string }> {
  const a = await full.verify(quote, {
    collateral: collateralFromQvlJson(collateral),
    at,
    trustedRoots: [world.root],
    policy: POLICY,
  });
  return a.verdict === 'accepted' ? { ok: true } : { ok: false, check: a.error!.check };
}

test('an accepted appraisal carries the exact span of instants at which it holds', async () => {
  const at = new Date();
  const a = await full.verify(quotes[0], {
    collateral: collateralFromQvlJson(collateral),
    at,
    trustedRoots: [world.root],
    policy: POLICY,
  });
  assert.equal(a.verdict, 'accepted');
  const from = new Date(a.validity!.from);
  const until = new Date(a.validity!.until);
  assert.ok(from <= at && at <= until);
  assert.equal((await reference(quotes[0], from)).ok, true);
  assert.equal((await reference(quotes[0], until)).ok, true);
  assert.equal((await reference(quotes[0], new Date(from.getTime() - 1))).ok, false);
  assert.equal((await reference(quotes[0], new Date(until.getTime() + 1))).ok, false);
  // Under a collateral-age policy the span ends when the oldest collateral becomes too old.
  const aged = await full.verify(quotes[0], {
    collateral: collateralFromQvlJson(collateral),
    at,
    trustedRoots: [world.root],
    policy: { ...POLICY, maxCollateralAgeSeconds: 7200 },
  });
  assert.equal(aged.verdict, 'accepted');
  const agedUntil = new Date(aged.validity!.until);
  assert.ok(agedUntil < until);
  const agedAt = (t: Date) =>
    full.verify(quotes[0], {
      collateral: collateralFromQvlJson(collateral),
      at: t,
      trustedRoots: [world.root],
      policy: { ...POLICY, maxCollateralAgeSeconds: 7200 },
    });
  assert.equal((await agedAt(agedUntil)).verdict, 'accepted');
  assert.equal((await agedAt(new Date(agedUntil.getTime() + 1000))).error?.check, 'policy.collateralAge');
  // A rejected appraisal has none.
  assert.equal(
    (
      await full.verify(quotes[0], {
        collateral: collateralFromQvlJson(collateral),
        at: new Date(until.getTime() + 1),
        trustedRoots: [world.root],
        policy: POLICY,
      })
    ).validity,
    undefined,
  );
});

test('a second quote from the same QE is answered through its context, with the full result', async () => {
  const v = createDcapRemoteVerifier(world.root);
  const at = new Date();
  const a = await v.verify(quotes[0], collateral, at);
  assert.equal(a.ok, true);
  assert.equal(contextHitsOf(v), 0);
  const b = await v.verify(quotes[1], collateral, new Date(at.getTime() + 5));
  assert.equal(contextHitsOf(v), 1);
  const cold = await createDcapRemoteVerifier(world.root).verify(quotes[1], collateral, new Date(at.getTime() + 5));
  assert.deepEqual(b, cold);
  // Another platform's QE: another context, verified in full first.
  await v.verify(quotes[2], collateral, at);
  assert.equal(contextHitsOf(v), 1);
});

test(
  'every byte of a quote altered: the context path agrees with the full verifier',
  { timeout: 300_000 },
  async () => {
    const v = createDcapRemoteVerifier(world.root);
    const at = new Date();
    assert.equal((await v.verify(quotes[0], collateral, at)).ok, true);
    const q = quotes[1];
    const disagreements: number[] = [];
    const accepted: number[] = [];
    for (let i = 0; i < q.length; i++) {
      const bad = q.slice();
      bad[i] ^= 1 << (i % 8);
      const mine = await v.verify(bad, collateral, at);
      const ref = await reference(bad, at);
      if (mine.ok !== ref.ok || (!mine.ok && mine.check !== ref.check)) disagreements.push(i);
      if (mine.ok) accepted.push(i);
    }
    assert.deepEqual(disagreements, []);
    // Both accept only flips inside the quote's own copy of the root certificate: the chain is anchored
    // at the pinned root certificate (trustedRoots), not at the copy (docs/verification.md).
    const lastCert = Buffer.from(q).lastIndexOf('-----BEGIN CERTIFICATE-----');
    assert.ok(lastCert > 0);
    assert.deepEqual(
      accepted.filter((i) => i < lastCert),
      [],
    );
    // Trailing and missing bytes.
    for (const bad of [Uint8Array.from([...q, 0]), q.subarray(0, q.length - 1)]) {
      assert.equal((await v.verify(bad, collateral, at)).ok, false);
    }
  },
);

test("property: at any instant, and with collateral altered in place, the verdict is the full verifier's", async () => {
  const v = createDcapRemoteVerifier(world.root);
  const now = Date.now();
  assert.equal((await v.verify(quotes[0], collateral, new Date(now))).ok, true);
  const year = 365 * 86_400_000;
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: -2 * year, max: 2 * year }), fc.constantFrom(0, 1, 2), async (dt, which) => {
      const at = new Date(now + dt);
      const mine = await v.verify(quotes[which], collateral, at);
      const ref = await reference(quotes[which], at);
      assert.equal(mine.ok, ref.ok, `at ${at.toISOString()}`);
      if (!mine.ok) assert.equal(mine.check, ref.check);
    }),
    { numRuns: 60 },
  );
  // The same blob object with a field replaced: its context no longer applies; the altered TCB info
  // signature is refused by the full verifier.
  const altered: CollateralBlob = { ...collateral };
  const hits = contextHitsOf(v);
  assert.equal((await v.verify(quotes[1], altered, new Date(now))).ok, true); // another object: full, then its own context
  altered.tcb_info_signature = '00'.repeat(64);
  const r = await v.verify(quotes[1], altered, new Date(now));
  assert.equal(r.ok, false);
  assert.equal(r.ok ? '' : r.check, 'collateral.tcbInfo');
  assert.equal(contextHitsOf(v), hits);
});
