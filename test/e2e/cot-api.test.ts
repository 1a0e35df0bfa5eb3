/**
 * The CoT API end to end over one emulated multi-cloud world: real enclaves, real REPORTs, real DCAP
 * quotes from the emulated QE, checked by the chain and then, offline, by a fresh verifier given only
 * the root certificate and a time. Every refusal the issue lists is provoked with real evidence and
 * must be named by the first failure (link and check).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hex } from '../../src/bytes/util.ts';
import { generateP256, p256PublicRaw, p256Sign } from '../../src/crypto/ecdsa.ts';
import { parseReport } from '../../src/formats/report.ts';
import { Chain, enclaveElementId } from '../../src/chain/chain.ts';
import { linkSigningBytes, headerSigningBytes, revocationSigningBytes } from '../../src/chain/signing.ts';
import { verifyBundle } from '../../src/chain/verify-bundle.ts';
import type {
  ChainPolicy,
  ChainVerification,
  CollateralBlob,
  Link,
  ProofBundle,
  RemoteEvidenceVerifier,
} from '../../src/chain/index.ts';
import { ChainError } from '../../src/chain/errors.ts';
import {
  CotBuilder,
  createDcapRemoteVerifier,
  dcapRemoteVerifier,
  EmulatedWorld,
  type ElementHandle,
} from '../../src/cot/index.ts';
import { identityOfBody } from '../../src/cot/element-core.ts';
import { generateVendorKey } from '../../src/crypto/rsa3072.ts';
import { Manufacturer } from '../../src/sgx/manufacturer/manufacturer.ts';

const run = promisify(execFile);

let world: EmulatedWorld;
let lowTcbWorld: EmulatedWorld;
const vendor = generateVendorKey();
const foreignVendor = generateVendorKey();
const owner = generateP256();
/** Real time plus a skew the tests move forward to age evidence. */
let skewMs = 0;
const clock = () => new Date(Date.now() + skewMs);

let policy: ChainPolicy;
let chain: Chain;
let builder: CotBuilder;
/** E1 (p0, first, remote) ─local▶ E2 (p0) ─remote▶ E3 (p1, other cloud) ─local▶ E4 (p1);  E1 ─local▶ E5 (p0). */
const ids: Record<'e1' | 'e2' | 'e3' | 'e4' | 'e5', string> = { e1: '', e2: '', e3: '', e4: '', e5: '' };
const handles: Record<string, ElementHandle> = {};
let bundleText: string;
let builtAt: Date;
/** The third party's verifier: a new instance trusting only the root, sharing nothing with the chain's. */
let offline: RemoteEvidenceVerifier;

before(async () => {
  world = await EmulatedWorld.create({ clouds: 2, platformsPerCloud: 1 });
  lowTcbWorld = await EmulatedWorld.create({ clouds: 1, platformsPerCloud: 1, tcbLevel: 1 });
  await world.collateralFor();
  await lowTcbWorld.collateralFor();
  const image = world.elementImage(vendor);
  policy = {
    identities: [{ mrSigner: hex(image.mrSigner), isvProdId: 1, minIsvSvn: 1 }],
    evidenceMaxAgeSeconds: 3600,
    // The element at depth 3 must be re-attested every 10 minutes (exercises per-depth policy and re-attestation).
    byDepth: { '3': { evidenceMaxAgeSeconds: 600 } },
  };
  chain = Chain.create({
    name: 'cot-api e2e',
    root: world.root,
    emulatedRoot: true,
    policy,
    owner,
    remote: dcapRemoteVerifier(world.root),
    now: clock(),
  });
  builder = new CotBuilder(chain, world, world.root, clock);
  const load = async (name: keyof typeof ids, platform: number) =>
    (handles[name] = await world.loadElement(platform, image));
  ids.e1 = (await builder.appendFirst(await load('e1', 0))).id;
  ids.e2 = (await builder.appendLocal(ids.e1, await load('e2', 0))).id;
  ids.e3 = (await builder.appendRemote(ids.e2, await load('e3', 1))).id;
  ids.e4 = (await builder.appendLocal(ids.e3, await load('e4', 1))).id;
  ids.e5 = (await builder.appendLocal(ids.e1, await load('e5', 0))).id;
  for (const [k, v] of Object.entries(ids)) handles[v] = handles[k]!;
  builtAt = clock();
  bundleText = JSON.stringify(chain.toBundle());
  offline = createDcapRemoteVerifier(new Uint8Array(world.root));
});

after(async () => {
  await world?.close();
  await lowTcbWorld?.close();
});

// ---------------------------------------------------------------- helpers

const fresh = (): ProofBundle => JSON.parse(bundleText) as ProofBundle;
const soon = () => new Date(builtAt.getTime() + 60_000);
const verifyOffline = (b: unknown, at = soon(), root: Uint8Array = world.root) =>
  verifyBundle(b, { root, at, remote: offline });
const linkOf = (b: ProofBundle, id: string) => b.links.find((l) => l.child === id)!;
const elementOf = (b: ProofBundle, id: string) => b.elements.find((e) => e.id === id)!;

function flipHex(h: string, byte: number): string {
  const v = (parseInt(h.slice(byte * 2, byte * 2 + 2), 16) ^ 0x01).toString(16).padStart(2, '0');
  return h.slice(0, byte * 2) + v + h.slice(byte * 2 + 2);
}

/** Byte positions spread over [0, len): every `step`-th plus the last. */
function positions(len: number, count: number): number[] {
  const step = Math.max(1, Math.floor(len / count));
  const out: number[] = [];
  for (let i = 0; i < len; i += step) out.push(i);
  if (out[out.length - 1] !== len - 1) out.push(len - 1);
  return out;
}

/** The first failure is `check` on `link`; every listed descendant is invalid through its ancestor. */
function assertFirstFailure(
  v: ChainVerification,
  link: string,
  check: string | RegExp,
  descendants: string[] = [],
  ctx = '',
) {
  assert.equal(v.valid, false, `${ctx}: expected invalid`);
  const f = v.failures[0];
  assert.ok(f, `${ctx}: no failure reported`);
  assert.equal(f.link, link, `${ctx}: first failure on ${f.link} (${f.check}: ${f.message}), expected ${link}`);
  if (typeof check === 'string')
    assert.equal(f.check, check, `${ctx}: check ${f.check} (${f.message}), expected ${check}`);
  else assert.match(f.check, check, `${ctx}: check ${f.check} (${f.message})`);
  if (v.elements[link]) assert.equal(v.elements[link].valid, false);
  for (const d of descendants) {
    assert.equal(v.elements[d]?.valid, false, `${ctx}: descendant ${d} should be invalid`);
    assert.match(v.elements[d].cause!, /^ancestor /, `${ctx}: descendant ${d} cause`);
  }
}

async function refused(p: Promise<unknown>, check: string | RegExp): Promise<ChainError> {
  try {
    await p;
  } catch (e) {
    assert.ok(
      e instanceof ChainError,
      `expected a ChainError, got ${(e as Error).constructor.name}: ${(e as Error).message}`,
    );
    assert.equal(e.code, 'ERR_CHAIN_LINK_REFUSED', e.message);
    if (typeof check === 'string') assert.equal(e.check, check, e.message);
    else assert.match(e.check ?? '', check, e.message);
    return e;
  }
  assert.fail(`expected a refusal with check ${String(check)}, but it was accepted`);
}

/** Depth of an element in a bundle-shaped chain. */
function depthIn(c: Chain, id: string): number {
  let d = 0;
  for (let cur: string | null = id; cur !== null; d++) cur = c.element(cur)!.parent;
  return d;
}

/**
 * A local link driven by hand, so a test can choose the nonce or the platform the link names. The
 * PARENT ENCLAVE still checks the REPORT (MAC, binding, policy) and signs: only what it cannot know
 * is chosen by the test.
 */
async function handLocalLink(
  c: Chain,
  parentId: string,
  child: ElementHandle,
  o: { nonce?: string; childPlatform?: string } = {},
): Promise<Link> {
  const parent = handles[parentId];
  const nonce = o.nonce ?? c.newNonce();
  const report = await child.evidence(parent.targetInfo(), c.id, nonce);
  const draft: Omit<Link, 'signature'> = {
    version: 1,
    chain: c.id,
    parent: parentId,
    child: enclaveElementId(child.elementKey),
    type: 'local',
    nonce,
    childKey: hex(child.elementKey),
    childIdentity: identityOfBody(parseReport(report).body),
    childPlatform: o.childPlatform ?? child.platformPpid,
    evidence: { kind: 'sgx-report', report: hex(report) },
    appraisal: { verdict: 'accepted' },
    at: clock().toISOString(),
  };
  return { ...draft, signature: await parent.admitLocal(draft, report, c.header.policy, depthIn(c, parentId) + 1) };
}

/** A first link signed by the chain owner WITHOUT the owner's appraisal: lets the chain's own checks (and the offline verifier's) be the ones that refuse. */
async function ownerFirstLink(
  c: Chain,
  w: EmulatedWorld,
  child: ElementHandle,
): Promise<{ link: Link; collateral: CollateralBlob }> {
  const nonce = c.newNonce();
  const report = await child.evidence(w.qeTargetInfo(child), c.id, nonce);
  const quote = await w.quote(child, report);
  const collateral = w.collateral(child);
  const link = c.signAsOwner({
    version: 1,
    chain: c.id,
    parent: null,
    child: enclaveElementId(child.elementKey),
    type: 'remote',
    nonce,
    childKey: hex(child.elementKey),
    childIdentity: identityOfBody(parseReport(report).body),
    childPlatform: child.platformPpid,
    evidence: { kind: 'dcap-quote', quote: hex(quote), collateral: Chain.collateralId(collateral) },
    appraisal: { verdict: 'accepted' },
    at: clock().toISOString(),
  });
  return { link, collateral };
}

/** Puts a link (and its element, and its collateral) into a bundle, as a forger or a buggy exporter would. */
function insertLink(b: ProofBundle, link: Link, collateral?: CollateralBlob): void {
  b.elements.push({
    id: link.child,
    kind: 'enclave',
    parent: link.parent,
    platform: link.childPlatform,
    identity: link.childIdentity,
    elementKey: link.childKey,
  });
  b.links.push(link);
  if (collateral) b.collateral[Chain.collateralId(collateral)] = collateral;
}

/** An imported copy of the built chain (with the owner key) and a builder holding the enclaves. */
async function importedCopy(at = soon()): Promise<{ c: Chain; b: CotBuilder }> {
  const c = await Chain.fromBundle(fresh(), { root: world.root, remote: dcapRemoteVerifier(world.root), at, owner });
  const b = new CotBuilder(c, world, world.root, clock);
  for (const id of Object.values(ids)) b.attach(handles[id]);
  return { c, b };
}

// ---------------------------------------------------------------- building and offline verification

test('a chain across two clouds mixing local and remote links verifies offline with only the root and a time, after a JSON round trip', async () => {
  assert.deepEqual(chain.linkCounts, { local: 3, remote: 2 });
  assert.equal(chain.size, 5 + 2 + 2, 'five enclaves, two platforms and their QEs');
  const clouds = new Set(chain.allElements().map((e) => e.cloud));
  assert.deepEqual([...clouds].sort(), ['cloud-a', 'cloud-b']);
  assert.equal(chain.element(ids.e3)!.platform, world.platforms[1].ppid);
  assert.equal(chain.element(ids.e2)!.platform, world.platforms[0].ppid);

  const inMemory = await chain.verify(soon());
  assert.equal(inMemory.valid, true, JSON.stringify(inMemory.failures));

  // The third party gets text, a root certificate and a time — nothing else from this process.
  const parsed = JSON.parse(bundleText) as unknown;
  assert.equal(JSON.stringify(parsed), bundleText, 'the bundle survives JSON text unchanged');
  const v = await verifyBundle(parsed, {
    root: new Uint8Array(world.root),
    at: soon(),
    remote: createDcapRemoteVerifier(new Uint8Array(world.root)),
  });
  assert.equal(v.valid, true, JSON.stringify(v.failures));
  assert.equal(v.size, 9);
  assert.deepEqual(v.links, { local: 3, remote: 2 });
  assert.equal(v.emulatedRoot, true);
  for (const id of Object.values(ids)) assert.deepEqual(v.elements[id], { valid: true });
  // Collateral is stored once: both remote links share it by hash.
  const b = parsed as ProofBundle;
  assert.equal(Object.keys(b.collateral).length, 1);
  assert.equal(linkOf(b, ids.e1).evidence.kind, 'dcap-quote');
  assert.equal(
    (linkOf(b, ids.e1).evidence as { collateral: string }).collateral,
    (linkOf(b, ids.e3).evidence as { collateral: string }).collateral,
  );
});

test('offline in another process: catena chain verify accepts the bundle, and names the stale link later', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'catena-cot-'));
  try {
    await writeFile(join(dir, 'bundle.json'), bundleText);
    await writeFile(join(dir, 'root.der'), world.root);
    const cli = (at: Date) =>
      run(
        process.execPath,
        [
          'bin/catena.js',
          'chain',
          'verify',
          join(dir, 'bundle.json'),
          '--root',
          join(dir, 'root.der'),
          '--at',
          at.toISOString(),
          '--json',
        ],
        { timeout: 60_000 },
      ).then(
        (r) => ({ code: 0, out: JSON.parse(r.stdout) }),
        (e: { code: number; stdout: string }) => ({ code: e.code, out: JSON.parse(e.stdout) }),
      );
    const ok = await cli(soon());
    assert.equal(ok.code, 0);
    assert.equal(ok.out.valid, true);
    assert.deepEqual(ok.out.links, { local: 3, remote: 2 });
    const stale = await cli(new Date(builtAt.getTime() + 700_000));
    assert.equal(stale.code, 1);
    assert.equal(stale.out.failures[0].link, ids.e3);
    assert.equal(stale.out.failures[0].check, 'evidence-age');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------- offline refusals

test('any byte changed in a local REPORT: the link no longer carries its parent signature; its subtree falls with it', async () => {
  const report = (linkOf(fresh(), ids.e2).evidence as { report: string }).report;
  assert.equal(report.length, 432 * 2);
  for (const pos of positions(432, 16)) {
    const b = fresh();
    const ev = linkOf(b, ids.e2).evidence as { report: string };
    ev.report = flipHex(ev.report, pos);
    assertFirstFailure(await verifyOffline(b), ids.e2, 'link-signature', [ids.e3, ids.e4], `REPORT byte ${pos}`);
  }
});

test('any byte changed in a quote signed by a parent enclave: refused at that link', async () => {
  const quoteLen = (linkOf(fresh(), ids.e3).evidence as { quote: string }).quote.length / 2;
  for (const pos of positions(quoteLen, 12)) {
    const b = fresh();
    const ev = linkOf(b, ids.e3).evidence as { quote: string };
    ev.quote = flipHex(ev.quote, pos);
    const v = await verifyOffline(b);
    assertFirstFailure(v, ids.e3, 'link-signature', [ids.e4], `quote byte ${pos}`);
    assert.equal(v.elements[ids.e2].valid, true, 'the parent is not affected');
  }
});

test('any byte changed in a quote, even with the link re-signed by the owner: the DCAP check itself refuses it (sampled over the whole quote)', async () => {
  const b0 = fresh();
  const quote = (linkOf(b0, ids.e1).evidence as { quote: string }).quote;
  const len = quote.length / 2;
  // Spread over the whole quote (header, report body, signature, QE report, auth data, PCK chain) plus fixed landmarks.
  const sample = [
    ...new Set([...positions(len, 24), 0, 8, 48 + 64, 48 + 320, 432, 436 + 64, 436 + 128, 436 + 128 + 384, len - 100]),
  ].filter((p) => p < len);
  for (const pos of sample) {
    const b = fresh();
    const l = linkOf(b, ids.e1);
    (l.evidence as { quote: string }).quote = flipHex(quote, pos);
    const { signature: _, ...unsigned } = l;
    l.signature = hex(p256Sign(owner.privateKey, linkSigningBytes(unsigned)));
    assertFirstFailure(
      await verifyOffline(b),
      ids.e1,
      /^quote:/,
      [ids.e2, ids.e3, ids.e4, ids.e5],
      `quote byte ${pos}/${len}`,
    );
  }
});

test('any byte changed in a signature (link, header, revocation) or in the policy is refused and named', async () => {
  for (const id of [ids.e1, ids.e2, ids.e3, ids.e4]) {
    for (const pos of [0, 31, 32, 63]) {
      const b = fresh();
      linkOf(b, id).signature = flipHex(linkOf(b, id).signature, pos);
      assertFirstFailure(await verifyOffline(b), id, 'link-signature', [], `signature of ${id} byte ${pos}`);
    }
  }
  for (const pos of [0, 40, 63]) {
    const b = fresh();
    b.chain.signature = flipHex(b.chain.signature, pos);
    assertFirstFailure(await verifyOffline(b), '-', 'header-signature');
  }
  const policyEdits: Array<(p: ChainPolicy) => void> = [
    (p) => (p.allowDebug = true),
    (p) => (p.evidenceMaxAgeSeconds = 10 * 365 * 86400),
    (p) => (p.identities = []),
    (p) => (p.byDepth!['3'].evidenceMaxAgeSeconds = 601),
    (p) => (p.acceptedTcbStatuses = ['UpToDate', 'OutOfDate']),
  ];
  for (const edit of policyEdits) {
    const b = fresh();
    edit(b.chain.policy);
    assertFirstFailure(await verifyOffline(b), '-', 'header-signature', [], `policy edit ${edit.toString()}`);
  }
  // A revocation whose signature is altered is reported, and is not honoured.
  const { c } = await importedCopy();
  c.revoke(ids.e4, 'test', clock());
  const b = c.toBundle();
  b.revocations[0].signature = flipHex(b.revocations[0].signature, 10);
  const v = await verifyOffline(b);
  assert.equal(v.failures[0].check, 'revocation-signature');
  assert.equal(v.elements[ids.e4].valid, true, 'a forged revocation does not revoke');
});

test('a link signed by a key not bound to its parent evidence is refused', async () => {
  // A fresh key signs E4's link in place of E3's element key.
  const stranger = generateP256();
  const b = fresh();
  const l = linkOf(b, ids.e4);
  const { signature: _, ...unsigned } = l;
  l.signature = hex(p256Sign(stranger.privateKey, linkSigningBytes(unsigned)));
  assertFirstFailure(await verifyOffline(b), ids.e4, 'link-signature');

  // The forger swaps E2's key for his own everywhere and signs E3's link with it: E2's own link (signed by
  // E1's key over the real key) no longer verifies.
  const b2 = fresh();
  const forged = generateP256();
  const forgedKey = hex(p256PublicRaw(forged.publicKey));
  linkOf(b2, ids.e2).childKey = forgedKey;
  elementOf(b2, ids.e2).elementKey = forgedKey;
  const l3 = linkOf(b2, ids.e3);
  const { signature: _s3, ...u3 } = l3;
  l3.signature = hex(p256Sign(forged.privateKey, linkSigningBytes(u3)));
  assertFirstFailure(await verifyOffline(b2), ids.e2, 'link-signature', [ids.e3, ids.e4]);

  // With the owner's cooperation (the first link is the owner's to sign), the swapped key is still not
  // the one the enclave bound in its REPORTDATA.
  const b3 = fresh();
  linkOf(b3, ids.e1).childKey = forgedKey;
  elementOf(b3, ids.e1).elementKey = forgedKey;
  const l1 = linkOf(b3, ids.e1);
  const { signature: _s1, ...u1 } = l1;
  l1.signature = hex(p256Sign(owner.privateKey, linkSigningBytes(u1)));
  assertFirstFailure(await verifyOffline(b3), ids.e1, 'key-binding', [ids.e2, ids.e3, ids.e4, ids.e5]);
});

test('a reused nonce is refused at append (twice in a row) and offline', async () => {
  const { c } = await importedCopy();
  const child = await world.loadElement(0, world.elementImage(vendor));
  const reused = linkOf(fresh(), ids.e2).nonce;
  const link = await handLocalLink(c, ids.e1, child, { nonce: reused });
  const before = c.size;
  await refused(c.append(link, { at: clock() }), 'nonce-reuse');
  // A refusal must not free the nonce it collided with.
  await refused(c.append(link, { at: clock() }), 'nonce-reuse');
  assert.equal(c.size, before);
  const b = fresh();
  insertLink(b, link);
  assertFirstFailure(await verifyOffline(b), link.child, 'nonce-reuse');
  // The same child with a fresh nonce is accepted: the nonce was the only fault.
  await c.append(await handLocalLink(c, ids.e1, child), { at: clock() });
  assert.equal((await c.verify(soon())).valid, true);
});

test('local links across platforms: the parent cannot check the REPORT, and a link claiming another platform is refused', async () => {
  const { c, b: bld } = await importedCopy();
  const elsewhere = await world.loadElement(1, world.elementImage(vendor));
  // E1 is on platform 0: a REPORT made on platform 1 does not verify under E1's REPORT key.
  await refused(bld.appendLocal(ids.e1, elsewhere), 'report-mac');

  // A child on E1's platform whose link says it is on platform 1: E1 signs what it checked (the REPORT),
  // the chain and the offline verifier see a local link between two platforms.
  const here = await world.loadElement(0, world.elementImage(vendor));
  const link = await handLocalLink(c, ids.e1, here, { childPlatform: world.platforms[1].ppid });
  await refused(c.append(link, { at: clock() }), 'local-same-platform');
  const b = fresh();
  insertLink(b, link);
  assertFirstFailure(await verifyOffline(b), link.child, 'local-same-platform');
});

test('an element past its evidence max-age: the first stale link is named, its subtree invalid; the rest stays valid', async () => {
  // Depth 3 (E3) allows 600 s; the others 3600 s.
  const at = new Date(builtAt.getTime() + 700_000);
  const v = await verifyOffline(fresh(), at);
  assertFirstFailure(v, ids.e3, 'evidence-age', [ids.e4]);
  for (const id of [ids.e1, ids.e2, ids.e5]) assert.equal(v.elements[id].valid, true);
  assert.equal(v.failures.length, 1, 'descendants are reported through their cause, not as failures of their own');
  const late = await verifyOffline(fresh(), new Date(builtAt.getTime() + 3601_000 + 60_000));
  assertFirstFailure(late, ids.e1, 'evidence-age', [ids.e2, ids.e3, ids.e4, ids.e5]);
  // Evidence from the future (beyond the clock skew allowed) is not evidence either.
  assertFirstFailure(await verifyOffline(fresh(), new Date(builtAt.getTime() - 3600_000)), ids.e1, 'evidence-age');
});

test('a revoked element: refused with the cause; every descendant invalid through it; nothing can be appended below it', async () => {
  const { c, b: bld } = await importedCopy();
  c.revoke(ids.e2, 'compromised key', clock());
  for (const v of [await c.verify(soon()), await verifyOffline(c.toBundle())]) {
    assertFirstFailure(v, ids.e2, 'revoked', [ids.e3, ids.e4]);
    assert.match(v.elements[ids.e3].cause!, /compromised key/);
    assert.match(v.elements[ids.e4].cause!, /compromised key/);
    assert.equal(v.elements[ids.e1].valid, true);
    assert.equal(v.elements[ids.e5].valid, true);
  }
  await refused(bld.appendLocal(ids.e4, await world.loadElement(1, world.elementImage(vendor))), 'ancestor');
  // The revocation travels in the bundle: a JSON round trip keeps it.
  const again = await verifyOffline(JSON.parse(JSON.stringify(c.toBundle())));
  assertFirstFailure(again, ids.e2, 'revoked', [ids.e3, ids.e4]);
});

test('a revoked platform: every enclave running on it, and their subtrees, become invalid', async () => {
  const { c, b: bld } = await importedCopy();
  c.revoke(`platform:${world.platforms[1].ppid}`, 'platform decommissioned', clock());
  for (const v of [await c.verify(soon()), await verifyOffline(c.toBundle())]) {
    assertFirstFailure(v, ids.e3, 'revoked', [ids.e4]);
    assert.match(v.elements[ids.e3].cause!, /platform decommissioned/);
    for (const id of [ids.e1, ids.e2, ids.e5]) assert.equal(v.elements[id].valid, true);
  }
  await refused(bld.appendRemote(ids.e2, await world.loadElement(1, world.elementImage(vendor))), 'revoked');
});

test('an untrusted root: another root certificate is refused, and re-anchoring the header does not make the quotes chain to it', async () => {
  const other = await Manufacturer.create();
  assertFirstFailure(await verifyOffline(fresh(), soon(), other.root), '-', 'root-anchor');
  // The owner re-signs the header anchored at the other root: the PCK chains inside the quotes still end at the real one.
  const b = fresh();
  const { createHash } = await import('node:crypto');
  b.chain.rootSha256 = createHash('sha256').update(other.root).digest('hex');
  const { signature: _, ...unsigned } = b.chain;
  b.chain.signature = hex(p256Sign(owner.privateKey, headerSigningBytes(unsigned)));
  const v = await verifyBundle(b, { root: other.root, at: soon(), remote: createDcapRemoteVerifier(other.root) });
  assertFirstFailure(v, ids.e1, /^quote:/, [ids.e2, ids.e3, ids.e4, ids.e5]);
});

test('a DEBUG enclave is refused by the default policy: by the parent enclave, by the chain, and offline', async () => {
  const debugImage = world.elementImage(vendor, 1, 1, true);
  const dbg = await world.loadElement(0, debugImage);
  const { b: bld } = await importedCopy();
  await refused(bld.appendLocal(ids.e1, dbg), 'policy-debug');
  // As first enclave of a fresh chain with the default policy: the owner signs, the chain refuses.
  const c = Chain.create({
    name: 'debug',
    root: world.root,
    emulatedRoot: true,
    policy: {},
    owner,
    remote: dcapRemoteVerifier(world.root),
    now: clock(),
  });
  const { link, collateral } = await ownerFirstLink(c, world, dbg);
  await refused(c.append(link, { at: clock(), collateral }), 'policy-debug');
  const b = c.toBundle();
  insertLink(b, link, collateral);
  assertFirstFailure(await verifyOffline(b), link.child, 'policy-debug');
  // The same enclave is admitted when the policy says DEBUG is allowed (the refusal was the policy's).
  const open = Chain.create({
    name: 'debug-ok',
    root: world.root,
    emulatedRoot: true,
    policy: { allowDebug: true },
    owner,
    remote: dcapRemoteVerifier(world.root),
    now: clock(),
  });
  const el = await new CotBuilder(open, world, world.root, clock).appendFirst(dbg);
  assert.equal((el.identity as { debug: boolean }).debug, true);
  assert.equal((await verifyOffline(open.toBundle())).valid, true);
});

test('an identity outside the policy is refused by the parent, by the chain, and offline', async () => {
  const foreign = await world.loadElement(0, world.elementImage(foreignVendor));
  const { b: bld } = await importedCopy();
  await refused(bld.appendLocal(ids.e1, foreign), 'policy-identity');
  const older = await world.loadElement(0, world.elementImage(vendor, 1, 0));
  await refused(bld.appendLocal(ids.e1, older), 'policy-identity'); // ISVSVN 0 < minimum 1
  const c = Chain.create({
    name: 'identity',
    root: world.root,
    emulatedRoot: true,
    policy,
    owner,
    remote: dcapRemoteVerifier(world.root),
    now: clock(),
  });
  const { link, collateral } = await ownerFirstLink(c, world, foreign);
  await refused(c.append(link, { at: clock(), collateral }), 'policy-identity');
  const b = c.toBundle();
  insertLink(b, link, collateral);
  assertFirstFailure(await verifyOffline(b), link.child, 'policy-identity');
});

test('a TCB status the policy does not accept (platform at a lower TCB level: SWHardeningNeeded)', async () => {
  const img = lowTcbWorld.elementImage(vendor);
  const h = await lowTcbWorld.loadElement(0, img);
  const strict = Chain.create({
    name: 'tcb',
    root: lowTcbWorld.root,
    emulatedRoot: true,
    policy: {},
    owner,
    remote: dcapRemoteVerifier(lowTcbWorld.root),
    now: clock(),
  });
  const e = await refused(
    new CotBuilder(strict, lowTcbWorld, lowTcbWorld.root, clock).appendFirst(h),
    'policy-tcb-status',
  );
  assert.match(e.message, /SWHardeningNeeded/);
  const { link, collateral } = await ownerFirstLink(strict, lowTcbWorld, h);
  const b = strict.toBundle();
  insertLink(b, link, collateral);
  const v = await verifyBundle(b, {
    root: lowTcbWorld.root,
    at: soon(),
    remote: createDcapRemoteVerifier(lowTcbWorld.root),
  });
  assertFirstFailure(v, link.child, 'policy-tcb-status');

  const lenient = Chain.create({
    name: 'tcb-ok',
    root: lowTcbWorld.root,
    emulatedRoot: true,
    policy: { acceptedTcbStatuses: ['UpToDate', 'SWHardeningNeeded'] },
    owner,
    remote: dcapRemoteVerifier(lowTcbWorld.root),
    now: clock(),
  });
  const el = await new CotBuilder(lenient, lowTcbWorld, lowTcbWorld.root, clock).appendFirst(h);
  assert.equal(lenient.link(el.id)!.appraisal.tcbStatus, 'SWHardeningNeeded');
  assert.equal(lenient.element(`platform:${lowTcbWorld.platforms[0].ppid}`)!.tcbStatus, 'SWHardeningNeeded');
  assert.equal((await lenient.verify(soon())).valid, true);
});

// ---------------------------------------------------------------- operations

test('re-attestation: fresh evidence replaces stale; the element past max-age is valid again, its children untouched', async () => {
  const { c, b: bld } = await importedCopy();
  const later = new Date(builtAt.getTime() + 700_000);
  assertFirstFailure(await c.verify(later), ids.e3, 'evidence-age', [ids.e4]);
  const oldLink = c.link(ids.e3)!;
  const oldE4 = c.link(ids.e4)!;
  skewMs = 700_000;
  try {
    const fresher = await bld.reattest(ids.e3);
    assert.notEqual(fresher.nonce, oldLink.nonce);
    assert.notEqual(fresher.evidence, oldLink.evidence);
    assert.equal(fresher.childKey, oldLink.childKey);
    const v = await c.verify(later);
    assert.equal(v.valid, true, JSON.stringify(v.failures));
    assert.deepEqual(c.link(ids.e4), oldE4, 'the child link is not re-signed');
    // Offline, by a third party, from text.
    assert.equal((await verifyOffline(JSON.parse(JSON.stringify(c.toBundle())), later)).valid, true);
    // The first enclave is re-attested by the owner.
    const f1 = await bld.reattest(ids.e1);
    assert.equal(f1.parent, null);
    assert.equal((await c.verify(later)).valid, true);
  } finally {
    skewMs = 0;
  }
  // A re-attestation that changes the element key is not a re-attestation.
  const other = await world.loadElement(1, world.elementImage(vendor));
  const imposter = await handLocalLink(c, ids.e3, other);
  await refused(c.reattest({ ...imposter, child: ids.e4 }, { at: clock() }), 'link-structure');
});

test('remove a leaf; a non-leaf cannot be removed', async () => {
  const { c } = await importedCopy();
  assert.throws(
    () => c.removeLeaf(ids.e2),
    (e: ChainError) => e.code === 'ERR_CHAIN_NOT_LEAF',
  );
  assert.throws(
    () => c.removeLeaf(ids.e1),
    (e: ChainError) => e.code === 'ERR_CHAIN_NOT_LEAF',
  );
  const size = c.size;
  c.removeLeaf(ids.e5);
  assert.equal(c.size, size - 1);
  assert.equal(c.element(ids.e5), undefined);
  const v = await verifyOffline(c.toBundle());
  assert.equal(v.valid, true, JSON.stringify(v.failures));
  assert.equal(v.links.local, 2);
  c.removeLeaf(ids.e4);
  assert.equal((await verifyOffline(c.toBundle())).valid, true);
  assert.throws(
    () => c.removeLeaf(ids.e4),
    (e: ChainError) => e.code === 'ERR_CHAIN_UNKNOWN_ELEMENT',
  );
  // The last enclave on platform 1 goes: so do that platform and its QE.
  c.removeLeaf(ids.e3);
  const p1 = world.platforms[1].ppid;
  assert.equal(c.element(`platform:${p1}`), undefined);
  assert.equal(c.element(`qe:${p1}`), undefined);
  const after3 = await verifyOffline(c.toBundle());
  assert.equal(after3.valid, true, JSON.stringify(after3.failures));
  assert.equal(after3.size, 2 + 2, 'E1, E2, platform 0 and its QE');
  // A platform element no enclave runs on is refused offline.
  const orphan = c.toBundle();
  orphan.elements.push({ id: `platform:${p1}`, kind: 'platform', parent: null, platform: p1 });
  assertFirstFailure(await verifyOffline(orphan), `platform:${p1}`, 'link-structure');
});

test('import a bundle and keep appending (local and remote); a bundle that does not verify is not imported', async () => {
  const { c, b: bld } = await importedCopy();
  const image = world.elementImage(vendor);
  const e6 = await bld.appendLocal(ids.e4, await world.loadElement(1, image));
  const e7 = await bld.appendRemote(e6.id, await world.loadElement(0, image));
  assert.equal(e7.platform, world.platforms[0].ppid);
  const v = await verifyOffline(JSON.parse(JSON.stringify(c.toBundle())));
  assert.equal(v.valid, true, JSON.stringify(v.failures));
  assert.deepEqual(v.links, { local: 4, remote: 3 });
  // Import refuses a tampered bundle and says which check failed.
  const bad = fresh();
  linkOf(bad, ids.e4).signature = flipHex(linkOf(bad, ids.e4).signature, 3);
  await assert.rejects(
    Chain.fromBundle(bad, { root: world.root, remote: dcapRemoteVerifier(world.root), at: soon() }),
    (e: ChainError) => e.code === 'ERR_CHAIN_BUNDLE' && e.check === 'link-signature',
  );
  // Without the owner key an imported chain cannot revoke or admit a first enclave.
  const readOnly = await Chain.fromBundle(fresh(), {
    root: world.root,
    remote: dcapRemoteVerifier(world.root),
    at: soon(),
  });
  assert.throws(
    () => readOnly.revoke(ids.e2, 'x', clock()),
    (e: ChainError) => e.code === 'ERR_CHAIN_NO_OWNER_KEY',
  );
});

test('refusals at append time leave the chain unchanged, and are the checks the offline verifier uses', async () => {
  const { c, b: bld } = await importedCopy();
  const before = JSON.stringify(c.toBundle());
  const child = await world.loadElement(0, world.elementImage(vendor));
  const good = await handLocalLink(c, ids.e5, child);
  // A link whose signature is not the parent's.
  const stranger = generateP256();
  const { signature: _, ...unsigned } = good;
  await refused(
    c.append({ ...good, signature: hex(p256Sign(stranger.privateKey, linkSigningBytes(unsigned))) }, { at: clock() }),
    'link-signature',
  );
  // An altered REPORT under the parent's genuine signature.
  await refused(
    c.append(
      { ...good, evidence: { kind: 'sgx-report', report: flipHex((good.evidence as { report: string }).report, 330) } },
      { at: clock() },
    ),
    'link-signature',
  );
  // A second first enclave.
  await refused(bld.appendFirst(child), 'link-structure');
  assert.equal(JSON.stringify(c.toBundle()), before, 'refused appends leave no trace');
  // The untouched link is then accepted.
  await c.append(good, { at: clock() });
  assert.equal((await c.verify(soon())).valid, true);
  // A revocation signed by the owner over another chain id is refused offline.
  const b = c.toBundle();
  const r = { element: ids.e5, reason: 'x', at: clock().toISOString() };
  b.revocations.push({ ...r, signature: hex(p256Sign(owner.privateKey, revocationSigningBytes('another-chain', r))) });
  const v = await verifyOffline(b);
  assert.equal(v.failures[0].check, 'revocation-signature');
});

test('isolated runtime (a worker per enclave): the same chain operations, and a parent refusal keeps its check across the boundary', async () => {
  const iso = await EmulatedWorld.create({ clouds: 1, platformsPerCloud: 1, runtime: 'isolated' });
  try {
    await iso.collateralFor();
    const img = iso.elementImage(vendor);
    const c = Chain.create({
      name: 'isolated',
      root: iso.root,
      emulatedRoot: true,
      policy: {},
      owner,
      remote: dcapRemoteVerifier(iso.root),
      now: clock(),
    });
    const bld = new CotBuilder(c, iso, iso.root, clock);
    const h1 = await iso.loadElement(0, img);
    const h2 = await iso.loadElement(0, img);
    const dbg = await iso.loadElement(0, iso.elementImage(vendor, 1, 1, true));
    try {
      const e1 = await bld.appendFirst(h1);
      const e2 = await bld.appendLocal(e1.id, h2);
      await refused(bld.appendLocal(e1.id, dbg), 'policy-debug');
      await bld.reattest(e2.id);
      const v = await verifyBundle(JSON.parse(JSON.stringify(c.toBundle())), {
        root: iso.root,
        at: soon(),
        remote: createDcapRemoteVerifier(iso.root),
      });
      assert.equal(v.valid, true, JSON.stringify(v.failures));
      assert.deepEqual(v.links, { local: 1, remote: 1 });
    } finally {
      for (const h of [h1, h2, dbg]) await h.destroy();
    }
  } finally {
    await iso.close();
  }
});
