/**
 * Proof bundle v2 (docs/chain.md): a real chain over an emulated world written as v2 verifies exactly as
 * its v1 bundle does, single-threaded and with the worker pool; a truncated, reordered or altered stream
 * is refused with the failing record's index and a stable ERR_BUNDLE_ code; a missing reference by name.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Chain } from '../../../src/chain/chain.ts';
import { BundleError, ChainError } from '../../../src/chain/errors.ts';
import { readBundleV2Sync } from '../../../src/chain/read-bundle-v2.ts';
import { verifyBundle } from '../../../src/chain/verify-bundle.ts';
import { verifyBundleV2 } from '../../../src/chain/verify-bundle-v2.ts';
import { BundleWriter } from '../../../src/chain/write-bundle-v2.ts';
import type { ChainVerification, Link } from '../../../src/chain/types.ts';
import { CotBuilder, createDcapRemoteVerifier, dcapRemoteVerifier, EmulatedWorld } from '../../../src/cot/index.ts';
import { LinkCryptoPool } from '../../../src/cot/link-crypto-pool.ts';
import { generateP256 } from '../../../src/crypto/ecdsa.ts';
import { generateVendorKey } from '../../../src/crypto/rsa3072.ts';
import { sha256Parts, sha256 } from '../../../src/crypto/sha256.ts';
import { decodeCbor, encodeCborHead } from '../../../src/formats/cbor.ts';
import { BUNDLE_V2_MAGIC } from '../../../src/chain/bundle-v2-records.ts';

let world: EmulatedWorld;
let chain: Chain;
let bytes: Uint8Array;
let revokedBytes: Uint8Array;
let pool: LinkCryptoPool;
const owner = generateP256();

function v2(c: Chain): Uint8Array {
  const parts: Uint8Array[] = [];
  c.writeBundle(new BundleWriter((b) => parts.push(b.slice())));
  return new Uint8Array(Buffer.concat(parts)); // a Uint8Array: its slice() copies (a Buffer's does not)
}

before(async () => {
  world = await EmulatedWorld.create({ clouds: 1, platformsPerCloud: 3 });
  await world.collateralFor();
  const image = world.elementImage(generateVendorKey());
  chain = Chain.create({
    name: 'v2',
    root: world.root,
    emulatedRoot: true,
    policy: { maxDepth: 12 },
    owner,
    remote: dcapRemoteVerifier(world.root),
    now: new Date(),
  });
  const b = new CotBuilder(chain, world, world.root);
  const ids = [(await b.appendFirst(await world.loadElement(0, image))).id];
  const plat = [0];
  // A random-ish tree over three platforms, half local, half remote.
  for (let i = 1; i < 40; i++) {
    const p = (i * 7) % ids.length;
    const local = i % 2 === 1;
    const pl = local ? plat[p] : (plat[p] + 1 + (i % 2)) % 3;
    const h = await world.loadElement(pl, image);
    ids.push((local ? await b.appendLocal(ids[p], h) : await b.appendRemote(ids[p], h)).id);
    plat.push(pl);
  }
  bytes = v2(chain);
  chain.revoke(ids[3], 'test', new Date());
  revokedBytes = v2(chain);
  pool = new LinkCryptoPool(world.root, 2);
});
after(async () => {
  await pool?.close();
  await world?.close();
});

const opts = (at = new Date()) => ({ root: world.root, at, remote: createDcapRemoteVerifier(world.root) });
/** Splits a v2 bundle into its frames (each: head ‖ chain hash ‖ record). */
function frames(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = BUNDLE_V2_MAGIC.length;
  while (pos < b.length) {
    const info = b[pos] & 0x1f;
    const extra = info < 24 ? 0 : info === 24 ? 1 : info === 25 ? 2 : 4;
    let len = extra ? 0 : info;
    for (let i = 0; i < extra; i++) len = len * 256 + b[pos + 1 + i];
    out.push(b.subarray(pos, pos + 1 + extra + len));
    pos += 1 + extra + len;
  }
  return out;
}
const join = (fs: Uint8Array[]) => new Uint8Array(Buffer.concat([BUNDLE_V2_MAGIC, ...fs]));
/** The record (CBOR) of a frame. */
function recordOf(f: Uint8Array): Uint8Array {
  const info = f[0] & 0x1f;
  const extra = info < 24 ? 0 : info === 24 ? 1 : info === 25 ? 2 : 4;
  return f.subarray(1 + extra + 32);
}
/** Frames from records, with chain hashes recomputed (a forger who knows the format). */
function rechain(records: Uint8Array[]): Uint8Array {
  let prev = sha256(BUNDLE_V2_MAGIC);
  const out: Uint8Array[] = [];
  for (const r of records) {
    prev = sha256Parts(prev, r);
    out.push(encodeCborHead(2, 32 + r.length), prev, r);
  }
  return join(out);
}
const kindOf = (f: Uint8Array) => (decodeCbor(recordOf(f), { simple: true }) as unknown[])[0];

function throwsAt(b: Uint8Array, code: string, record: number, message?: RegExp) {
  assert.throws(
    () => readBundleV2Sync(b),
    (e: unknown) => {
      assert.ok(e instanceof BundleError, String(e));
      assert.equal(e.code, code, e.message);
      assert.equal(e.record, record, e.message);
      if (message) assert.match(e.message, message);
      return true;
    },
  );
}

const strip = (v: ChainVerification) => ({
  ...v,
  failures: v.failures.map(({ record: _r, code: _c, ...f }) => f),
});

test('a chain written as v2 verifies exactly as its v1 bundle, element by element (valid, revoked, aged)', async () => {
  const later = new Date(Date.now() + 2 * 86_400_000);
  for (const [b, at] of [
    [bytes, new Date()],
    [revokedBytes, new Date()],
    [revokedBytes, later],
  ] as const) {
    const v1 = await verifyBundle(chain.toBundle(), opts(at));
    const one = await verifyBundleV2([b], opts(at));
    assert.equal(one.size, chain.size);
    if (b === bytes) assert.equal(one.valid, true, JSON.stringify(one.failures));
    else {
      assert.deepEqual(strip(one), strip(v1));
      assert.equal(one.valid, false);
    }
  }
  const first = await verifyBundleV2([bytes], opts());
  assert.equal(Object.keys(first.elements).length, 40);
  assert.deepEqual(first.links, chain.linkCounts);
});

test('the worker pool gives exactly the single-threaded result, element by element', async () => {
  const later = new Date(Date.now() + 2 * 86_400_000);
  for (const [b, at] of [
    [bytes, new Date()],
    [revokedBytes, new Date()],
    [revokedBytes, later],
  ] as const) {
    const single = await verifyBundleV2([b], opts(at));
    const answered = pool.answered;
    const parallel = await verifyBundleV2([b], { ...opts(at), prefetch: pool, window: 8 });
    assert.deepEqual(parallel, single);
    // The valid chain: 39 link signatures (the first is the owner's) and 20 quotes, all by the workers.
    if (b === bytes && at.getTime() < later.getTime()) assert.equal(pool.answered - answered, 39 + 20);
  }
  // In small chunks too (the reader across chunk boundaries), with an altered link signature.
  const fs = frames(bytes);
  const li = fs.findIndex((f) => kindOf(f) === 3 && fs.indexOf(f) > 10);
  const recs = fs.map(recordOf).map((r) => r.slice());
  recs[li][recs[li].length - 70] ^= 1; // inside the link's 64-byte signature (before the cloud text)
  const bad = rechain(recs);
  const chunks = Array.from({ length: Math.ceil(bad.length / 999) }, (_, i) => bad.subarray(i * 999, (i + 1) * 999));
  const single = await verifyBundleV2(chunks, opts());
  const parallel = await verifyBundleV2(chunks, { ...opts(), prefetch: pool, window: 8 });
  assert.equal(single.valid, false);
  assert.ok(
    single.failures.some((f) => f.record === li),
    JSON.stringify(single.failures),
  );
  assert.deepEqual(parallel, single);
});

test("the pool checks the key and quote bytes it is handed for each link, not its neighbours' or the hex", async () => {
  const items = readBundleV2Sync(bytes).flatMap((it) => (it.kind === 'link' ? [it] : []));
  const keyOf = new Map(items.map((it) => [it.link.child, Uint8Array.from(Buffer.from(it.link.childKey, 'hex'))]));
  const remote = items.filter((it) => it.quote && it.link.parent !== null).slice(0, 4);
  assert.equal(remote.length, 4);
  const jobs = remote.map((it) => ({
    link: it.link,
    key: keyOf.get(it.link.parent!)!,
    collateral: it.collateral!,
    quote: it.quote!.slice(),
  }));
  // Job 1: a bit of its quote's signed body flipped (its link's hex untouched); job 2: its child's key, not its parent's.
  jobs[1].quote[100] ^= 1;
  jobs[2].key = keyOf.get(remote[2].link.child)!;
  const started = pool.start(jobs, new Date());
  const sigs = await Promise.all(started.map((p) => p.signature ?? Promise.reject(new Error('no signature job'))));
  const quotes = await Promise.all(started.map((p) => p.remote ?? Promise.reject(new Error('no quote job'))));
  assert.deepEqual(sigs, [true, true, false, true]);
  assert.deepEqual(
    quotes.map((r) => r?.ok),
    [true, false, true, true],
  );
});

test('v2 is compact: shared quote parts, collateral and policy stored once', () => {
  const items = readBundleV2Sync(bytes);
  assert.equal(items.at(-1)!.kind, 'trailer');
  const json = JSON.stringify(chain.toBundle()).length;
  assert.ok(bytes.length * 4 < json, `v2 ${bytes.length} bytes, v1 ${json}`);
});

test('a truncated bundle: ERR_BUNDLE_TRUNCATED at the record being read', () => {
  const fs = frames(bytes);
  throwsAt(join(fs.slice(0, 5)), 'ERR_BUNDLE_TRUNCATED', 5, /before the trailer/);
  const cut = join(fs.slice(0, 6));
  throwsAt(cut.subarray(0, cut.length - 3), 'ERR_BUNDLE_TRUNCATED', 5, /inside this record/);
  throwsAt(bytes.subarray(0, 4), 'ERR_BUNDLE_TRUNCATED', 0);
});

test('a record removed, duplicated or swapped: ERR_BUNDLE_SEQUENCE at its index', () => {
  const fs = frames(bytes);
  throwsAt(join([...fs.slice(0, 7), ...fs.slice(8)]), 'ERR_BUNDLE_SEQUENCE', 7);
  throwsAt(join([...fs.slice(0, 8), fs[7], ...fs.slice(8)]), 'ERR_BUNDLE_SEQUENCE', 8);
  throwsAt(join([...fs.slice(0, 7), fs[8], fs[7], ...fs.slice(9)]), 'ERR_BUNDLE_SEQUENCE', 7);
  // A changed chain hash, and a changed byte of a record.
  const h = fs.map((f) => f.slice());
  h[9][5] ^= 0x40;
  throwsAt(join(h), 'ERR_BUNDLE_SEQUENCE', 9);
  const r = fs.map((f) => f.slice());
  r[12][r[12].length - 1] ^= 1;
  throwsAt(join(r), 'ERR_BUNDLE_SEQUENCE', 12);
});

test('a reference to a collateral or QE context no earlier record holds: ERR_BUNDLE_MISSING_REF, by name', () => {
  const recs = frames(bytes).map(recordOf);
  const blobAt = (k: number) =>
    recs.findIndex((r) => {
      const v = decodeCbor(r, { simple: true }) as unknown[];
      return v[0] === 1 && v[1] === k;
    });
  for (const [k, name] of [
    [1, 'collateral'],
    [2, 'QE context'],
  ] as const) {
    const i = blobAt(k);
    const id = Buffer.from(sha256((decodeCbor(recs[i], { simple: true }) as Uint8Array[])[2])).toString('hex');
    const rest = [...recs.slice(0, i), ...recs.slice(i + 1)];
    // The writer puts a blob right before the first link that references it.
    const user = rest.findIndex((r, j) => j >= i && (decodeCbor(r, { simple: true }) as unknown[])[0] === 3);
    throwsAt(rechain(rest), 'ERR_BUNDLE_MISSING_REF', user, new RegExp(`${name} ${id} is not in an earlier record`));
  }
});

test('the trailer: counts that differ, or bytes after it: ERR_BUNDLE_TRAILER', async () => {
  const recs = frames(bytes).map(recordOf);
  const n = recs.length - 1;
  // Without a link record (re-chained), the trailer's counts no longer match.
  const lastLink = recs.map((r) => (decodeCbor(r, { simple: true }) as unknown[])[0]).lastIndexOf(3);
  throwsAt(rechain([...recs.slice(0, lastLink), ...recs.slice(lastLink + 1)]), 'ERR_BUNDLE_TRAILER', n - 1, /counts/);
  throwsAt(Buffer.concat([bytes, Uint8Array.of(0x40)]), 'ERR_BUNDLE_TRAILER', n + 1, /follow the trailer/);
  // The verifier turns it into a rejected verification naming the record and the code, never a throw.
  const v = await verifyBundleV2([Buffer.concat([bytes, Uint8Array.of(0)])], opts());
  assert.equal(v.valid, false);
  assert.deepEqual(
    v.failures.map((f) => [f.check, f.code, f.record]),
    [['bundle-format', 'ERR_BUNDLE_TRAILER', n + 1]],
  );
});

test('a record larger than the limit: ERR_BUNDLE_TOO_LARGE before any of it is buffered', () => {
  // A frame head declaring 2^32 - 1 bytes followed by nothing: refused on the head alone.
  const huge = Buffer.concat([BUNDLE_V2_MAGIC, Uint8Array.of(0x5a, 0xff, 0xff, 0xff, 0xff)]);
  throwsAt(huge, 'ERR_BUNDLE_TOO_LARGE', 0, /above the limit/);
  assert.throws(
    () => readBundleV2Sync(bytes, { maxRecordBytes: 4096 }),
    (e: unknown) => e instanceof BundleError && e.code === 'ERR_BUNDLE_TOO_LARGE',
  );
});

test('not a v2 bundle, or a record off its schema: ERR_BUNDLE_FORMAT', () => {
  throwsAt(new TextEncoder().encode('{"format":"catena-proof-bundle"}'), 'ERR_BUNDLE_FORMAT', 0, /magic/);
  const recs = frames(bytes).map(recordOf);
  // The policy record moved after a blob; a record that is not an array.
  throwsAt(rechain([recs[0], recs[2], recs[1], ...recs.slice(3)]), 'ERR_BUNDLE_FORMAT', 1);
  throwsAt(rechain([recs[0], recs[1], Uint8Array.of(0x01), ...recs.slice(3)]), 'ERR_BUNDLE_FORMAT', 2);
});

test('a streaming chain keeps no links: what needs them is ERR_CHAIN_STREAMING', async () => {
  const parts: Uint8Array[] = [];
  const c = Chain.create({
    name: 's',
    root: world.root,
    emulatedRoot: true,
    policy: {},
    owner,
    remote: dcapRemoteVerifier(world.root),
    now: new Date(),
    stream: new BundleWriter((b) => parts.push(b.slice())),
  });
  const image = world.elementImage(generateVendorKey());
  const b = new CotBuilder(c, world, world.root);
  const e1 = await b.appendFirst(await world.loadElement(0, image));
  await b.appendRemote(e1.id, await world.loadElement(1, image));
  for (const f of [() => c.toBundle(), () => c.revoke(e1.id, 'x', new Date()), () => c.removeLeaf(e1.id)])
    assert.throws(f, (e: unknown) => e instanceof ChainError && e.code === 'ERR_CHAIN_STREAMING');
  const done = c.finishStream();
  const v = await verifyBundleV2([Buffer.concat(parts)], opts());
  assert.equal(v.valid, true, JSON.stringify(v.failures));
  assert.equal(v.size, c.size);
  assert.equal(done.bytes, Buffer.concat(parts).length);
  await b.destroyAll();
});

test('a streaming chain forgets a retired element: a child of it is refused, its id stays taken, the bundle verifies', async () => {
  const parts: Uint8Array[] = [];
  const c = Chain.create({
    name: 'r',
    root: world.root,
    emulatedRoot: true,
    policy: {},
    owner,
    remote: dcapRemoteVerifier(world.root),
    now: new Date(),
    stream: new BundleWriter((b) => parts.push(b.slice())),
  });
  const image = world.elementImage(generateVendorKey());
  const b = new CotBuilder(c, world, world.root);
  const e1 = await b.appendFirst(await world.loadElement(0, image));
  const e2 = await b.appendLocal(e1.id, await world.loadElement(0, image));
  // A grandchild after its parent's parent retired: its depth is known without the retired element.
  const e3 = await b.appendRemote(e2.id, await world.loadElement(1, image));
  const h1 = b.detach(e1.id);
  c.retire(e1.id);
  assert.equal(c.element(e1.id), undefined);
  assert.equal(c.size, 3 + 2 * 2); // three enclaves, two platforms with their QE elements
  await h1.destroy();
  // A link naming the retired element as parent is refused before any check of its evidence; one
  // admitting the retired element again is a duplicate.
  const like = { ...({} as Link), chain: c.id, type: 'local' as const, nonce: '00'.repeat(32) };
  await assert.rejects(
    c.append({ ...like, parent: e1.id, child: 'e-000000000000000000000000' }, { at: new Date() }),
    (e: unknown) => e instanceof ChainError && e.code === 'ERR_CHAIN_LINK_REFUSED' && e.check === 'link-structure',
  );
  await assert.rejects(
    c.append({ ...like, parent: e3.id, child: e1.id }, { at: new Date() }),
    (e: unknown) => e instanceof ChainError && e.code === 'ERR_CHAIN_DUPLICATE',
  );
  const e4 = await b.appendLocal(e3.id, await world.loadElement(1, image));
  assert.equal(c.element(e4.id)?.parent, e3.id);
  c.finishStream();
  const v = await verifyBundleV2([Buffer.concat(parts)], opts());
  assert.equal(v.valid, true, JSON.stringify(v.failures));
  assert.deepEqual(
    Object.keys(v.elements)
      .filter((k) => k.startsWith('e-'))
      .sort(),
    [e1.id, e2.id, e3.id, e4.id].sort(),
  );
  await b.destroyAll();
});

test('the writer refuses a hex field it could not rebuild byte for byte: upper case, a 0x prefix, odd length', () => {
  const l = chain.allLinks().find((x) => x.type === 'local')!;
  for (const nonce of [l.nonce.toUpperCase(), '0x' + l.nonce.slice(2), l.nonce.slice(1)]) {
    const w = new BundleWriter(() => {});
    w.header(chain.header);
    assert.throws(
      () => w.link({ ...l, nonce }),
      (e: unknown) => e instanceof ChainError && e.code === 'ERR_CHAIN_BUNDLE' && /nonce/.test(e.message),
    );
  }
  const w = new BundleWriter(() => {});
  w.header(chain.header);
  w.link(l); // the link as it is: written
});
