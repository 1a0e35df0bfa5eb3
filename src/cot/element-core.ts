/**
 * The logic of the element enclave (element-enclave.js imports it through `catena/cot/element-core`).
 * Runs inside the enclave: the element key's private half lives only here.
 */
import { ctEqual, fromHex, hex } from '../bytes/util.ts';
import { ReportMac, type ReportKeySource } from '../sgx/report-mac.ts';
import type { KeyObject } from 'node:crypto';
import { generateP256Scalar, p256SignerFromScalar, p256Sign } from '../crypto/ecdsa.ts';
import { parseReport, type ReportBody } from '../formats/report.ts';
import { ChainError } from '../chain/errors.ts';
import { checkElementPolicy } from '../chain/policy.ts';
import { elementReportData, linkSigningBytes } from '../chain/signing.ts';
import type { ChainPolicy, CollateralBlob, Link, LinkAppraisal } from '../chain/types.ts';
import { dcapRemoteVerifier } from './dcap-remote-verifier.ts';
import { appraiseTd, appraiseWorkload } from '../chain/appraise-layers.ts';
import { identityKind, isEnclaveIdentity } from '../chain/layers.ts';
import { checkMemberPolicy } from '../chain/policy.ts';
import type { TdEvent } from '../formats/tdx-event-log.ts';

/**
 * The element key, held as bytes: the public half X‖Y and the private scalar, made into a signing
 * KeyObject only when the element first signs (a child's link) — most elements of a chain never admit
 * a child, and an OpenSSL key costs ≈ 5.6 KB against ≈ 100 bytes. The scalar is zeroed once the signer exists.
 */
export interface ElementKey {
  publicRaw: Uint8Array;
  d: Uint8Array;
  signer?: KeyObject;
}

export function createElementKey(): ElementKey {
  return generateP256Scalar();
}

/** Signs with the element key (creating its signer on first use). */
export function signWithElementKey(key: ElementKey, data: Uint8Array): Uint8Array {
  if (!key.signer) {
    key.signer = p256SignerFromScalar(key.d, key.publicRaw);
    key.d.fill(0);
  }
  return p256Sign(key.signer, data);
}

export const elementEvidenceData = elementReportData;

import { identityOfBody } from '../chain/identity.ts';
export { identityOfBody };

const refuse = (check: string, message: string) =>
  new ChainError('ERR_CHAIN_LINK_REFUSED', `${check}: ${message}`, check);

function checkBindingAndIdentity(draft: Omit<Link, 'signature' | 'appraisal'>, body: ReportBody): void {
  const expected = elementReportData(
    draft.chain,
    fromHex(draft.childKey, 64, 'child key'),
    fromHex(draft.nonce, 32, 'nonce'),
  );
  if (!ctEqual(body.reportData, expected))
    throw refuse('key-binding', 'REPORTDATA does not bind the child key and our nonce');
  const id = identityOfBody(body);
  const d = draft.childIdentity;
  if (
    !isEnclaveIdentity(d) ||
    id.mrEnclave !== d.mrEnclave ||
    id.mrSigner !== d.mrSigner ||
    id.isvProdId !== d.isvProdId ||
    id.isvSvn !== d.isvSvn ||
    id.attributes !== d.attributes ||
    id.debug !== d.debug
  ) {
    throw refuse('link-structure', 'the draft identity differs from the evidence');
  }
}

/** Parent side of a local link: the child's REPORT must verify under our REPORT key. */
export async function admitLocal(
  ctx: ReportKeySource | ReportMac,
  key: ElementKey,
  draft: Omit<Link, 'signature'>,
  childReport: Uint8Array,
  policy: ChainPolicy,
  depth: number,
): Promise<string> {
  if (draft.type !== 'local' || draft.evidence.kind !== 'sgx-report') throw refuse('link-type', 'not a local link');
  if (draft.evidence.report !== hex(childReport)) throw refuse('link-structure', 'the draft carries other evidence');
  const report = parseReport(childReport);
  const mac = await (ctx instanceof ReportMac ? ctx : new ReportMac(ctx)).for(report.keyId);

  if (!ctEqual(mac.mac(report.rawBody), report.mac))
    throw refuse('report-mac', 'the child REPORT does not verify: another target, another platform, or altered');
  checkBindingAndIdentity(draft, report.body);
  const pol = checkElementPolicy(policy, depth, 'local', report.body);
  if (!pol.ok) throw refuse(pol.check, pol.message);
  return hex(signWithElementKey(key, linkSigningBytes(draft)));
}

/** Parent side of a remote link: the child's quote must verify (DCAP, against `root`) at `at`; our appraisal goes into the signed link. */
export async function admitRemote(
  key: ElementKey,
  draft: Omit<Link, 'signature' | 'appraisal'>,
  quote: Uint8Array,
  collateral: CollateralBlob,
  at: string,
  root: Uint8Array,
  policy: ChainPolicy,
  depth: number,
): Promise<{ appraisal: LinkAppraisal; signature: string }> {
  if (draft.type !== 'remote' || draft.evidence.kind !== 'dcap-quote') throw refuse('link-type', 'not a remote link');
  if (draft.evidence.quote !== hex(quote)) throw refuse('link-structure', 'the draft carries other evidence');
  const r = await dcapRemoteVerifier(root).verify(quote, collateral, new Date(at));
  if (!r.ok) throw refuse(`quote:${r.check}`, r.message);
  if (r.platform !== draft.childPlatform)
    throw refuse('link-structure', 'the draft names another platform than the quote');
  const tcb = { status: r.tcbStatus, advisoryIds: r.advisoryIds };
  if (r.tee === 'tdx') {
    // A TD child (issue 16): its event log replays, REPORTDATA binds its key, the TD policy holds.
    const td = appraiseTd({
      chainId: draft.chain,
      childKey: fromHex(draft.childKey, 64, 'child key'),
      nonce: fromHex(draft.nonce, 32, 'nonce'),
      identity: draft.childIdentity,
      td: r.td,
      eventLog: draft.evidence.eventLog,
      policy: policy.tdx,
    });
    if (!td.ok) throw refuse(td.check, td.message);
    const pol = checkMemberPolicy(policy, depth, 'remote', tcb);
    if (!pol.ok) throw refuse(pol.check, pol.message);
    const appraisal: LinkAppraisal = { verdict: 'accepted', tcbStatus: r.tcbStatus, advisoryIds: r.advisoryIds };
    return { appraisal, signature: hex(signWithElementKey(key, linkSigningBytes({ ...draft, appraisal }))) };
  }
  if (identityKind(draft.childIdentity) !== 'sgx-enclave')
    throw refuse(
      'evidence-kind',
      `an SGX quote admits an sgx-enclave element, not a ${identityKind(draft.childIdentity)}`,
    );
  checkBindingAndIdentity(draft, r.report);
  const pol = checkElementPolicy(policy, depth, 'remote', r.report, {
    status: r.tcbStatus,
    advisoryIds: r.advisoryIds,
  });
  if (!pol.ok) throw refuse(pol.check, pol.message);
  const appraisal: LinkAppraisal = { verdict: 'accepted', tcbStatus: r.tcbStatus, advisoryIds: r.advisoryIds };
  return { appraisal, signature: hex(signWithElementKey(key, linkSigningBytes({ ...draft, appraisal }))) };
}

/**
 * Parent side of a measured link (a TD admitting a workload it measured into RTMR3): `events` is the TD's
 * own event log, as its remote link carries it. The TD signs the link binding the workload's key.
 */
export function admitMeasured(
  key: ElementKey,
  draft: Omit<Link, 'signature'>,
  events: readonly TdEvent[],
  policy: ChainPolicy,
  depth: number,
): string {
  if (draft.type !== 'measured' || draft.evidence.kind !== 'td-event') throw refuse('link-type', 'not a measured link');
  const w = appraiseWorkload({
    identity: draft.childIdentity,
    evidence: draft.evidence,
    parentEvents: events,
    policy: policy.workloads,
  });
  if (w) throw refuse(w.check, w.message);
  const pol = checkMemberPolicy(policy, depth, 'measured');
  if (!pol.ok) throw refuse(pol.check, pol.message);
  return hex(signWithElementKey(key, linkSigningBytes(draft)));
}

/**
 * The element ECALLs (createKey, evidence, admitLocal, admitRemote) over one enclave's context: the
 * element enclave is exactly this table; an application enclave that is also a chain element spreads
 * it into its own. The element key lives in this closure and never leaves it.
 */
export function elementEcalls(
  ctx: ReportKeySource & { ereport(targetInfo: Uint8Array, reportData: Uint8Array): Promise<Uint8Array> },
) {
  let key: ElementKey | undefined;
  const reportMac = new ReportMac(ctx);
  const own = (): ElementKey => {
    if (!key) throw new ChainError('ERR_CHAIN_NO_ELEMENT_KEY', 'createKey has not been called in this enclave');
    return key;
  };
  return {
    /** Creates the element key inside the enclave; returns its public half (64-byte X‖Y). */
    createKey(): Uint8Array {
      key = createElementKey();
      return key.publicRaw;
    },
    /** The element key's public half (after createKey). */
    publicKey(): Uint8Array {
      return own().publicRaw;
    },
    /** A REPORT for `targetInfo` (the parent, or the QE) whose REPORTDATA binds the key, chain and nonce. */
    evidence(targetInfo: Uint8Array, chainId: string, nonce: Uint8Array): Promise<Uint8Array> {
      return ctx.ereport(targetInfo, elementEvidenceData(chainId, own().publicRaw, nonce));
    },
    /** As parent: checks a local child's REPORT (MAC under our REPORT key) and signs the link. */
    admitLocal(
      draft: Omit<Link, 'signature'>,
      childReport: Uint8Array,
      policy: ChainPolicy,
      depth: number,
    ): Promise<string> {
      return admitLocal(reportMac, own(), draft, childReport, policy, depth);
    },
    /** As parent: checks a remote child's quote with the DCAP verifier and signs the link. */
    admitRemote(
      draft: Omit<Link, 'signature' | 'appraisal'>,
      quote: Uint8Array,
      collateral: CollateralBlob,
      at: string,
      root: Uint8Array,
      policy: ChainPolicy,
      depth: number,
    ) {
      return admitRemote(own(), draft, quote, collateral, at, root, policy, depth);
    },
  };
}
