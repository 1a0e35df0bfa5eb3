import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Chain } from '../../../src/chain/chain.ts';
import { linkSigningBytes } from '../../../src/chain/signing.ts';
import type { ChainHeader, Link } from '../../../src/chain/types.ts';
import { verifyBundleV2 } from '../../../src/chain/verify-bundle-v2.ts';
import { BundleWriter } from '../../../src/chain/write-bundle-v2.ts';
import { CotBuilder } from '../../../src/cot/builder.ts';
import { createDcapRemoteVerifier, verifiedQuotesOf } from '../../../src/cot/dcap-remote-verifier.ts';
import { buildElementImage } from '../../../src/cot/element.ts';
import { LinkPipeline } from '../../../src/cot/link-pipeline.ts';
import { SignatureLane } from '../../../src/cot/signature-lane.ts';
import { EmulatedWorld } from '../../../src/cot/world.ts';
import { generateP256, generateP256Scalar, p256Sign, p256SignerFromScalar } from '../../../src/crypto/ecdsa.ts';
import { generateVendorKey } from '../../../src/crypto/rsa3072.ts';

// A pipelined build (links appended up to `depth` behind, their signatures checked on the lane's
// thread) must give the chain's verdicts and bundle of sequential appends of the same links.

let world: EmulatedWorld;
let lane: SignatureLane;
const image = buildElementImage(generateVendorKey());

before(async () => {
  world = await EmulatedWorld.create({ clouds: 2 });
  await world.collateralFor();
  lane = await SignatureLane.open({ batch: 2 });
});
after(async () => {
  await lane.close();
  await world.close();
});

/** A streaming chain writing into `out`, whose appends are recorded in `calls`. */
function chainOf(
  out: Uint8Array[],
  opts: { id: string; now: Date; owner: ReturnType<typeof generateP256>; prefetched?: SignatureLane['prefetched'] },
  writer: BundleWriter = new BundleWriter((b) => out.push(Uint8Array.from(b))),
) {
  const chain = Chain.create({
    stream: writer,
    name: 'pipeline',
    id: opts.id,
    root: world.root,
    emulatedRoot: true,
    policy: {},
    owner: opts.owner,
    remote: createDcapRemoteVerifier(world.root, { reuse: verifiedQuotesOf(world.root) }),
    now: opts.now,
    ...(opts.prefetched ? { prefetched: opts.prefetched } : {}),
  });
  const calls: Array<Parameters<Chain['append']>> = [];
  const append = chain.append.bind(chain);
  chain.append = (l, o) => {
    calls.push([l, o]);
    return append(l, o);
  };
  return { chain, calls };
}

/** The same chain replayed sequentially: no lane, every quote verified in full; its writer is handed A's header. */
async function replay(a: Chain, calls: Array<Parameters<Chain['append']>>, owner: ReturnType<typeof generateP256>) {
  const out: Uint8Array[] = [];
  // ECDSA signatures are randomised: B's own header differs from A's in its signature alone (checked below).
  class AsA extends BundleWriter {
    override header(_h: ChainHeader): void {
      super.header(a.header);
    }
  }
  const b = Chain.create({
    stream: new AsA((x) => out.push(Uint8Array.from(x))),
    name: 'pipeline',
    id: a.id,
    root: world.root,
    emulatedRoot: true,
    policy: {},
    owner,
    remote: createDcapRemoteVerifier(world.root),
    now: new Date(a.header.createdAt),
  });
  assert.deepEqual({ ...b.header, signature: '' }, { ...a.header, signature: '' });
  const errors: unknown[] = [];
  for (const [l, o] of calls) await b.append(l, o).catch((e: unknown) => errors.push(e));
  return { b, out, errors };
}

const bytesOf = (parts: Uint8Array[]) => Buffer.concat(parts);

test('pipelined appends with the lane write byte for byte the bundle of sequential appends of the same links', async () => {
  const owner = generateP256();
  const outA: Uint8Array[] = [];
  const { chain, calls } = chainOf(outA, { id: randomUUID(), now: new Date(), owner, prefetched: lane.prefetched });
  const builder = new CotBuilder(chain, world, world.root);
  const pipe = new LinkPipeline(builder, lane, 3);
  const ids = [(await builder.appendFirst(await world.loadElement(0, image))).id];
  const platformOf = [0];
  const answered = lane.answered;
  let flushes = 0;
  for (let i = 1; i < 24; i++) {
    const local = i % 3 !== 0;
    // Parents among the last few elements, so that some are still waiting in the pipeline.
    const p = Math.max(0, i - 1 - ((i * 7) % 5));
    const parent = ids[p];
    if (pipe.holds(parent)) {
      flushes++;
      await pipe.flush();
    }
    const platform = local ? platformOf[p] : 1 - platformOf[p];
    const made = await builder.make(local ? 'local' : 'remote', parent, await world.loadElement(platform, image));
    await pipe.submit(made);
    ids.push(made.link.child);
    platformOf.push(platform);
  }
  await pipe.flush();
  assert.ok(flushes > 0, 'some parents were still waiting');
  assert.equal(lane.answered - answered, 23, 'every link after the first was checked on the lane');
  const a = chain.finishStream();
  const { b, out: outB, errors } = await replay(chain, calls, owner);
  assert.deepEqual(errors, []);
  assert.deepEqual(b.finishStream(), a);
  assert.ok(bytesOf(outA).equals(bytesOf(outB)), 'the same bundle, byte for byte');
  const v = await verifyBundleV2([bytesOf(outA)], {
    root: world.root,
    at: new Date(),
    remote: createDcapRemoteVerifier(world.root),
  });
  assert.equal(v.valid, true);
  assert.deepEqual(v.links, { local: 16, remote: 8 });
});

test('a link whose signature does not verify: refused with the same check, and nothing after it appended', async () => {
  const owner = generateP256();
  const outA: Uint8Array[] = [];
  const { chain, calls } = chainOf(outA, { id: randomUUID(), now: new Date(), owner, prefetched: lane.prefetched });
  const builder = new CotBuilder(chain, world, world.root);
  const pipe = new LinkPipeline(builder, lane, 4);
  const first = await builder.appendFirst(await world.loadElement(0, image));
  let refusal: unknown;
  try {
    for (let i = 1; i < 8; i++) {
      const made = await builder.make(
        i % 2 ? 'local' : 'remote',
        first.id,
        await world.loadElement(i % 2 ? 0 : 1, image),
      );
      // The third link's signature altered (still 64 bytes of hex): its parent did not sign this.
      if (i === 3) made.link = { ...made.link, signature: flip(made.link.signature) };
      await pipe.submit(made);
    }
    await pipe.flush();
  } catch (e) {
    refusal = e;
  }
  assert.ok(refusal, 'the pipeline refused');
  assert.equal(calls.length, 3 + 1, 'the first link, two good ones and the altered one: nothing after it');
  const { out: outB, errors } = await replay(chain, calls, owner);
  assert.equal(errors.length, 1);
  for (const e of [refusal, errors[0]])
    assert.deepEqual(
      { code: (e as { code?: string }).code, check: (e as { check?: string }).check },
      { code: 'ERR_CHAIN_LINK_REFUSED', check: 'link-signature' },
    );
  assert.equal((refusal as Error).message, (errors[0] as Error).message);
  assert.ok(bytesOf(outA).equals(bytesOf(outB)), 'the same records written before the refusal');
});

test("the lane's verdict is used only for the link it was started for, under the chain's own parent key", async () => {
  const k = generateP256Scalar();
  const other = generateP256Scalar();
  const signer = p256SignerFromScalar(k.d.slice(), k.publicRaw);
  const link = (child: string): Link => {
    const l = {
      version: 1,
      chain: 'c',
      parent: 'p',
      child,
      type: 'local',
      nonce: '00'.repeat(32),
      childKey: '11'.repeat(64),
      childIdentity: { mrEnclave: '22'.repeat(32) },
      childPlatform: '33'.repeat(16),
      evidence: { kind: 'sgx-report', report: '44'.repeat(432) },
      at: new Date(0).toISOString(),
      appraisal: { verdict: 'accepted' },
    } as unknown as Omit<Link, 'signature'>;
    return { ...l, signature: Buffer.from(p256Sign(signer, linkSigningBytes(l))).toString('hex') };
  };
  const good = link('a');
  lane.start(good, k.publicRaw);
  assert.equal(await lane.prefetched(good, k.publicRaw), true);
  assert.equal(lane.prefetched(good, k.publicRaw), undefined, 'taken once');

  const bad = { ...link('b'), signature: flip(link('b').signature) };
  lane.start(bad, k.publicRaw);
  assert.equal(await lane.prefetched(bad, k.publicRaw), false);

  const elsewhere = link('c');
  lane.start(elsewhere, other.publicRaw);
  assert.equal(lane.prefetched(elsewhere, k.publicRaw), undefined, 'started under another key: not used');

  const copy = link('d');
  lane.start(copy, k.publicRaw);
  assert.equal(lane.prefetched({ ...copy }, k.publicRaw), undefined, 'another link object: not used');
  lane.cancel(copy);

  const short = { ...link('e'), signature: 'ab'.repeat(32) };
  lane.start(short, k.publicRaw);
  assert.equal(lane.prefetched(short, k.publicRaw), undefined, 'a malformed signature is left to the chain');
});

function flip(sigHex: string): string {
  const c = sigHex[10] === '0' ? '1' : '0';
  return sigHex.slice(0, 10) + c + sigHex.slice(11);
}
