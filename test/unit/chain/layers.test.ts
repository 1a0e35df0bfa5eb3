/**
 * Cross-layer chains (issue 16): SGX enclaves, TDX trust domains and their workloads in one element/link
 * model. A good mixed chain verifies offline (v1 and v2) and reports each member's kind and checks; each
 * bad variant — a workload absent from the log, an event log that does not replay, a DEBUG TD, a TD quote
 * with a tampered body, a wrong MRTD, a workload image outside the policy, a link type a kind cannot take,
 * a wrong-kind policy — is refused with a named check or code, never an exception.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hex, fromHex } from '../../../src/bytes/util.ts';
import { generateP256 } from '../../../src/crypto/ecdsa.ts';
import { sha384 } from '../../../src/crypto/sha384.ts';
import { Chain } from '../../../src/chain/chain.ts';
import { ChainError } from '../../../src/chain/errors.ts';
import { parseChainPolicy } from '../../../src/chain/parse-policy.ts';
import { linkSigningBytes } from '../../../src/chain/signing.ts';
import type { ChainPolicy, Link, ProofBundle } from '../../../src/chain/types.ts';
import { verifyBundle } from '../../../src/chain/verify-bundle.ts';
import { BundleWriter } from '../../../src/chain/write-bundle-v2.ts';
import { verifyBundleV2 } from '../../../src/chain/verify-bundle-v2.ts';
import { createDcapRemoteVerifier } from '../../../src/cot/dcap-remote-verifier.ts';
import { signWithElementKey, type ElementKey } from '../../../src/cot/element-core.ts';
import { buildLayeredChain, openLayeredWorld, type LayeredWorld } from '../../../src/cot/layered-chain.ts';
import type { TdElement } from '../../../src/cot/td-element.ts';
import { workloadDigest } from '../../../src/chain/layers.ts';

let lw: LayeredWorld;
let good: { chain: Chain; tds: TdElement[]; builder: Awaited<ReturnType<typeof buildLayeredChain>>['builder'] };

before(async () => {
  lw = await openLayeredWorld(2);
  good = await buildLayeredChain(lw, { workloadsPerTd: 1, enclavesPerWorkload: 2 });
});
after(async () => {
  await good.builder.destroyAll();
  await lw.close();
});

const verify = (bundle: unknown) =>
  verifyBundle(bundle, { root: lw.world.root, at: new Date(), remote: createDcapRemoteVerifier(lw.world.root) });

/** The ChainError a refused append or admission throws: its code and check. */
async function refusal(p: Promise<unknown>): Promise<{ code: string; check: string | undefined }> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ChainError, `expected a ChainError, got ${String(e)}`);
    return { code: e.code, check: e.check };
  }
  assert.fail('expected a refusal');
}

/** A chain of the good chain's policy with no member yet, and the owner key. */
function emptyChain(policy?: ChainPolicy) {
  const owner = generateP256();
  const chain = Chain.create({
    name: 'bad variant',
    root: lw.world.root,
    emulatedRoot: true,
    policy: policy ?? good.chain.header.policy,
    owner,
    remote: createDcapRemoteVerifier(lw.world.root),
    now: new Date(),
  });
  return chain;
}

test('a mixed chain (TD → workload → SGX enclave → TD on another cloud …) verifies offline and reports kinds and checks', async () => {
  const v = await verify(good.chain.toBundle());
  assert.equal(v.valid, true, JSON.stringify(v.failures));
  assert.deepEqual(v.kinds, { 'tdx-td': 3, 'td-workload': 2, 'sgx-enclave': 4 });
  assert.equal(v.links.measured, 2);
  assert.ok(v.links.local > 0 && v.links.remote > 0);
  const byKind = (k: string) => Object.values(v.elements).filter((e) => e.kind === k);
  for (const e of byKind('tdx-td'))
    assert.ok(e.checks!.includes('td-event-log') && e.checks!.includes('policy-td-mrTd'));
  for (const e of byKind('td-workload'))
    assert.ok(e.checks!.includes('workload-measured') && e.checks!.includes('policy-workload-image'));
  for (const e of byKind('sgx-enclave')) assert.ok(e.checks!.includes('policy-identity'));
  // Element kinds as stored: SGX enclaves keep the kind every earlier bundle has.
  const kinds = new Set(good.chain.allElements().map((e) => e.kind));
  assert.deepEqual([...kinds].sort(), ['enclave', 'platform', 'qe', 'td-workload', 'tdx-td']);
});

test('the mixed chain as proof bundle v2 verifies with the same kinds and measured links', async () => {
  const parts: Uint8Array[] = [];
  good.chain.writeBundle(new BundleWriter((b) => parts.push(b.slice())));
  const v = await verifyBundleV2(parts, {
    root: lw.world.root,
    at: new Date(),
    remote: createDcapRemoteVerifier(lw.world.root),
  });
  assert.equal(v.valid, true, JSON.stringify(v.failures));
  assert.deepEqual(v.kinds, { 'tdx-td': 3, 'td-workload': 2, 'sgx-enclave': 4 });
  assert.equal(v.links.measured, 2);
});

test('a workload absent from the TD event log: the TD refuses to admit it (workload-measured)', async () => {
  const td = good.tds[0];
  const tdId = good.chain.childrenOf(null)[0];
  const r = await refusal(good.builder.measured(tdId, td.workload('sha256:' + 'ee'.repeat(32))));
  assert.deepEqual(r, { code: 'ERR_CHAIN_LINK_REFUSED', check: 'workload-measured' });
});

test('a TD that signs a link for a workload it did not measure: the verifier names workload-measured', async () => {
  const b = good.chain.toBundle();
  const tdId = good.chain.childrenOf(null)[0];
  const tdLink = b.links.find((l) => l.child === tdId)!;
  const w = b.links.find((l) => l.parent === tdId && l.type === 'measured')!;
  const absent = 'sha256:' + 'ee'.repeat(32);
  const forged: Omit<Link, 'signature'> = {
    ...w,
    childIdentity: { kind: 'td-workload', imageDigest: absent, event: (w.childIdentity as { event: number }).event },
    evidence: { kind: 'td-event', event: (w.childIdentity as { event: number }).event, digest: workloadDigest(absent) },
  };
  // The compromised TD signs with its own element key.
  const key = (good.tds[0] as unknown as { key: ElementKey }).key;
  const signed: Link = { ...forged, signature: hex(signWithElementKey(key, linkSigningBytes(forged))) };
  const links = b.links.map((l) => (l === w ? signed : l));
  const elements = b.elements.map((e) => (e.id === w.child ? { ...e, identity: signed.childIdentity } : e));
  const v = await verify({ ...b, links, elements });
  assert.equal(v.valid, false);
  assert.equal(v.failures[0].check, 'workload-measured', JSON.stringify(v.failures));
  assert.equal(v.failures[0].link, w.child);
  assert.ok(tdLink);
  // Its descendants fall with it, naming it.
  assert.match(v.elements[good.chain.childrenOf(w.child)[0]].cause!, /ancestor/);
});

test('an event log that does not replay to the quoted RTMRs: refused with td-event-log, by the owner and by an SGX parent', async () => {
  const evil = lw.hosts[0].launchTd({ workloads: [] });
  evil.events[4] = { ...evil.events[4], digest: sha384(new TextEncoder().encode('vmlinuz-evil')) };
  const chain = emptyChain();
  const { LayerBuilder } = await import('../../../src/cot/layer-builder.ts');
  const b = new LayerBuilder(chain, lw.world, lw.world.root);
  assert.deepEqual(await refusal(b.first(evil)), { code: 'ERR_CHAIN_LINK_REFUSED', check: 'td-event-log' });
  // An SGX enclave of the good chain admitting it remotely refuses too.
  const sgx = good.chain.allElements().find((e) => e.kind === 'enclave')!;
  assert.deepEqual(await refusal(good.builder.remote(sgx.id, evil)), {
    code: 'ERR_CHAIN_LINK_REFUSED',
    check: 'td-event-log',
  });
});

test('a DEBUG TD is refused (policy-td-debug) unless the policy allows it', async () => {
  const dbg = lw.hosts[1].launchTd({ workloads: [] });
  const { LayerBuilder } = await import('../../../src/cot/layer-builder.ts');
  const refusedChain = emptyChain({ tdx: { allowDebug: false } });
  assert.deepEqual(
    await refusal(new LayerBuilder(refusedChain, lw.world, lw.world.root).first(lw.hosts[1].launchTd({ debug: true }))),
    {
      code: 'ERR_CHAIN_LINK_REFUSED',
      check: 'policy-td-debug',
    },
  );
  // The chain-wide allowDebug is the SGX enclaves' and does not let a DEBUG TD in.
  const sgxDebug = emptyChain({ allowDebug: true });
  assert.equal(
    (await refusal(new LayerBuilder(sgxDebug, lw.world, lw.world.root).first(lw.hosts[1].launchTd({ debug: true }))))
      .check,
    'policy-td-debug',
  );
  const allowed = emptyChain({ tdx: { allowDebug: true } });
  const el = await new LayerBuilder(allowed, lw.world, lw.world.root).first(lw.hosts[1].launchTd({ debug: true }));
  assert.equal((el.identity as { debug: boolean }).debug, true);
  assert.equal((await verify(allowed.toBundle())).valid, true);
  assert.ok(dbg);
});

test('a TD quote with a tampered body, signed into a link by the owner: refused with a quote check, offline too', async () => {
  const chain = emptyChain();
  const td = lw.hosts[0].launchTd({ workloads: [] });
  const nonce = chain.newNonce();
  const { quote, eventLog } = await td.evidence(chain.id, nonce);
  const { tdIdentityOf } = await import('../../../src/chain/layers.ts');
  const { parseQuote } = await import('../../../src/formats/quote.ts');
  const body = parseQuote(quote).body;
  assert.equal(body.kind, 'td10');
  if (body.kind !== 'td10') return;
  const tampered = quote.slice();
  tampered[48 + 136] ^= 0x01; // MRTD's first byte (TD report: TEE_TCB_SVN 16, MRSEAM 48, MRSIGNERSEAM 48, SEAMATTRIBUTES 8, TDATTRIBUTES 8, XFAM 8)
  const collateral = await td.host.collateral();
  const at = new Date();
  const link = chain.signAsOwner({
    version: 1,
    chain: chain.id,
    parent: null,
    child: 'e-' + 'aa'.repeat(12),
    type: 'remote',
    nonce,
    childKey: hex(td.elementKey),
    childIdentity: tdIdentityOf(parseQuote(tampered).body.report as never),
    childPlatform: td.platformPpid,
    evidence: {
      kind: 'dcap-quote',
      quote: hex(tampered),
      collateral: Chain.collateralId(collateral),
      eventLog: hex(eventLog),
    },
    appraisal: { verdict: 'accepted' },
    at: at.toISOString(),
  });
  const r = await refusal(chain.append(link, { at, collateral }));
  assert.equal(r.code, 'ERR_CHAIN_LINK_REFUSED');
  assert.match(r.check!, /^quote:/);
  const bundle: ProofBundle = {
    ...chain.toBundle(),
    elements: [
      {
        id: link.child,
        kind: 'tdx-td',
        parent: null,
        platform: link.childPlatform,
        identity: link.childIdentity,
        elementKey: link.childKey,
      },
    ],
    links: [link],
    collateral: { [Chain.collateralId(collateral)]: collateral },
  };
  const v = await verify(bundle);
  assert.equal(v.valid, false);
  assert.match(v.failures[0].check, /^quote:/, JSON.stringify(v.failures));
  assert.equal(v.elements[link.child].kind, 'tdx-td');
  // The same link with the good quote is accepted: only the flipped bit made the difference.
  assert.ok(fromHex(hex(quote)).length === tampered.length);
});

test('a TD outside the MRTD allow-list and a workload image outside the policy are refused by name', async () => {
  const { LayerBuilder } = await import('../../../src/cot/layer-builder.ts');
  const p = good.chain.header.policy;
  const wrongMrtd = emptyChain({ ...p, tdx: { ...p.tdx, mrTd: ['00'.repeat(48)] } });
  const td = lw.hosts[0].launchTd({ workloads: ['sha256:' + '11'.repeat(32)] });
  assert.equal((await refusal(new LayerBuilder(wrongMrtd, lw.world, lw.world.root).first(td))).check, 'policy-td-mrTd');
  const chain = emptyChain();
  const b = new LayerBuilder(chain, lw.world, lw.world.root);
  const tdEl = await b.first(td);
  assert.deepEqual(await refusal(b.measured(tdEl.id, td.workload('sha256:' + '11'.repeat(32)))), {
    code: 'ERR_CHAIN_LINK_REFUSED',
    check: 'policy-workload-image',
  });
});

test('link types a kind cannot take: a local link under a TD, a measured link under an SGX enclave', async () => {
  const tdId = good.chain.childrenOf(null)[0];
  const sgx = good.chain.allElements().find((e) => e.kind === 'enclave')!;
  const h = await lw.world.loadElement(
    0,
    lw.world.elementImage((await import('../../../src/crypto/rsa3072.ts')).generateVendorKey()),
  );
  try {
    assert.equal((await refusal(good.builder.local(tdId, h))).check, 'link-type');
    assert.equal((await refusal(good.builder.measured(sgx.id, good.tds[0].workload('x')))).check, 'link-type');
  } finally {
    await h.destroy();
  }
});

test('a policy naming a field of another kind is refused with ERR_CHAIN_POLICY_KIND (check policy-kind)', () => {
  const kindError = (e: unknown) =>
    e instanceof ChainError && e.code === 'ERR_CHAIN_POLICY_KIND' && e.check === 'policy-kind';
  const m = 'ab'.repeat(32);
  const t = 'cd'.repeat(48);
  for (const bad of [
    { tdx: { mrEnclave: [m] } },
    { tdx: { mrSigner: m } },
    { identities: [{ mrTd: [t] }] },
    { workloads: { mrTd: [t] } },
    { workloads: { mrSigner: m } },
    { tdx: { imageDigests: ['sha256:x'] } },
    { mrTd: [t] },
    { imageDigests: ['sha256:x'] },
    { byDepth: { '2': { tdx: { isvProdId: 1 } } } },
  ]) {
    assert.throws(() => parseChainPolicy(bad), kindError, JSON.stringify(bad));
    assert.throws(() => emptyChain(bad as ChainPolicy), kindError, JSON.stringify(bad));
  }
  // Each kind's own fields are accepted.
  assert.doesNotThrow(() =>
    parseChainPolicy({
      identities: [{ mrSigner: m }],
      tdx: { mrTd: [t], allowDebug: false },
      workloads: { imageDigests: ['a'] },
    }),
  );
});

test('a bundle whose TD element carries a malformed identity is a bundle-format failure, not an exception', async () => {
  const b = good.chain.toBundle();
  const td = b.elements.find((e) => e.kind === 'tdx-td')!;
  for (const identity of [
    { kind: 'tdx-td' },
    { kind: 'td-workload', imageDigest: 7, event: 0 },
    { kind: 'nope' },
    null,
  ]) {
    const v = await verify({ ...b, elements: b.elements.map((e) => (e === td ? { ...e, identity } : e)) });
    assert.equal(v.valid, false);
    assert.equal(v.failures[0].check, 'bundle-format');
  }
});
