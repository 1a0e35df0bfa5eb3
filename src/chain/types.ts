import type { IdentityPolicy } from '../attestation/identity-policy.ts';

/**
 * The chain-of-trust model (design brief §1). Everything here is plain JSON-able data: bytes are
 * lowercase hex, times ISO 8601 UTC. A chain is a tree of elements rooted at a root of trust:
 *
 *   RoT ─▶ platform ─▶ QE ─▶ E1 ─▶ E2 ─▶ …      (E2 local on E1's platform, or remote on another)
 *
 * Platforms and QEs enter the chain through the remote evidence (the PCK certificate and the QE
 * report inside each DCAP quote); enclaves enter through links signed by their parent enclave.
 */

export type LinkType = 'local' | 'remote' | 'measured';
/**
 * Stored element kinds. `enclave` is an SGX enclave (the kind every bundle before issue 16 holds; reported
 * as `sgx-enclave`), `tdx-td` an Intel TDX trust domain, `td-workload` a component measured into a TD's
 * RTMR3 (docs/chain.md, "Element kinds and link types").
 */
export type ElementKind = 'platform' | 'qe' | 'enclave' | 'tdx-td' | 'td-workload';
/** The kinds of chain members, as reported: an `enclave` element is an `sgx-enclave`. */
export type LayerKind = 'sgx-enclave' | 'tdx-td' | 'td-workload';

export interface EnclaveIdentity {
  mrEnclave: string;
  mrSigner: string;
  isvProdId: number;
  isvSvn: number;
  /** ATTRIBUTES as stored (16 bytes hex); debug is derived from it and repeated for readability. */
  attributes: string;
  debug: boolean;
}

/** A TD's identity as a chain records it, from its quote's TD report (hex). */
export interface TdIdentity {
  kind: 'tdx-td';
  mrTd: string;
  /** RTMR0..3. */
  rtmr: string[];
  tdAttributes: string;
  xfam: string;
  mrConfigId: string;
  mrOwner: string;
  mrOwnerConfig: string;
  mrSeam: string;
  debug: boolean;
}

/** A workload measured into its TD's RTMR3: its image digest (as the event names it) and the event's index in the TD's log. */
export interface WorkloadIdentity {
  kind: 'td-workload';
  imageDigest: string;
  /** Index of the measuring event in the parent TD's event log (the log its remote link carries). */
  event: number;
}

/** What a link says the child is. An identity without `kind` is an SGX enclave's (bundles before issue 16). */
export type ElementIdentity = EnclaveIdentity | TdIdentity | WorkloadIdentity;

export interface Element {
  id: string;
  kind: ElementKind;
  /** The element that admitted this one: for an enclave its parent enclave (or null for the first
   * enclave, admitted by the chain owner); for a QE its platform; for a platform null (the RoT). */
  parent: string | null;
  /** The platform the element runs on (for platforms: their own id, derived from the PPID). */
  platform: string;
  cloud?: string;
  identity?: ElementIdentity;
  /** Enclaves: the element key (P-256, 64-byte X‖Y hex) created inside the enclave and bound to its evidence. */
  elementKey?: string;
  /** Platforms: FMSPC hex; QEs and platforms: informational TCB status from the last appraisal. */
  fmspc?: string;
  tcbStatus?: string;
  advisoryIds?: string[];
}

/** Evidence of a local link: the child's REPORT, MACed for the parent (only the parent could check it). */
export interface LocalEvidence {
  kind: 'sgx-report';
  report: string;
}

/** Evidence of a remote link: a DCAP quote plus a reference (by SHA-256) to the collateral it was verified with. */
export interface RemoteEvidence {
  kind: 'dcap-quote';
  quote: string;
  collateral: string;
  /** A TD's measured-boot event log (CCEL, hex): replayed against the quoted RTMR0..3. TDX quotes only. */
  eventLog?: string;
}

/**
 * Evidence of a measured link: the child workload is the event at `event` of its parent TD's event log
 * (the log on the TD's own link, replayed to its quoted RTMRs), an RTMR3 event whose digest is SHA-384 of
 * the image digest.
 */
export interface MeasuredEvidence {
  kind: 'td-event';
  event: number;
  /** SHA-384 (hex) the event extended into RTMR3. */
  digest: string;
}

/** What the admitting side found, recorded and signed with the link. */
export interface LinkAppraisal {
  verdict: 'accepted';
  tcbStatus?: string;
  advisoryIds?: string[];
}

/**
 * A link "child was measured and admitted by parent". Signed by the parent's element key, or by
 * the chain owner's key for the first enclave (parent null).
 */
export interface Link {
  version: 1;
  chain: string;
  parent: string | null;
  child: string;
  type: LinkType;
  /** The parent's fresh challenge (32 bytes hex); the child's REPORTDATA binds it with the child's key. */
  nonce: string;
  childKey: string;
  /** Absent for an SGX enclave (so links before issue 16 are unchanged); a TD's or workload's carries its kind. */
  childIdentity: ElementIdentity;
  childPlatform: string;
  evidence: LocalEvidence | RemoteEvidence | MeasuredEvidence;
  appraisal: LinkAppraisal;
  /** When the parent appraised the evidence. */
  at: string;
  /** ECDSA P-256 r‖s hex over linkSigningBytes(link). */
  signature: string;
}

/** One policy, applying to the whole chain, optionally overridden per depth (1 = the first enclave). */
export type ReactionEvent =
  'tcb-downgrade' | 'tcb-predicted-downgrade' | 'revoked' | 'evidence-stale' | 'collateral-stale' | 'agent-lost';
export type ReactionAction = 'notify' | 'reattest' | 'quarantine' | 'migrate' | 'revoke';

export interface ChainPolicy {
  /** The enclave must match at least one of these. Empty or absent: any identity (other checks still apply). */
  identities?: IdentityPolicy[];
  /** Accepted TCB statuses for remote evidence (default ['UpToDate']). */
  acceptedTcbStatuses?: string[];
  /** If set, every advisory on remote evidence must be listed. */
  acceptedAdvisories?: string[];
  /** DEBUG enclaves are refused unless true. */
  allowDebug?: boolean;
  /** How old a link's appraisal may be at verification time, in seconds (default 24 h). */
  evidenceMaxAgeSeconds?: number;
  /** Link types allowed (default both). */
  linkTypes?: LinkType[];
  /** Maximum depth of enclave elements (the first enclave is depth 1). */
  maxDepth?: number;
  /** Overrides by depth. */
  byDepth?: Record<string, Omit<ChainPolicy, 'byDepth' | 'reactions'>>;
  /**
   * TDX trust domains (kind tdx-td): MRTD allow-list, RTMR0..2 or event digests, DEBUG, attribute and
   * XFAM masks, MRCONFIGID/MROWNER/MROWNERCONFIG (the fields of src/attestation/td-policy.ts). The
   * chain-wide allowDebug does not apply to TDs: a DEBUG TD is refused unless `tdx.allowDebug`.
   */
  tdx?: TdChainPolicy;
  /** Workloads measured into a TD (kind td-workload). */
  workloads?: WorkloadChainPolicy;
  /**
   * What the manager does when an element's state changes (self-management, docs/self-management.md):
   * per event kind, actions tried in order. Not read by chain verification.
   */
  reactions?: Partial<Record<ReactionEvent, ReactionAction[]>>;
}

export interface TdChainPolicy {
  mrTd?: string[];
  rtmr0?: string;
  rtmr1?: string;
  rtmr2?: string;
  eventDigests?: string[];
  allowDebug?: boolean;
  tdAttributes?: string;
  tdAttributesMask?: string;
  xfam?: string;
  xfamMask?: string;
  mrConfigId?: string;
  mrOwner?: string;
  mrOwnerConfig?: string;
  allowServiceTd?: boolean;
}

export interface WorkloadChainPolicy {
  /** Accepted image digests (as measured, e.g. "sha256:…"). Absent: any workload the TD measured. */
  imageDigests?: string[];
}

export interface ChainHeader {
  version: 1;
  id: string;
  name: string;
  createdAt: string;
  /** SHA-256 of the root certificate DER the chain is anchored at. */
  rootSha256: string;
  /** True when the root is Catena's emulated manufacturer, not Intel. */
  emulatedRoot: boolean;
  /** The chain owner's P-256 public key (hex X‖Y): signs the header, the policy, the first link and revocations. */
  ownerKey: string;
  policy: ChainPolicy;
  /** Owner's signature over headerSigningBytes(header). */
  signature: string;
}

export interface Revocation {
  element: string;
  reason: string;
  at: string;
  /** Owner's signature over revocationSigningBytes(r). */
  signature: string;
}

/** The collateral a remote link was verified with, in dcap-qvl collateral JSON form (all strings). */
export type CollateralBlob = Record<string, string>;

/** Proof bundle: a self-contained, versioned export of a chain (schema in docs/chain.md). */
export interface ProofBundle {
  format: 'catena-proof-bundle';
  version: 1;
  chain: ChainHeader;
  elements: Element[];
  links: Link[];
  revocations: Revocation[];
  /** Collateral de-duplicated by the SHA-256 of its canonical JSON. */
  collateral: Record<string, CollateralBlob>;
}

export interface ElementVerdict {
  valid: boolean;
  cause?: string;
  kind?: LayerKind;
  checks?: string[];
}

export interface ChainFailure {
  /** The child element id of the failing link, or the element for element-level failures. */
  link: string;
  check: string;
  message: string;
  /** Proof bundle v2: the index of the record that failed. */
  record?: number;
  /** Proof bundle v2: the reader's error code when the bundle itself cannot be read (ERR_BUNDLE_…). */
  code?: string;
}

export interface ChainVerification {
  valid: boolean;
  size: number;
  /** `measured` only when the chain has measured links. */
  links: { local: number; remote: number; measured?: number };
  failures: ChainFailure[];
  /**
   * Per member element: valid, or the first cause (its own or an ancestor's); `kind` and the checks
   * that apply to an element of that kind (and its link type) only for chains with more than SGX enclaves.
   */
  elements: Record<string, ElementVerdict>;
  /** Members by kind, only for chains with TDs or workloads. */
  kinds?: Partial<Record<LayerKind, number>>;
  emulatedRoot: boolean;
}
