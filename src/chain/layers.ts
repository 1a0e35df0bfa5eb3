import { hex } from '../bytes/util.ts';
import { sha384 } from '../crypto/sha384.ts';
import type { TdReport10 } from '../formats/quote.ts';
import { canonicalJson } from '../json/canonical-json.ts';
import type {
  ChainPolicy,
  ElementIdentity,
  ElementKind,
  EnclaveIdentity,
  LayerKind,
  LinkType,
  TdIdentity,
} from './types.ts';

/**
 * One element/link model across layers (docs/chain.md, "Element kinds and link types"): chain members
 * are SGX enclaves (stored kind `enclave`, reported `sgx-enclave`), TDX trust domains (`tdx-td`) and
 * workloads measured into a TD's RTMR3 (`td-workload`); platforms and QEs (SGX QE or TD QE) place them.
 */
export const LAYER_KINDS: readonly LayerKind[] = ['sgx-enclave', 'tdx-td', 'td-workload'];

/** Whether an element of this stored kind is admitted by a link (a chain member). */
export function isMemberKind(kind: string): boolean {
  return kind === 'enclave' || kind === 'tdx-td' || kind === 'td-workload';
}

/** The reported kind of a member element; undefined for platforms and QEs. */
export function layerOf(kind: string): LayerKind | undefined {
  return kind === 'enclave' ? 'sgx-enclave' : kind === 'tdx-td' || kind === 'td-workload' ? kind : undefined;
}

/** The stored element kind of a layer kind. */
export function elementKindOf(k: LayerKind): ElementKind {
  return k === 'sgx-enclave' ? 'enclave' : k;
}

/** The kind an identity describes: one without `kind` is an SGX enclave's. */
export function identityKind(i: ElementIdentity): LayerKind {
  return 'kind' in i && (i.kind === 'tdx-td' || i.kind === 'td-workload') ? i.kind : 'sgx-enclave';
}

export function isEnclaveIdentity(i: ElementIdentity): i is EnclaveIdentity {
  return identityKind(i) === 'sgx-enclave';
}

/** TD_ATTRIBUTES.DEBUG: bit 0 of the first byte (Intel TDX Module ABI). */
export function tdDebug(tdAttributes: Uint8Array): boolean {
  return (tdAttributes[0] & 1) === 1;
}

/** A TD's identity as a chain records it, from the TD report of its verified quote. */
export function tdIdentityOf(td: TdReport10): TdIdentity {
  return {
    kind: 'tdx-td',
    mrTd: hex(td.mrTd),
    rtmr: td.rtmr.map(hex),
    tdAttributes: hex(td.tdAttributes),
    xfam: hex(td.xfam),
    mrConfigId: hex(td.mrConfigId),
    mrOwner: hex(td.mrOwner),
    mrOwnerConfig: hex(td.mrOwnerConfig),
    mrSeam: hex(td.mrSeam),
    debug: tdDebug(td.tdAttributes),
  };
}

/** Identities compared field by field (their canonical JSON); false for anything not canonical. */
export function sameElementIdentity(a: ElementIdentity, b: ElementIdentity): boolean {
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch {
    return false;
  }
}

/** CC measurement-register index of RTMR3, where workloads are measured (docs/formats-tdx.md). */
export const WORKLOAD_MR_INDEX = 4;

/** The digest a TD extends into RTMR3 for a workload: SHA-384 of its image digest (UTF-8), as measured-boot.ts measures it. */
export function workloadDigest(imageDigest: string): string {
  return hex(sha384(new TextEncoder().encode(imageDigest)));
}

/** The event data naming a workload in the TD's event log. */
export function workloadEventData(imageDigest: string): string {
  return `workload ${imageDigest}`;
}

/** Which link types may admit a member of each kind. */
export const LINK_TYPES_BY_KIND: Record<LayerKind, readonly LinkType[]> = {
  'sgx-enclave': ['local', 'remote'],
  'tdx-td': ['remote'],
  'td-workload': ['measured'],
};

/**
 * The checks that apply to a member of a kind admitted by a link type, as the chain verifier runs them
 * (named as failures name them); policy checks only when the chain policy sets the field.
 */
export function checksFor(kind: LayerKind, type: LinkType, policy: ChainPolicy): string[] {
  const common = ['link-signature', 'nonce-reuse', 'evidence-age', 'policy-depth', 'policy-link-type'];
  const out = [...common];
  if (type === 'remote') out.push('quote', 'key-binding', 'policy-tcb-status');
  if (type === 'local') out.push('local-same-platform', 'key-binding');
  if (kind === 'sgx-enclave') {
    out.push('policy-debug');
    if (policy.identities?.length) out.push('policy-identity');
  } else if (kind === 'tdx-td') {
    const t = policy.tdx ?? {};
    out.push('td-event-log', 'policy-td-debug', 'policy-serviceTd');
    if (t.mrTd) out.push('policy-td-mrTd');
    if (t.rtmr0 ?? t.rtmr1 ?? t.rtmr2) out.push('policy-td-rtmr');
    if (t.eventDigests) out.push('policy-td-eventDigests');
    if (t.tdAttributes) out.push('policy-td-attributes');
    if (t.xfam) out.push('policy-td-xfam');
    if (t.mrConfigId ?? t.mrOwner ?? t.mrOwnerConfig) out.push('policy-td-owner');
  } else {
    out.push('workload-measured');
    if (policy.workloads?.imageDigests) out.push('policy-workload-image');
  }
  out.push('revoked');
  return out;
}
