/**
 * verifyBundle on untrusted input: it never throws, and any change to a signed or hashed part of a
 * real bundle (built over an emulated world) makes it invalid. Property-based over the whole bundle.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hex } from '../../../src/bytes/util.ts';
import { generateP256, p256Sign } from '../../../src/crypto/ecdsa.ts';
import { Chain } from '../../../src/chain/chain.ts';
import { headerSigningBytes } from '../../../src/chain/signing.ts';
import { verifyBundle } from '../../../src/chain/verify-bundle.ts';
import { alwaysFailRemoteVerifier, type ProofBundle } from '../../../src/chain/index.ts';
import { CotBuilder, createDcapRemoteVerifier, dcapRemoteVerifier, EmulatedWorld } from '../../../src/cot/index.ts';
import { generateVendorKey } from '../../../src/crypto/rsa3072.ts';

let world: EmulatedWorld;
let text: string;
let at: Date;
const owner = generateP256();

before(async () => {
  world = await EmulatedWorld.create({ clouds: 1, platformsPerCloud: 2 });
  await world.collateralFor();
  const image = world.elementImage(generateVendorKey());
  const chain = Chain.create({
    name: 'unit',
    root: world.root,
    emulatedRoot: true,
    policy: {},
    owner,
    remote: dcapRemoteVerifier(world.root),
    now: new Date(),
  });
  const b = new CotBuilder(chain, world, world.root);
  const e1 = await b.appendFirst(await world.loadElement(0, image));
  const e2 = await b.appendLocal(e1.id, await world.loadElement(0, image));
  await b.appendRemote(e2.id, await world.loadElement(1, image));
  chain.revoke((await b.appendLocal(e1.id, await world.loadElement(0, image))).id, 'test', new Date());
  at = new Date(Date.now() + 60_000);
  text = JSON.stringify(chain.toBundle());
});
after(() => world?.close());

const remote = () => createDcapRemoteVerifier(world.root);

type Path = (string | number)[];
function paths(v: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  if (prefix.length) out.push(prefix);
  if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) paths(x, [...prefix, Array.isArray(v) ? Number(k) : k], out);
  return out;
}
function at_(v: unknown, p: Path): unknown {
  return p.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], v);
}
function setAt(v: unknown, p: Path, x: unknown, remove: boolean): void {
  const parent = at_(v, p.slice(0, -1)) as Record<string | number, unknown>;
  const k = p[p.length - 1];
  if (remove) {
    if (Array.isArray(parent)) parent.splice(k as number, 1);
    else delete parent[k];
  } else parent[k] = x;
}

/** Informational fields no signature covers: the cloud names, and what a platform's last appraisal said. */
function informational(p: Path, b: ProofBundle): boolean {
  if (p[0] !== 'elements' || p.length < 3) return false;
  const el = b.elements[p[1] as number];
  if (p[2] === 'cloud') return true;
  // A platform's TCB status and advisories are those of its last appraisal: the verifier recomputes them from the quotes.
  return el.kind !== 'enclave' && (p[2] === 'tcbStatus' || p[2] === 'advisoryIds');
}

test('the untouched bundle verifies (the baseline the mutations below depart from)', async () => {
  const v = await verifyBundle(JSON.parse(text), { root: world.root, at, remote: remote() });
  assert.equal(v.valid, false, 'one element is revoked');
  assert.equal(v.failures.length, 1);
  assert.equal(v.failures[0].check, 'revoked');
  const revoked = v.failures[0].link;
  assert.equal(v.elements[revoked].valid, false, 'the revoked element is invalid');
  assert.ok(v.elements[revoked].cause);
  for (const [id, e] of Object.entries(v.elements)) if (id !== revoked) assert.deepEqual(e, { valid: true }, id);
  const { revocations: _, ...rest } = JSON.parse(text) as ProofBundle;
  const unrevoked = await verifyBundle({ ...rest, revocations: [] }, { root: world.root, at, remote: remote() });
  assert.equal(unrevoked.valid, true, JSON.stringify(unrevoked.failures));
  assert.deepEqual(unrevoked.links, { local: 2, remote: 2 });
});

test('arbitrary JSON is never a valid bundle and never makes the verifier throw', async () => {
  await fc.assert(
    fc.asyncProperty(fc.jsonValue(), async (j) => {
      const v = await verifyBundle(j, { root: world.root, at, remote: alwaysFailRemoteVerifier });
      assert.equal(v.valid, false);
      assert.equal(v.failures[0].check, 'bundle-format');
    }),
    { numRuns: 200 },
  );
});

test('any replaced or removed value in a real bundle: no throw; invalid unless the field is informational', async () => {
  const base = JSON.parse(text) as ProofBundle;
  const all = paths(base);
  const r = remote();
  await fc.assert(
    fc.asyncProperty(fc.nat(all.length - 1), fc.jsonValue({ maxDepth: 2 }), fc.boolean(), async (i, x, remove) => {
      const b = JSON.parse(text) as ProofBundle;
      const p = all[i];
      const before = JSON.stringify(at_(b, p));
      setAt(b, p, x, remove);
      const same = !remove && JSON.stringify(x) === before;
      let v;
      try {
        v = await verifyBundle(b, { root: world.root, at, remote: r });
      } catch (e) {
        assert.fail(
          `${p.join('.')} ${remove ? 'removed' : `→ ${JSON.stringify(x)}`}: verifyBundle threw ${(e as Error).message}`,
        );
      }
      // Removing the only revocation or a whole revoked element's entries legitimately changes the verdict;
      // everything else must leave the bundle at least as invalid as the baseline.
      if (same || informational(p, base) || p[0] === 'revocations') return;
      assert.equal(v.valid, false, `${p.join('.')} ${remove ? 'removed' : `→ ${JSON.stringify(x)}`} still valid`);
    }),
    { numRuns: 250, includeErrorInReport: true },
  );
});

/** A value of the same kind as `v` that differs from it: a flipped last character, a number + 1, a negation. */
function tweak(v: unknown): unknown {
  if (typeof v === 'string') return v.length ? v.slice(0, -1) + (v.endsWith('0') ? '1' : '0') : 'x';
  if (typeof v === 'number') return v + 1;
  if (typeof v === 'boolean') return !v;
  return Array.isArray(v) ? [] : {};
}

// Exhaustive where the property above samples: every value of a valid bundle, removed, set to null, or
// changed, makes it invalid and never throws — the
// verdict's every input is covered, whatever seed the property draws.
test('every value of a valid bundle, removed, nulled or changed: invalid with a failure named, no throw', async () => {
  const { revocations: _, ...rest } = JSON.parse(text) as ProofBundle;
  const valid = JSON.stringify({ ...rest, revocations: [] });
  const base = JSON.parse(valid) as ProofBundle;
  const r = remote();
  const still: string[] = [];
  for (const p of paths(base)) {
    if (informational(p, base) || p[0] === 'revocations') continue;
    const before = at_(base, p);
    for (const change of ['removed', 'null', 'changed'] as const) {
      const b = JSON.parse(valid) as ProofBundle;
      const x = change === 'null' ? null : tweak(before);
      if (change !== 'removed' && JSON.stringify(x) === JSON.stringify(before)) continue;
      // Platform and QE elements carry no signature: the verifier recomputes them from the quotes, so one
      // left out (or its optional FMSPC) loses information, not trust.
      const el = p[0] === 'elements' ? base.elements[p[1] as number] : undefined;
      if (change === 'removed' && el && el.kind !== 'enclave' && (p.length === 2 || p[2] === 'fmspc')) continue;
      setAt(b, p, x, change === 'removed');
      const v = await verifyBundle(b, { root: world.root, at, remote: r });
      if (v.valid || v.failures.length === 0) still.push(`${p.join('.')} ${change}`);
    }
  }
  assert.deepEqual(still, [], 'these changes left the bundle valid');
});

test('a header re-signed by its owner with any policy never makes the verifier throw', async () => {
  const r = remote();
  await fc.assert(
    fc.asyncProperty(
      fc.dictionary(
        fc.constantFrom(
          'identities',
          'acceptedTcbStatuses',
          'acceptedAdvisories',
          'allowDebug',
          'evidenceMaxAgeSeconds',
          'linkTypes',
          'maxDepth',
          'byDepth',
        ),
        fc.jsonValue({ maxDepth: 3 }),
      ),
      async (policy) => {
        const b = JSON.parse(text) as ProofBundle;
        b.chain.policy = policy;
        const { signature: _, ...unsigned } = b.chain;
        let signable = true;
        try {
          b.chain.signature = hex(p256Sign(owner.privateKey, headerSigningBytes(unsigned)));
        } catch {
          signable = false; // not canonical JSON (a non-integer number): the old signature stays, and must not verify
        }
        const v = await verifyBundle(b, { root: world.root, at, remote: r });
        assert.equal(typeof v.valid, 'boolean');
        if (!signable) {
          assert.equal(v.valid, false);
          assert.ok(['bundle-format', 'header-signature'].includes(v.failures[0].check), v.failures[0].check);
        }
      },
    ),
    { numRuns: 150 },
  );
});

test('a relying party that pins the owner refuses a chain signed by anyone else', async () => {
  const bundle = JSON.parse(text) as ProofBundle;
  const mine =
    hex(Buffer.from(owner.publicKey.export({ format: 'jwk' }).x!, 'base64url')) +
    hex(Buffer.from(owner.publicKey.export({ format: 'jwk' }).y!, 'base64url'));
  const pinned = await verifyBundle(bundle, { root: world.root, at, remote: remote(), expectOwner: mine });
  assert.notEqual(pinned.failures[0]?.check, 'owner', 'the right owner passes the pin');
  const other = hex(Buffer.from(generateP256().publicKey.export({ format: 'jwk' }).x!, 'base64url')).padEnd(128, '0');
  const refused = await verifyBundle(bundle, { root: world.root, at, remote: remote(), expectOwner: other });
  assert.equal(refused.valid, false);
  assert.equal(refused.failures[0]?.check, 'owner');
});
