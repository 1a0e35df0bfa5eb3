/**
 * The chain verifier check by check, on bundles built directly (test/helpers/synthetic-chain.ts: real keys
 * and signatures, no emulated world, milliseconds each): every check refuses exactly its own failure, the
 * one link it concerns and nothing else, as v1 and as v2; boundaries (clock skew, evidence age) on both
 * sides. Written to leave no verifier mutant alive (docs/testing.md, "Mutation testing").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hex } from '../../../src/bytes/util.ts';
import { generateP256, p256PublicRaw, p256Sign } from '../../../src/crypto/ecdsa.ts';
import { headerSigningBytes } from '../../../src/chain/signing.ts';
import { LinkChecker, verifyBundle } from '../../../src/chain/verify-bundle.ts';
import { verifyBundleV2 } from '../../../src/chain/verify-bundle-v2.ts';
import type { ChainPolicy, ChainVerification, Link, ProofBundle } from '../../../src/chain/types.ts';
import type { RemoteEvidenceResult } from '../../../src/chain/remote-verifier.ts';
import { COLLATERAL, COLLATERAL_ID, ROOT, SynthChain } from '../../helpers/synthetic-chain.ts';
import { sha384 } from '../../../src/crypto/sha384.ts';
import { EV } from '../../../src/formats/tdx-event-log.ts';
import { writeEventLog } from '../../../src/formats/write-tdx-event-log.ts';

const L = (b: ProofBundle, child: string): Link => b.links.find((l) => l.child === child)!;
const E = (b: ProofBundle, id: string) => b.elements.find((e) => e.id === id)!;
const named = (r: ChainVerification) => r.failures.map((f) => `${f.link}:${f.check}`);

/** e1 (remote, a1, the owner's) → e2 (local) → e3 (remote, a2). */
function sgx(policy: ChainPolicy = {}): SynthChain {
  const s = new SynthChain(policy);
  s.remoteSgx('e1', null, 'a1');
  s.localSgx('e2', 'e1');
  s.remoteSgx('e3', 'e2', 'a2');
  return s;
}

/** e1 (remote, a1) → td1 (remote, a3, two workloads measured) → w1, w2 (measured). */
function layered(policy: ChainPolicy = {}): SynthChain {
  const s = new SynthChain(policy);
  s.remoteSgx('e1', null, 'a1');
  s.td('td1', 'e1', 'a3', { workloads: ['sha256:aa', 'sha256:bb'] });
  s.workload('w1', 'td1', 'sha256:aa', 1);
  s.workload('w2', 'td1', 'sha256:bb', 2);
  return s;
}

async function both(s: SynthChain, b: ProofBundle, ms = 0) {
  const v1 = await verifyBundle(b, s.opts(ms));
  const v2 = await verifyBundleV2([s.v2(b)], s.opts(ms));
  return { v1, v2 };
}

test('an SGX chain verifies: exactly this result, as v1 and as v2', async () => {
  const s = sgx();
  const { v1, v2 } = await both(s, s.bundle());
  const expected = {
    valid: true,
    size: 7,
    links: { local: 1, remote: 2 },
    failures: [],
    elements: { e1: { valid: true }, e2: { valid: true }, e3: { valid: true } },
    emulatedRoot: true,
  };
  assert.deepEqual(v1, expected);
  assert.deepEqual(v2, expected);
  assert.equal(s.verified, 4); // two quotes, each verified once per verifier
});

test('a chain with a TD and workloads verifies: kinds, measured links and the checks of each member', async () => {
  const s = layered({ workloads: { imageDigests: ['sha256:aa', 'sha256:bb'] } });
  const { v1, v2 } = await both(s, s.bundle());
  const common = ['link-signature', 'nonce-reuse', 'evidence-age', 'policy-depth', 'policy-link-type'];
  const expected = {
    valid: true,
    size: 8,
    links: { local: 0, remote: 2, measured: 2 },
    failures: [],
    elements: {
      e1: {
        valid: true,
        kind: 'sgx-enclave',
        checks: [...common, 'quote', 'key-binding', 'policy-tcb-status', 'policy-debug', 'revoked'],
      },
      td1: {
        valid: true,
        kind: 'tdx-td',
        checks: [
          ...common,
          ...['quote', 'key-binding', 'policy-tcb-status', 'td-event-log', 'policy-td-debug', 'policy-serviceTd'],
          'revoked',
        ],
      },
      w1: {
        valid: true,
        kind: 'td-workload',
        checks: [...common, 'workload-measured', 'policy-workload-image', 'revoked'],
      },
      w2: {
        valid: true,
        kind: 'td-workload',
        checks: [...common, 'workload-measured', 'policy-workload-image', 'revoked'],
      },
    },
    kinds: { 'sgx-enclave': 1, 'tdx-td': 1, 'td-workload': 2 },
    emulatedRoot: true,
  };
  assert.deepEqual(v1, expected);
  // v2 lists the checks of an SGX enclave only once the stream has shown a TD or workload.
  assert.deepEqual(v2, { ...expected, elements: { ...expected.elements, e1: { valid: true, kind: 'sgx-enclave' } } });
});

type Case = {
  name: string;
  chain?: () => SynthChain;
  tamper: (b: ProofBundle, s: SynthChain) => void;
  /** `link:check` of each failure, in order. */
  failures: string[];
  /** Elements invalid (besides those named by failures). */
  invalid?: string[];
  /** Elements valid although a failure names them (a failure of the bundle, not of the element). */
  valid?: string[];
  /** Verification time after the chain's `now`, ms. */
  ms?: number;
  /** The first failure's message. */
  message?: RegExp;
  /** The tamper cannot be written as v2 (an element field v2 derives from its link, …). */
  v1only?: boolean;
};

const resign = (s: SynthChain, l: Link) => s.sign(l);
const otherKey = () => hex(p256PublicRaw(generateP256().publicKey));

const CASES: Case[] = [
  { name: 'untouched', tamper: () => {}, failures: [] },
  {
    name: 'first link signature',
    tamper: (b) => (L(b, 'e1').signature = 'ff' + L(b, 'e1').signature.slice(2)),
    failures: ['e1:link-signature'],
    message: /^first link is not signed by the chain owner$/,
    invalid: ['e2', 'e3'],
  },
  {
    name: 'link signed by the owner, not its parent',
    tamper: (b, s) => {
      const l = L(b, 'e2');
      l.signature = hex(p256Sign(s.owner.privateKey, new Uint8Array(1)));
    },
    failures: ['e2:link-signature'],
    message: /^link is not signed by the parent element key$/,
    invalid: ['e3'],
  },
  {
    name: 'link of another chain',
    tamper: (b, s) => resign(s, Object.assign(L(b, 'e2'), { chain: 'other' })),
    failures: ['e2:link-structure'],
    message: /^link belongs to chain other$/,
    invalid: ['e3'],
    v1only: true,
  },
  {
    name: 'a link whose element is missing',
    tamper: (b) =>
      b.elements.splice(
        b.elements.findIndex((e) => e.id === 'e3'),
        1,
      ),
    failures: ['e3:link-structure', 'platform:a2:link-structure', 'qe:a2:link-structure'],
    v1only: true,
  },
  {
    name: 'element parent differs from its link',
    tamper: (b) => (E(b, 'e3').parent = 'e1'),
    failures: ['e3:link-structure'],
    message: /^element parent differs from its link parent$/,
    v1only: true,
  },
  {
    name: 'element platform differs from its link',
    tamper: (b) => (E(b, 'e2').platform = 'a2'),
    failures: ['e2:link-structure'],
    message: /^element platform differs from its link$/,
    invalid: ['e3'],
    v1only: true,
  },
  {
    name: 'element key differs from its link',
    tamper: (b) => (E(b, 'e2').elementKey = otherKey()),
    failures: ['e2:link-structure'],
    message: /^element key differs from the key its link binds$/,
    invalid: ['e3'],
    v1only: true,
  },
  {
    name: 'element identity differs from its link',
    tamper: (b) => {
      const i = E(b, 'e2').identity as { isvSvn: number };
      i.isvSvn++;
    },
    failures: ['e2:link-structure'],
    message: /^element identity differs from its link$/,
    invalid: ['e3'],
    v1only: true,
  },
  {
    name: 'a TD element identity differs from its link',
    chain: layered,
    tamper: (b) => ((E(b, 'td1').identity as { mrTd: string }).mrTd = '00'.repeat(48)),
    failures: ['td1:link-structure'],
    invalid: ['w1', 'w2'],
    v1only: true,
  },
  {
    name: 'a nonce used twice',
    tamper: (b, s) => resign(s, Object.assign(L(b, 'e3'), { nonce: L(b, 'e2').nonce })),
    failures: ['e3:nonce-reuse'],
    message: /^the challenge nonce was already used in this chain$/,
  },
  {
    name: 'a nonce used twice, on a link with a bad signature: the nonce is named (checked first)',
    tamper: (b, s) => {
      resign(s, Object.assign(L(b, 'e3'), { nonce: L(b, 'e2').nonce }));
      L(b, 'e3').signature = 'ff' + L(b, 'e3').signature.slice(2);
    },
    failures: ['e3:nonce-reuse'],
  },
  {
    name: 'a child key off the curve',
    tamper: (b, s) => {
      resign(s, Object.assign(L(b, 'e3'), { childKey: '00'.repeat(64) }));
      E(b, 'e3').elementKey = '00'.repeat(64);
    },
    failures: ['e3:key-format'],
    message: /^child key: not a point of P-256$/,
  },
  {
    name: 'a link time that is not a date',
    tamper: (b, s) => resign(s, Object.assign(L(b, 'e3'), { at: 'yesterday' })),
    failures: ['e3:format'],
    message: /^link time is not a date$/,
  },
  {
    name: 'a link time 5 min in the future: tolerated',
    tamper: (b, s) => resign(s, Object.assign(L(b, 'e3'), { at: new Date(s.now.getTime() + 300_000).toISOString() })),
    failures: [],
  },
  {
    name: 'a link time 5 min + 1 ms in the future',
    tamper: (b, s) => resign(s, Object.assign(L(b, 'e3'), { at: new Date(s.now.getTime() + 300_001).toISOString() })),
    failures: ['e3:evidence-age'],
    message: /^link time 2026-12-04T12:05:00.001Z is in the future$/,
  },
  { name: 'evidence exactly 24 h old', tamper: () => {}, ms: 24 * 3600_000, failures: [] },
  {
    name: 'evidence 24 h + 1 ms old',
    tamper: () => {},
    ms: 24 * 3600_000 + 1,
    failures: ['e1:evidence-age'],
    message: /^evidence from 2026-12-04T12:00:00.000Z is older than 86400 s$/,
    invalid: ['e2', 'e3'],
  },
  {
    name: 'evidence older than the age the policy sets at its depth',
    chain: () => sgx({ evidenceMaxAgeSeconds: 100, byDepth: { '3': { evidenceMaxAgeSeconds: 10 } } }),
    tamper: () => {},
    ms: 10_001,
    failures: ['e3:evidence-age'],
  },
  {
    name: 'evidence exactly the age the policy allows',
    chain: () => sgx({ evidenceMaxAgeSeconds: 10 }),
    tamper: () => {},
    ms: 10_000,
    failures: [],
  },
  {
    name: 'a local link for the first enclave',
    chain: () => {
      const s = new SynthChain();
      s.remoteSgx('e1', null, 'a1');
      return s;
    },
    tamper: (b, s) => {
      const e2 = structuredClone(L(b, 'e1'));
      resign(
        s,
        Object.assign(L(b, 'e1'), { type: 'local', evidence: { kind: 'sgx-report', report: '00'.repeat(432) } }),
      );
      void e2;
    },
    failures: ['e1:link-type'],
    message: /^the first enclave must be admitted with remote evidence$/,
  },
  {
    name: 'a local link carrying a quote',
    tamper: (b, s) =>
      resign(
        s,
        Object.assign(L(b, 'e2'), { evidence: { kind: 'dcap-quote', quote: '00', collateral: COLLATERAL_ID } }),
      ),
    failures: ['e2:evidence-format'],
    message: /^a local link carries an SGX REPORT$/,
    v1only: true,
    invalid: ['e3'],
  },
  {
    name: 'a local link whose REPORT is cut short',
    tamper: (b, s) => {
      const ev = L(b, 'e2').evidence as { report: string };
      ev.report = ev.report.slice(0, -2);
      resign(s, L(b, 'e2'));
    },
    failures: ['e2:evidence-format'],
    message: /^report: expected 432 bytes, got 431$/,
    invalid: ['e3'],
  },
  {
    name: 'a local link to another platform',
    tamper: (b, s) => {
      resign(s, Object.assign(L(b, 'e2'), { childPlatform: 'a9' }));
      E(b, 'e2').platform = 'a9';
    },
    failures: ['e2:local-same-platform'],
    message: /^local link between platforms a1 and a9$/,
    invalid: ['e3'],
  },
  {
    name: 'an SGX enclave admitted by a measured link',
    tamper: (b, s) => resign(s, Object.assign(L(b, 'e2'), { type: 'measured' })),
    failures: ['e2:link-type'],
    message: /^a sgx-enclave cannot be admitted by a measured link$/,
    v1only: true,
    invalid: ['e3'],
  },
  {
    name: 'REPORTDATA that does not bind the key (local)',
    tamper: (b, s) => {
      const ev = L(b, 'e2').evidence as { report: string };
      ev.report = ev.report.slice(0, 320 * 2) + 'ff' + ev.report.slice(321 * 2);
      resign(s, L(b, 'e2'));
    },
    failures: ['e2:key-binding'],
    message: /^REPORTDATA does not bind the element key and the parent nonce$/,
    invalid: ['e3'],
  },
  {
    name: 'a link identity (and element) that differs from the REPORT',
    tamper: (b, s) => {
      for (const i of [L(b, 'e2').childIdentity, E(b, 'e2').identity] as Array<{ isvSvn: number }>) i.isvSvn = 77;
      resign(s, L(b, 'e2'));
    },
    failures: ['e2:link-structure'],
    message: /^link identity differs from the evidence$/,
    invalid: ['e3'],
  },
  {
    name: 'a remote link carrying a REPORT',
    tamper: (b, s) =>
      resign(s, Object.assign(L(b, 'e3'), { evidence: { kind: 'sgx-report', report: '00'.repeat(432) } })),
    failures: ['e3:evidence-format'],
    message: /^a remote link carries a DCAP quote$/,
    v1only: true,
  },
  {
    name: 'collateral the bundle lacks',
    tamper: (b, s) =>
      resign(s, Object.assign(L(b, 'e3'), { evidence: { ...L(b, 'e3').evidence, collateral: '00'.repeat(32) } })),
    failures: ['e3:collateral-missing'],
    message: /^collateral 0{64} is not in the bundle$/,
    v1only: true,
  },
  {
    name: 'a quote the remote verifier refuses',
    tamper: (b, s) =>
      resign(s, Object.assign(L(b, 'e3'), { evidence: { ...L(b, 'e3').evidence, quote: '00'.repeat(600) } })),
    failures: ['e3:quote:synthetic'],
  },
  {
    name: 'a remote link naming another platform than its quote',
    tamper: (b, s) => {
      resign(s, Object.assign(L(b, 'e3'), { childPlatform: 'a1' }));
      E(b, 'e3').platform = 'a1';
    },
    failures: ['e3:link-structure', 'platform:a2:link-structure', 'qe:a2:link-structure'],
    message: /^remote link names platform a1, the quote's is a2$/,
    v1only: true,
  },
  {
    name: 'collateral that does not hash to its id',
    tamper: (b) => (b.collateral[COLLATERAL_ID] = { ...COLLATERAL, tcbInfo: 'x' }),
    failures: ['-:collateral-hash', 'e1:collateral-missing'],
    message: /^collateral [0-9a-f]{64} does not hash to its id$/,
    invalid: ['e2', 'e3'],
    v1only: true,
  },
  {
    name: 'two elements with one id',
    tamper: (b) => b.elements.push(structuredClone(E(b, 'e3'))),
    // A failure before the links: the checker is given no collateral, so no quote is verified.
    failures: ['e3:link-structure', 'e1:collateral-missing'],
    message: /^two elements have this id$/,
    invalid: ['e2'],
    v1only: true,
  },
  {
    name: 'two links admitting one element',
    tamper: (b) => b.links.push(structuredClone(L(b, 'e3'))),
    failures: ['e3:link-duplicate'],
    message: /^two links admit the same element$/,
    valid: ['e3'],
  },
  {
    name: 'an element no link admits',
    tamper: (b) =>
      b.links.splice(
        b.links.findIndex((l) => l.child === 'e3'),
        1,
      ),
    failures: ['e3:link-structure'],
    message: /^no link admits this element$/,
    v1only: true,
  },
  {
    name: 'a link whose parent no link admits',
    tamper: (b, s) => {
      resign(s, L(b, 'e3'));
      L(b, 'e3').parent = 'ghost';
      E(b, 'e3').parent = 'ghost';
    },
    failures: ['e3:link-structure'],
    message: /^not reachable from the first enclave$/,
  },
  {
    name: 'a platform element named wrongly',
    tamper: (b) => (E(b, 'qe:a2').parent = 'platform:a1'),
    failures: ['qe:a2:link-structure'],
    message: /^a qe element must be qe:a2 with parent platform:a2$/,
    v1only: true,
  },
  {
    name: 'a platform with an FMSPC other than its quotes',
    tamper: (b) => (E(b, 'platform:a2').fmspc = '000000000000'),
    failures: ['platform:a2:link-structure'],
    message: /^FMSPC 000000000000 differs from the quotes' 00906ed50000$/,
  },
  {
    name: 'a platform no enclave runs on',
    tamper: (b) =>
      b.elements.push(
        { id: 'platform:a7', kind: 'platform', parent: null, platform: 'a7' },
        { id: 'qe:a7', kind: 'qe', parent: 'platform:a7', platform: 'a7' },
      ),
    failures: ['platform:a7:link-structure', 'qe:a7:link-structure'],
    message: /^no enclave element runs on platform a7$/,
  },
  {
    name: 'a revoked element',
    chain: () => {
      const s = sgx();
      s.revoke('e2');
      return s;
    },
    tamper: () => {},
    failures: ['e2:revoked'],
    message: /^element revoked: test$/,
    invalid: ['e3'],
  },
  {
    name: 'a revoked platform',
    chain: () => {
      const s = sgx();
      s.revoke('platform:a2');
      return s;
    },
    tamper: () => {},
    failures: ['e3:revoked'],
    message: /^platform a2 revoked: test$/,
  },
  {
    name: 'a revoked quoting enclave',
    chain: () => {
      const s = sgx();
      s.revoke('qe:a1');
      return s;
    },
    tamper: () => {},
    failures: ['e1:revoked'],
    message: /^quoting enclave of platform a1 revoked: test$/,
    invalid: ['e2', 'e3'],
  },
  {
    name: 'a revocation not signed by the owner',
    chain: () => {
      const s = sgx();
      s.revoke('e2');
      return s;
    },
    tamper: (b) => (b.revocations[0].reason = 'other'),
    failures: ['e2:revocation-signature'],
    message: /^revocation is not signed by the chain owner$/,
    valid: ['e2'],
  },
  {
    name: 'a revocation whose signature is not 64 bytes of hex',
    chain: () => {
      const s = sgx();
      s.revoke('e2');
      return s;
    },
    tamper: (b) => (b.revocations[0].signature = b.revocations[0].signature.toUpperCase()),
    failures: ['e2:revocation-signature'],
    valid: ['e2'],
    v1only: true,
  },
  {
    name: 'a revocation with no canonical form',
    chain: () => {
      const s = sgx();
      s.revoke('e2');
      return s;
    },
    tamper: (b) => ((b.revocations[0] as unknown as { extra: number }).extra = 1.5),
    failures: ['e2:revocation-signature'],
    valid: ['e2'],
    v1only: true,
  },
  // Policies.
  { name: 'a DEBUG enclave', chain: () => dbg({}), tamper: () => {}, failures: ['e2:policy-debug'] },
  { name: 'a DEBUG enclave the policy allows', chain: () => dbg({ allowDebug: true }), tamper: () => {}, failures: [] },
  {
    name: 'a DEBUG enclave allowed at another depth only',
    chain: () => dbg({ byDepth: { '1': { allowDebug: true } } }),
    tamper: () => {},
    failures: ['e2:policy-debug'],
  },
  {
    name: 'an identity outside the policy',
    chain: () => sgx({ identities: [{ mrEnclave: ['00'.repeat(32)] }, { minIsvSvn: 3 }] }),
    tamper: () => {},
    failures: ['e1:policy-identity'],
    // Every identity's reason, in order.
    message: new RegExp(
      `^MRENCLAVE ${hex(Uint8Array.from({ length: 32 }, (_, i) => (131 + i * 7) & 0xff))} is not in the policy; ` +
        'ISVSVN 2 is below the minimum 3$',
    ),
    invalid: ['e2', 'e3'],
  },
  {
    name: 'an empty identity list: no identity check',
    chain: () => sgx({ identities: [] }),
    tamper: () => {},
    failures: [],
  },
  {
    name: 'a DEBUG enclave the policy allows, checked against an identity that does not say',
    chain: () => dbg({ allowDebug: true, identities: [{ mrSigner: MRSIGNER }] }),
    tamper: () => {},
    failures: [],
  },
  {
    name: 'a DEBUG enclave the policy allows, an identity that refuses DEBUG: the policy-wide allowDebug wins',
    chain: () => dbg({ allowDebug: true, identities: [{ mrSigner: MRSIGNER, allowDebug: false }] }),
    tamper: () => {},
    failures: [],
  },
  {
    name: 'an identity the policy lists',
    chain: () =>
      sgx({
        identities: [
          { mrEnclave: ['00'.repeat(32)] },
          { minIsvSvn: 2, mrSigner: hex(Uint8Array.from({ length: 32 }, (_, i) => (2 * 131 + i * 7) & 0xff)) },
        ],
      }),
    tamper: () => {},
    failures: [],
  },
  { name: 'deeper than maxDepth', chain: () => sgx({ maxDepth: 2 }), tamper: () => {}, failures: ['e3:policy-depth'] },
  { name: 'exactly maxDepth', chain: () => sgx({ maxDepth: 3 }), tamper: () => {}, failures: [] },
  {
    name: 'a link type the policy refuses',
    chain: () => sgx({ linkTypes: ['remote'] }),
    tamper: () => {},
    failures: ['e2:policy-link-type'],
    invalid: ['e3'],
  },
  {
    name: 'a TCB status the policy refuses',
    chain: () => tcb({}),
    tamper: () => {},
    failures: ['e2:policy-tcb-status'],
    message: /^TCB status SWHardeningNeeded is not accepted \(UpToDate\)$/,
  },
  {
    name: 'a TCB status refused by the policy at its depth, with the statuses accepted there',
    chain: () => tcb({ byDepth: { '2': { acceptedTcbStatuses: ['OutOfDate', 'ConfigurationNeeded'] } } }),
    tamper: () => {},
    failures: ['e2:policy-tcb-status'],
    message: /^TCB status SWHardeningNeeded is not accepted \(OutOfDate, ConfigurationNeeded\)$/,
  },
  {
    name: 'a TD whose TCB status the policy at its depth refuses',
    chain: () => layered({ byDepth: { '2': { acceptedTcbStatuses: ['OutOfDate'] } } }),
    tamper: () => {},
    failures: ['td1:policy-tcb-status'],
    message: /^TCB status UpToDate is not accepted \(OutOfDate\)$/,
    invalid: ['w1', 'w2'],
  },
  {
    name: 'a TCB status the policy accepts, with advisories it does not list',
    chain: () => tcb({ acceptedTcbStatuses: ['UpToDate', 'SWHardeningNeeded'], acceptedAdvisories: ['INTEL-SA-1'] }),
    tamper: () => {},
    failures: ['e2:policy-advisories'],
    message: /^advisories not accepted: INTEL-SA-2$/,
  },
  {
    name: 'advisories none of which the policy lists: each named',
    chain: () => tcb({ acceptedTcbStatuses: ['UpToDate', 'SWHardeningNeeded'], acceptedAdvisories: [] }),
    tamper: () => {},
    failures: ['e2:policy-advisories'],
    message: /^advisories not accepted: INTEL-SA-1, INTEL-SA-2$/,
  },
  {
    name: 'a TCB status and advisories the policy accepts',
    chain: () =>
      tcb({ acceptedTcbStatuses: ['UpToDate', 'SWHardeningNeeded'], acceptedAdvisories: ['INTEL-SA-1', 'INTEL-SA-2'] }),
    tamper: () => {},
    failures: [],
  },
  // TDs and workloads.
  {
    name: 'a TD quote for an SGX identity',
    chain: layered,
    tamper: (b, s) => {
      const sgxId = structuredClone(L(b, 'e1').childIdentity);
      resign(s, Object.assign(L(b, 'td1'), { childIdentity: sgxId }));
      Object.assign(E(b, 'td1'), { kind: 'enclave', identity: sgxId });
    },
    failures: ['td1:evidence-kind'],
    message: /^a TD quote admits a tdx-td element, not a sgx-enclave$/,
    v1only: true,
    invalid: ['w1', 'w2'],
  },
  {
    name: 'an SGX quote for a TD identity',
    chain: layered,
    tamper: (b, s) => {
      // The SGX enclave's accepted quote, as if from the TD's platform.
      const quote = '5a'.repeat(600);
      s.results.set(quote, {
        ...s.results.get((L(b, 'e1').evidence as { quote: string }).quote)!,
        platform: 'a3',
      } as RemoteEvidenceResult);
      resign(s, Object.assign(L(b, 'td1'), { evidence: { ...L(b, 'td1').evidence, quote } }));
    },
    failures: ['td1:evidence-kind', 'platform:a3:link-structure'],
    message: /^an SGX quote admits an sgx-enclave element, not a tdx-td$/,
    invalid: ['w1', 'w2'],
  },
  {
    name: 'a TD link without its event log',
    chain: layered,
    tamper: (b, s) => {
      delete (L(b, 'td1').evidence as { eventLog?: string }).eventLog;
      resign(s, L(b, 'td1'));
    },
    failures: ['td1:td-event-log'],
    message: /^a TD's remote link carries its event log$/,
    invalid: ['w1', 'w2'],
  },
  {
    name: 'a TD event log that does not replay to its RTMRs',
    chain: layered,
    tamper: (b, s) => {
      const { events } = s.tds.get('td1')!;
      const log = writeEventLog([
        ...events,
        { mrIndex: 2, eventType: EV.IPL, digest: sha384(new Uint8Array(1)), data: new Uint8Array(0) },
      ]);
      (L(b, 'td1').evidence as { eventLog?: string }).eventLog = hex(log);
      resign(s, L(b, 'td1'));
    },
    failures: ['td1:td-event-log'],
    invalid: ['w1', 'w2'],
  },
  {
    name: 'a TD quote whose REPORTDATA binds another nonce',
    chain: layered,
    tamper: (b, s) => resign(s, Object.assign(L(b, 'td1'), { nonce: '00'.repeat(32) })),
    failures: ['td1:key-binding'],
    message: /^REPORTDATA does not bind the element key and the parent nonce$/,
    invalid: ['w1', 'w2'],
  },
  {
    name: 'a DEBUG TD',
    chain: () => {
      const s = new SynthChain();
      s.remoteSgx('e1', null, 'a1');
      s.td('td1', 'e1', 'a3', { debug: true });
      return s;
    },
    tamper: () => {},
    failures: ['td1:policy-td-debug'],
  },
  {
    name: 'a TD deeper than maxDepth',
    chain: () => layered({ maxDepth: 1 }),
    tamper: () => {},
    failures: ['td1:policy-depth'],
    invalid: ['w1', 'w2'],
  },
  {
    name: 'a TD outside the MRTD allow-list',
    chain: () => layered({ tdx: { mrTd: ['00'.repeat(48)] } }),
    tamper: () => {},
    failures: ['td1:policy-td-mrTd'],
    invalid: ['w1', 'w2'],
  },
  {
    name: 'a TD admitted by a local link',
    chain: layered,
    tamper: (b, s) => resign(s, Object.assign(L(b, 'td1'), { type: 'local' })),
    failures: ['td1:link-type'],
    message: /^a tdx-td cannot be admitted by a local link$/,
    v1only: true,
    invalid: ['w1', 'w2'],
  },
  {
    name: 'a workload whose image the policy does not list',
    chain: () => layered({ workloads: { imageDigests: ['sha256:aa'] } }),
    tamper: () => {},
    failures: ['w2:policy-workload-image'],
  },
  {
    name: 'a workload deeper than maxDepth',
    chain: () => layered({ maxDepth: 2 }),
    tamper: () => {},
    failures: ['w1:policy-depth', 'w2:policy-depth'],
  },
  {
    name: 'a workload naming an event its TD log does not have',
    chain: layered,
    tamper: (b, s) => {
      resign(
        s,
        Object.assign(L(b, 'w2'), {
          childIdentity: { kind: 'td-workload', imageDigest: 'sha256:bb', event: 3 },
          evidence: { ...L(b, 'w2').evidence, event: 3 },
        }),
      );
      E(b, 'w2').identity = L(b, 'w2').childIdentity;
    },
    failures: ['w2:workload-measured'],
  },
  {
    name: 'a workload whose evidence names another event than its identity',
    chain: layered,
    tamper: (b, s) => resign(s, Object.assign(L(b, 'w2'), { evidence: { ...L(b, 'w2').evidence, event: 1 } })),
    failures: ['w2:link-structure'],
  },
  {
    name: 'a workload measured by another event (RTMR0)',
    chain: layered,
    tamper: (b, s) => {
      resign(
        s,
        Object.assign(L(b, 'w2'), {
          childIdentity: { kind: 'td-workload', imageDigest: 'sha256:bb', event: 0 },
          evidence: { ...L(b, 'w2').evidence, event: 0 },
        }),
      );
      E(b, 'w2').identity = L(b, 'w2').childIdentity;
    },
    failures: ['w2:workload-measured'],
  },
  {
    name: "a workload claiming another workload's event",
    chain: layered,
    tamper: (b, s) => {
      resign(
        s,
        Object.assign(L(b, 'w2'), {
          childIdentity: { kind: 'td-workload', imageDigest: 'sha256:bb', event: 1 },
          evidence: { ...L(b, 'w2').evidence, event: 1 },
        }),
      );
      E(b, 'w2').identity = L(b, 'w2').childIdentity;
    },
    failures: ['w2:workload-measured'],
  },
  {
    name: 'a workload carrying a REPORT',
    chain: layered,
    tamper: (b, s) =>
      resign(s, Object.assign(L(b, 'w2'), { evidence: { kind: 'sgx-report', report: '00'.repeat(432) } })),
    failures: ['w2:evidence-format'],
    message: /^a measured link carries a TD event$/,
    v1only: true,
  },
  {
    name: 'a workload under an SGX enclave',
    chain: layered,
    tamper: (b, s) => {
      const l = L(b, 'w2');
      l.parent = 'e1';
      E(b, 'w2').parent = 'e1';
      E(b, 'w2').platform = 'a1';
      l.childPlatform = 'a1';
      s.keys.set('e1', s.keys.get('e1')!);
      resign(s, l);
    },
    failures: ['w2:link-type'],
  },
  {
    name: "a workload on another platform than its TD's",
    chain: layered,
    tamper: (b, s) => {
      resign(s, Object.assign(L(b, 'w2'), { childPlatform: 'a1' }));
      E(b, 'w2').platform = 'a1';
    },
    failures: ['w2:link-structure'],
    message: /^a workload runs on its TD's platform a3, not a1$/,
  },
  {
    name: 'a platform element with an id Chain would not give it',
    tamper: (b) => (E(b, 'qe:a2').id = 'quoting:a2'),
    failures: ['quoting:a2:link-structure'],
    message: /^a qe element must be qe:a2 with parent platform:a2$/,
    v1only: true,
  },
  {
    name: 'a QE element carrying an FMSPC: informational, not compared',
    tamper: (b) => (E(b, 'qe:a2').fmspc = '000000000000'),
    failures: [],
    v1only: true,
  },
  {
    name: 'a platform element without its FMSPC',
    tamper: (b) => delete E(b, 'platform:a2').fmspc,
    failures: [],
  },
  {
    name: "an element identity with a field no check reads (the link's is the signed one)",
    tamper: (b) => ((E(b, 'e2').identity as unknown as { note: string }).note = 'informational'),
    failures: [],
    v1only: true,
  },
  {
    name: 'an SGX enclave admitted by a local link under a TD',
    chain: () => {
      const s = layered();
      s.localSgx('x', 'td1');
      return s;
    },
    tamper: () => {},
    failures: ['x:link-type'],
    message: /^a local link \(SGX REPORT\) has an SGX enclave as parent, not a tdx-td$/,
  },
  {
    name: 'a workload admitted by the owner',
    chain: layered,
    tamper: (b, s) => {
      resign(s, Object.assign(L(b, 'w2'), { parent: null }));
      E(b, 'w2').parent = null;
    },
    failures: ['w2:link-type'],
    message: /^a measured link's parent is a TD$/,
  },
  {
    name: 'a TD whose link and element claim another MRTD than its quote',
    chain: layered,
    tamper: (b, s) => {
      const mrTd = '00'.repeat(48);
      (L(b, 'td1').childIdentity as { mrTd: string }).mrTd = mrTd;
      (E(b, 'td1').identity as { mrTd: string }).mrTd = mrTd;
      resign(s, L(b, 'td1'));
    },
    failures: ['td1:link-structure'],
    message: /^link identity differs from the evidence$/,
    invalid: ['w1', 'w2'],
  },
  {
    name: 'a TD event log that does not parse',
    chain: layered,
    tamper: (b, s) => {
      (L(b, 'td1').evidence as { eventLog?: string }).eventLog = 'ff';
      resign(s, L(b, 'td1'));
    },
    failures: ['td1:td-event-log'],
    message: /^the event log does not parse: /,
    invalid: ['w1', 'w2'],
  },
  {
    name: 'a TD element without its link: its workloads are ancestors-failed, kinds still reported',
    chain: layered,
    tamper: (b) =>
      b.links.splice(
        b.links.findIndex((l) => l.child === 'td1'),
        1,
      ),
    failures: ['td1:link-structure', 'w1:link-structure', 'w2:link-structure'],
    message: /^no link admits this element$/,
    v1only: true,
  },
  {
    name: 'a workload with no link in a layered chain',
    chain: layered,
    tamper: (b) =>
      b.links.splice(
        b.links.findIndex((l) => l.child === 'w2'),
        1,
      ),
    failures: ['w2:link-structure'],
    v1only: true,
  },
  {
    name: 'a revocation signature followed by more text',
    chain: () => {
      const s = sgx();
      s.revoke('e2');
      return s;
    },
    tamper: (b) => (b.revocations[0].signature += 'zz'),
    failures: ['e2:revocation-signature'],
    valid: ['e2'],
    v1only: true,
  },
  {
    name: 'a revocation signature after a prefix',
    chain: () => {
      const s = sgx();
      s.revoke('e2');
      return s;
    },
    tamper: (b) => (b.revocations[0].signature = 'zz' + b.revocations[0].signature),
    failures: ['e2:revocation-signature'],
    valid: ['e2'],
    v1only: true,
  },
  {
    name: 'no link admitted by the owner',
    tamper: (b) =>
      b.links.splice(
        b.links.findIndex((l) => l.child === 'e1'),
        1,
      ),
    failures: ['e1:link-structure', 'e2:link-structure', 'e3:link-structure'],
    message: /^no link admits this element$/,
    v1only: true,
  },
  {
    name: 'a link field with no canonical form (a lone surrogate)',
    tamper: (b) => (L(b, 'e3').at = '\ud800'),
    failures: ['e3:format'],
    message: /^link is not canonical JSON: ./,
    v1only: true,
  },
];

/** The MRSIGNER of every synthetic enclave (test/helpers/synthetic-chain.ts). */
const MRSIGNER = hex(Uint8Array.from({ length: 32 }, (_, i) => (2 * 131 + i * 7) & 0xff));

function dbg(policy: ChainPolicy): SynthChain {
  const s = new SynthChain(policy);
  s.remoteSgx('e1', null, 'a1');
  s.localSgx('e2', 'e1', { debug: true });
  return s;
}

function tcb(policy: ChainPolicy): SynthChain {
  const s = new SynthChain(policy);
  s.remoteSgx('e1', null, 'a1');
  s.remoteSgx('e2', 'e1', 'a2', { tcbStatus: 'SWHardeningNeeded', advisoryIds: ['INTEL-SA-1', 'INTEL-SA-2'] });
  return s;
}

function prepare(c: Case) {
  const s = (c.chain ?? sgx)();
  const b = s.bundle();
  c.tamper(b, s);
  const failed = new Set([...c.failures.map((f) => f.split(':')[0]), ...(c.invalid ?? [])]);
  for (const v of c.valid ?? []) failed.delete(v);
  const members = b.elements.filter((e) => e.kind !== 'platform' && e.kind !== 'qe');
  return { s, b, failed, members };
}

for (const c of CASES) {
  test(`check by check: ${c.name}`, async () => {
    const { s, b, failed, members } = prepare(c);
    const r = await verifyBundle(b, s.opts(c.ms));
    assert.deepEqual(named(r), c.failures);
    assert.match(r.failures[0]?.message ?? '', c.message ?? /^/);
    // Every failure says what failed; an invalid element's own cause is its failure.
    for (const f of r.failures) assert.notEqual(f.message, '');
    const own = r.failures.filter((f) => r.elements[f.link]?.cause?.startsWith('ancestor ') === false);
    for (const f of own)
      assert.ok(r.elements[f.link].cause!.endsWith(f.message), `${f.link}: ${r.elements[f.link].cause}`);
    for (const e of members) assert.equal(r.elements[e.id]?.valid, !failed.has(e.id), `${e.id}`);
    assert.equal(r.valid, c.failures.length === 0);
  });
}

// The same cases written as v2 (those a v2 bundle can carry: its elements are its links').
for (const c of CASES.filter((c) => !c.v1only)) {
  test(`check by check, v2: ${c.name}`, async () => {
    const { s, b, failed, members } = prepare(c);
    const r2 = await verifyBundleV2([s.v2(b)], s.opts(c.ms));
    assert.deepEqual(named(r2), c.failures);
    assert.match(r2.failures[0]?.message ?? '', c.message ?? /^/);
    for (const e of members) assert.equal(r2.elements[e.id]?.valid, !failed.has(e.id), `v2 ${e.id}`);
    assert.equal(r2.valid, c.failures.length === 0);
  });
}

test('the header: another root, a bad signature, another owner; an owner pinned in upper case is the same', async () => {
  const s = sgx();
  const run = async (b: ProofBundle, o: Partial<ReturnType<SynthChain['opts']> & { expectOwner: string }> = {}) => {
    const v1 = await verifyBundle(b, { ...s.opts(), ...o });
    const v2 = await verifyBundleV2([s.v2(b)], { ...s.opts(), ...o });
    assert.deepEqual(
      v2.failures.map((f) => f.check),
      v1.failures.map((f) => f.check),
    );
    assert.equal(v2.valid, v1.valid);
    return v1;
  };
  const refused = (check: string, size: number) => ({
    valid: false,
    size,
    links: { local: 0, remote: 0 },
    failures: [{ link: '-', check }],
    elements: {},
    emulatedRoot: true,
  });
  const strip = (r: ChainVerification) => ({ ...r, failures: r.failures.map(({ link, check }) => ({ link, check })) });
  assert.deepEqual(strip(await run(s.bundle(), { root: new Uint8Array(3) })), refused('root-anchor', 7));
  assert.equal(
    (await verifyBundle(s.bundle(), { ...s.opts(), root: new Uint8Array(3) })).failures[0].message,
    'the chain is anchored at another root certificate',
  );
  const b = s.bundle();
  b.chain.name = 'renamed';
  assert.deepEqual(strip(await run(b)), refused('header-signature', 7));
  assert.equal((await verifyBundle(b, s.opts())).failures[0].message, 'chain header signature does not verify');
  // A header field with no canonical form: header-signature, named so.
  const u = s.bundle();
  u.chain.name = '\ud800';
  assert.deepEqual(
    (await verifyBundle(u, s.opts())).failures.map((f) => [f.check, f.message.replace(/: .*/, '')]),
    [['header-signature', 'chain header is not canonical JSON']],
  );
  assert.deepEqual(strip(await run(s.bundle(), { expectOwner: otherKey() })), refused('owner', 7));
  assert.equal((await run(s.bundle(), { expectOwner: s.ownerKey.toUpperCase() })).valid, true);
  assert.equal((await run(s.bundle(), { expectOwner: s.ownerKey })).valid, true);
  const shape = await verifyBundle({ ...s.bundle(), version: 2 }, s.opts());
  assert.deepEqual(strip(shape), { ...refused('bundle-format', 0), emulatedRoot: false });
});

test('a header signed by the owner with a key that is not a P-256 point: key-format', async () => {
  const s = sgx();
  const b = s.bundle();
  b.chain.ownerKey = '00'.repeat(64);
  b.chain.signature = hex(p256Sign(s.owner.privateKey, headerSigningBytes(b.chain)));
  assert.deepEqual(
    (await verifyBundle(b, s.opts())).failures.map((f) => [f.check, f.message.slice(0, 11)]),
    [['key-format', 'owner key: ']],
  );
});

test('LinkChecker: a parent on a platform (or QE) revoked after it was admitted fails its children as ancestor', async () => {
  for (const [revoke, message] of [
    ['platform:a1', 'ancestor e1 invalid: platform a1 revoked: later'],
    ['qe:a1', 'ancestor e1 invalid: quoting enclave of platform a1 revoked: later'],
  ]) {
    const s = sgx();
    const b = s.bundle();
    const owner = (await import('../../../src/crypto/ecdsa.ts')).p256PublicFromRaw(Buffer.from(s.ownerKey, 'hex'));
    const checker = new LinkChecker(b.chain, owner, new Map(b.elements.map((e) => [e.id, e])), b.collateral, s.remote);
    assert.equal(await checker.check(L(b, 'e1'), s.now), undefined);
    checker.revoked.set(revoke, 'later');
    assert.deepEqual(await checker.check(L(b, 'e2'), s.now), { link: 'e2', check: 'ancestor', message });
    assert.equal(checker.invalid.get('e2'), message);
    // A child of a failed element: ancestor, with the parent's cause.
    assert.deepEqual(await checker.check(L(b, 'e3'), s.now), {
      link: 'e3',
      check: 'ancestor',
      message: `ancestor e2 invalid: ${message}`,
    });
    assert.deepEqual(checker.counts, { local: 0, remote: 1 });
  }
});

test('LinkChecker: a link whose parent was never admitted is an ancestor failure; a link of an element not a member is link-structure', async () => {
  const s = sgx();
  const b = s.bundle();
  const owner = (await import('../../../src/crypto/ecdsa.ts')).p256PublicFromRaw(Buffer.from(s.ownerKey, 'hex'));
  const els = new Map(b.elements.map((e) => [e.id, e]));
  const checker = new LinkChecker(b.chain, owner, els, b.collateral, s.remote);
  assert.deepEqual(await checker.check(L(b, 'e2'), s.now), {
    link: 'e2',
    check: 'ancestor',
    message: 'ancestor e1 invalid: not admitted',
  });
  els.set('e1', { ...els.get('e1')!, kind: 'platform' });
  assert.equal((await checker.check(L(b, 'e1'), s.now))?.check, 'link-structure');
  els.set('e1', { ...els.get('e1')!, kind: 'tdx-td' });
  assert.deepEqual(await checker.check(L(b, 'e1'), s.now), {
    link: 'e1',
    check: 'link-structure',
    message: "element kind tdx-td differs from its link's sgx-enclave",
  });
});

test('a service-TD-bound TD is refused unless the policy allows it', async () => {
  const make = (policy: ChainPolicy) => {
    const s = new SynthChain(policy);
    s.remoteSgx('e1', null, 'a1');
    s.td('td1', 'e1', 'a3', { mrServiceTd: new Uint8Array(48).fill(1) });
    return s;
  };
  const refused = make({});
  assert.deepEqual(named(await verifyBundle(refused.bundle(), refused.opts())), ['td1:policy-serviceTd']);
  const allowed = make({ tdx: { allowServiceTd: true } });
  assert.deepEqual(named(await verifyBundle(allowed.bundle(), allowed.opts())), []);
});

async function checkerOf(
  s: SynthChain,
  b: ProofBundle,
  o: { prefetched?: ConstructorParameters<typeof LinkChecker>[5] } = {},
) {
  const { p256PublicFromRaw } = await import('../../../src/crypto/ecdsa.ts');
  const owner = p256PublicFromRaw(Buffer.from(s.ownerKey, 'hex'));
  return new LinkChecker(
    b.chain,
    owner,
    new Map(b.elements.map((e) => [e.id, e])),
    b.collateral,
    s.remote,
    o.prefetched,
  );
}

test('LinkChecker: a prefetched signature verdict is the verdict (never asked for the first link)', async () => {
  const s = sgx();
  const b = s.bundle();
  const asked: string[] = [];
  const checker = await checkerOf(s, b, {
    prefetched: (l, key) => {
      asked.push(`${l.child}:${hex(key) === L(b, l.parent!).childKey}`);
      return Promise.resolve(false);
    },
  });
  assert.equal(await checker.check(L(b, 'e1'), s.now), undefined);
  assert.deepEqual(await checker.check(L(b, 'e2'), s.now), {
    link: 'e2',
    check: 'link-signature',
    message: 'link is not signed by the parent element key',
  });
  assert.deepEqual(asked, ['e2:true']);
  // undefined: no verdict, the checker verifies itself.
  const self = await checkerOf(s, b, { prefetched: () => undefined });
  for (const id of ['e1', 'e2', 'e3']) assert.equal(await self.check(L(b, id), s.now), undefined, id);
});

test('LinkChecker: a nonce taken while a prefetched verdict was awaited is reuse', async () => {
  const s = new SynthChain();
  s.remoteSgx('e1', null, 'a1');
  s.localSgx('e2', 'e1');
  s.localSgx('e3', 'e1');
  const b = s.bundle();
  resign(s, Object.assign(L(b, 'e3'), { nonce: L(b, 'e2').nonce }));
  const checker = await checkerOf(s, b, { prefetched: () => Promise.resolve(true) });
  assert.equal(await checker.check(L(b, 'e1'), s.now), undefined);
  const [r2, r3] = await Promise.all([checker.check(L(b, 'e2'), s.now), checker.check(L(b, 'e3'), s.now)]);
  assert.equal(r2, undefined);
  assert.deepEqual(r3, {
    link: 'e3',
    check: 'nonce-reuse',
    message: 'the challenge nonce was already used in this chain',
  });
});

test('LinkChecker: keeps the last quote it decoded; passes reuse to the remote verifier only when asked', async () => {
  const s = sgx();
  const b = s.bundle();
  const seen: unknown[] = [];
  const checker = await checkerOf(s, b);
  const remote = s.remote;
  (checker as unknown as { remote: typeof remote }).remote = {
    verify: (q, c, at, o) => {
      seen.push(o);
      return remote.verify(q, c, at, o);
    },
  };
  const last = () => checker.lastQuote;
  assert.equal(last(), undefined);
  assert.equal(await checker.check(L(b, 'e1'), s.now, { reuseVerification: true }), undefined);
  const q1 = (L(b, 'e1').evidence as { quote: string }).quote;
  assert.deepEqual(last(), { hex: q1, bytes: Uint8Array.from(Buffer.from(q1, 'hex')) });
  assert.equal(await checker.check(L(b, 'e2'), s.now), undefined);
  assert.equal(await checker.check(L(b, 'e3'), s.now), undefined);
  assert.equal(last()?.hex, (L(b, 'e3').evidence as { quote: string }).quote);
  assert.deepEqual(seen, [{ reuse: true }, undefined]);
  assert.deepEqual(checker.counts, { local: 1, remote: 2 });
  assert.equal(checker.measured, 0);
  assert.deepEqual([...checker.platforms.keys()], ['a1', 'a2']);
  assert.equal(checker.platforms.get('a2')?.fmspc, '00906ed50000');
});

test('a remote verifier that throws: the error propagates, it is not turned into a failure', async () => {
  const s = sgx();
  const boom = new Error('verifier crashed');
  await assert.rejects(
    verifyBundle(s.bundle(), {
      ...s.opts(),
      remote: {
        verify: () => {
          throw boom;
        },
      },
    }),
    (e) => e === boom,
  );
  await assert.rejects(
    verifyBundleV2([s.v2()], {
      ...s.opts(),
      remote: {
        verify: () => {
          throw boom;
        },
      },
    }),
    (e) => e === boom,
  );
  const { checkHeader } = await import('../../../src/chain/verify-bundle.ts');
  assert.throws(() => checkHeader(s.bundle().chain, undefined as unknown as Uint8Array), TypeError);
});

test('chains with a TD report kinds (with no workload too; with the TD element gone too)', async () => {
  const s = new SynthChain();
  s.remoteSgx('e1', null, 'a1');
  s.td('td1', 'e1', 'a3');
  const r = await verifyBundle(s.bundle(), s.opts());
  assert.equal(r.valid, true);
  assert.deepEqual(r.kinds, { 'sgx-enclave': 1, 'tdx-td': 1 });
  assert.equal(r.elements.td1.kind, 'tdx-td');
  const l = layered();
  const b = l.bundle();
  b.elements.splice(
    b.elements.findIndex((e) => e.id === 'td1'),
    1,
  );
  const r2 = await verifyBundle(b, l.opts());
  assert.deepEqual(r2.kinds, { 'sgx-enclave': 1, 'td-workload': 2 });
  assert.deepEqual(named(r2), ['td1:link-structure']);
  assert.equal(r2.elements.w1.kind, 'td-workload');
});

test('LinkChecker: a hex field that does not decode fails `format`, naming the field (never a TypeError)', async () => {
  const cases: Array<[string, (b: ProofBundle, s: SynthChain) => Link, string]> = [
    [
      'link signature',
      (b) => Object.assign(L(b, 'e1'), { signature: 'zz'.repeat(64) }),
      'link signature: not a hex string',
    ],
    [
      'child key',
      (b, s) => resign(s, Object.assign(L(b, 'e1'), { childKey: 'zz'.repeat(64) })),
      'child key: not a hex string',
    ],
    ['nonce', (b, s) => resign(s, Object.assign(L(b, 'e1'), { nonce: 'zz'.repeat(32) })), 'nonce: not a hex string'],
    [
      'quote',
      (b, s) => resign(s, Object.assign(L(b, 'e1'), { evidence: { ...L(b, 'e1').evidence, quote: 'zz' } })),
      'quote: not a hex string',
    ],
  ];
  for (const [what, tamper, message] of cases) {
    const s = sgx();
    const b = s.bundle();
    const l = tamper(b, s);
    const checker = await checkerOf(s, b);
    assert.deepEqual(await checker.check(l, s.now), { link: 'e1', check: 'format', message }, what);
    assert.equal(checker.invalid.get('e1'), `format: ${message}`, what);
  }
  // A local link's REPORT: `format` too (a Fail is passed on as it is, not re-wrapped as evidence-format).
  const s = sgx();
  const b = s.bundle();
  const checker = await checkerOf(s, b);
  assert.equal(await checker.check(L(b, 'e1'), s.now), undefined);
  const l2 = resign(s, Object.assign(L(b, 'e2'), { evidence: { kind: 'sgx-report', report: 'zz' } }));
  assert.deepEqual(await checker.check(l2, s.now), {
    link: 'e2',
    check: 'format',
    message: 'report: not a hex string',
  });
});

test('checkHeader: a header signature that does not decode fails `format`, naming it', async () => {
  const { checkHeader } = await import('../../../src/chain/verify-bundle.ts');
  const s = sgx();
  const h = { ...s.bundle().chain, signature: 'zz'.repeat(64) };
  assert.deepEqual(checkHeader(h, ROOT), {
    ok: false,
    failure: { link: '-', check: 'format', message: 'header signature: not a hex string' },
  });
});

test('v2: a bundle that cannot be read, or whose header is malformed or refused: bundle-format (or the header check), exactly this result', async () => {
  const s = sgx();
  const bytes = s.v2();
  const none = { local: 0, remote: 0 };
  // Not a v2 bundle: nothing read, not even the header's emulatedRoot.
  assert.deepEqual(await verifyBundleV2([new TextEncoder().encode('{"format":1}')], s.opts()), {
    valid: false,
    size: 0,
    links: none,
    failures: [
      {
        link: '-',
        check: 'bundle-format',
        message: 'record 0: not a proof bundle v2 (magic)',
        record: 0,
        code: 'ERR_BUNDLE_FORMAT',
      },
    ],
    elements: {},
    emulatedRoot: false,
  });
  // Cut inside its last record (the trailer): every link was checked, the counts are the checker's.
  const cut = await verifyBundleV2([bytes.subarray(0, bytes.length - 1)], s.opts());
  assert.deepEqual(
    cut.failures.map(({ link, check, code }) => ({ link, check, code })),
    [{ link: '-', check: 'bundle-format', code: 'ERR_BUNDLE_TRUNCATED' }],
  );
  assert.equal(cut.valid, false);
  assert.deepEqual(cut.links, { local: 1, remote: 2 });
  assert.equal(cut.emulatedRoot, true);
  // Cut inside e3's link record: the links before it were checked as they were read (window 1).
  const sig = Buffer.from(L(s.bundle(), 'e3').signature, 'hex');
  const inE3 = Buffer.from(bytes).indexOf(sig) + 10;
  assert.ok(inE3 > 10, "e3's signature is in the bundle");
  const mid = await verifyBundleV2([bytes.subarray(0, inE3)], s.opts());
  assert.deepEqual(
    mid.failures.map(({ link, check, code }) => ({ link, check, code })),
    [{ link: '-', check: 'bundle-format', code: 'ERR_BUNDLE_TRUNCATED' }],
  );
  assert.deepEqual([mid.size, mid.links, Object.keys(mid.elements)], [2, { local: 1, remote: 1 }, ['e1', 'e2']]);
  // A header whose policy is malformed: refused before any link, the record named.
  const bad = new SynthChain({ maxDepth: -1 });
  bad.remoteSgx('e1', null, 'a1');
  assert.deepEqual(await verifyBundleV2([bad.v2()], bad.opts()), {
    valid: false,
    size: 0,
    links: none,
    failures: [
      {
        link: '-',
        check: 'bundle-format',
        message: 'chain policy is malformed: policy.maxDepth must be a non-negative integer',
        record: 1,
      },
    ],
    elements: {},
    emulatedRoot: false,
  });
  // A header the root refuses: the header's failure, nothing else.
  assert.deepEqual(await verifyBundleV2([bytes], { ...s.opts(), root: new Uint8Array(3) }), {
    valid: false,
    size: 0,
    links: none,
    failures: [{ link: '-', check: 'root-anchor', message: 'the chain is anchored at another root certificate' }],
    elements: {},
    emulatedRoot: true,
  });
});

test('v2: the kinds of a chain with a TD and no workload, an SGX enclave a TD admits, workloads whose TD has no link', async () => {
  const common = ['link-signature', 'nonce-reuse', 'evidence-age', 'policy-depth', 'policy-link-type'];
  const sgxChecks = [...common, 'quote', 'key-binding', 'policy-tcb-status', 'policy-debug', 'revoked'];
  const s = new SynthChain();
  s.remoteSgx('e1', null, 'a1');
  s.td('td1', 'e1', 'a3');
  s.remoteSgx('e2', 'td1', 'a2');
  const r = await verifyBundleV2([s.v2()], s.opts());
  assert.deepEqual(named(r), []);
  assert.deepEqual(r.kinds, { 'sgx-enclave': 2, 'tdx-td': 1 });
  // Listed before the TD was seen: its kind only; after: its checks too.
  assert.deepEqual(r.elements.e1, { valid: true, kind: 'sgx-enclave' });
  assert.equal(r.elements.td1.kind, 'tdx-td');
  assert.deepEqual(r.elements.e2, { valid: true, kind: 'sgx-enclave', checks: sgxChecks });
  const l = layered();
  l.remoteSgx('e9', 'e1', 'a2');
  const b2 = l.bundle();
  b2.links.splice(
    b2.links.findIndex((x) => x.child === 'td1'),
    1,
  );
  const r2 = await verifyBundleV2([l.v2(b2)], l.opts());
  assert.deepEqual(named(r2), ['w1:link-structure', 'w2:link-structure']);
  assert.deepEqual(r2.kinds, { 'sgx-enclave': 2, 'td-workload': 2 });
  assert.deepEqual(r2.elements.e1, { valid: true, kind: 'sgx-enclave' });
  // After workloads (no TD admitted): its checks are listed.
  assert.deepEqual(r2.elements.e9, { valid: true, kind: 'sgx-enclave', checks: sgxChecks });
  assert.deepEqual(r2.elements.w1.checks, [...common, 'workload-measured', 'revoked']);
});

test('v2 with a prefetcher: its signature verdicts and remote results are used, each link sent with its parent key, collateral and quote', async () => {
  const s = sgx();
  const q = (id: string) => (L(s.bundle(), id).evidence as { quote: string }).quote;
  const sent: string[] = [];
  const refused: RemoteEvidenceResult = { ok: false, check: 'prefetched', message: 'refused ahead' };
  const prefetcher = (mode: 'signature' | 'remote') => ({
    start: (batch: Array<{ link: Link; key?: Uint8Array; collateral?: unknown; quote?: Uint8Array }>) =>
      batch.map(({ link, key, collateral, quote }) => {
        sent.push(
          `${link.child} key:${key ? hex(key) === L(s.bundle(), link.parent!).childKey : '-'} ` +
            `collateral:${collateral === undefined ? '-' : collateral !== null} quote:${quote ? hex(quote) === q(link.child) : '-'}`,
        );
        return {
          // A verdict of its own for e3's signature (valid in fact), or a result of its own for e3's quote.
          signature: Promise.resolve(mode === 'remote' || link.child !== 'e3'),
          ...(mode === 'remote' && link.child === 'e3' ? { remote: Promise.resolve(refused) } : {}),
        };
      }),
  });
  for (const window of [undefined, 1, 2])
    for (const [mode, failures, verified] of [
      ['signature', ['e3:link-signature'], 1],
      ['remote', ['e3:quote:prefetched'], 1],
    ] as const) {
      sent.length = 0;
      s.verified = 0;
      const at = `window ${window}, ${mode}`;
      const r = await verifyBundleV2([s.v2()], {
        ...s.opts(),
        prefetch: prefetcher(mode),
        ...(window ? { window } : {}),
      });
      assert.deepEqual(named(r), failures, at);
      assert.deepEqual(r.links, { local: 1, remote: 1 }, at);
      assert.deepEqual(
        sent,
        [
          'e1 key:- collateral:true quote:true',
          'e2 key:true collateral:- quote:-',
          'e3 key:true collateral:true quote:true',
        ],
        at,
      );
      // Only e1's quote went to the remote verifier (e3's was refused ahead, or its link before).
      assert.equal(s.verified, verified, at);
    }
});

test('v2 with a prefetcher: a TD quote accepted ahead is verified again here (the prefetched result carries no TD report)', async () => {
  const s = layered();
  const tdQuote = (L(s.bundle(), 'td1').evidence as { quote: string }).quote;
  const prefetch = {
    start: (batch: Array<{ link: Link; quote?: Uint8Array }>) =>
      batch.map(({ quote }) => {
        if (!quote || hex(quote) !== tdQuote) return {};
        const { td: _td, ...rest } = s.results.get(tdQuote) as RemoteEvidenceResult & { td: unknown };
        return { remote: Promise.resolve(rest as RemoteEvidenceResult) };
      }),
  };
  s.verified = 0;
  const r = await verifyBundleV2([s.v2()], { ...s.opts(), prefetch });
  assert.deepEqual(named(r), []);
  assert.equal(r.valid, true);
  // e1's quote and td1's again.
  assert.equal(s.verified, 2);
});

test('v2: maxRecordBytes is the reader limit (a quote record above it: bundle-format ERR_BUNDLE_TOO_LARGE)', async () => {
  const s = sgx();
  const r = await verifyBundleV2([s.v2()], { ...s.opts(), maxRecordBytes: 200 });
  assert.deepEqual(
    r.failures.map(({ link, check, code }) => ({ link, check, code })),
    [{ link: '-', check: 'bundle-format', code: 'ERR_BUNDLE_TOO_LARGE' }],
  );
  assert.equal(r.valid, false);
});
