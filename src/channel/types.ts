import type { Duplex } from 'node:stream';
import type { IdentityPolicy } from '../attestation/identity-policy.ts';

/**
 * The two side-effect interfaces of the attested channel (one method each, marblerun-style).
 * Each has a real implementation (DCAP quotes), a mock one and an always-fail one; the channel
 * code never knows which.
 */
export interface QuoteIssuer {
  /** Evidence (e.g. a DCAP quote) whose REPORTDATA is exactly `reportData` (64 bytes). */
  issue(reportData: Uint8Array): Promise<Uint8Array>;
}

export interface QuoteValidator {
  /**
   * Appraises `evidence` at time `at` and checks that its REPORTDATA equals `expectedReportData`.
   * Bad evidence is a `{ ok: false }` result naming the failed check, never an exception. A
   * REPORTDATA mismatch MUST be reported with `check: 'reportData'` (CHECK.reportData).
   */
  validate(evidence: Uint8Array, expectedReportData: Uint8Array, at: Date): Promise<ValidationResult>;
}

export interface EnclaveIdentityClaims {
  mrEnclave: string; // hex
  mrSigner: string; // hex
  isvProdId: number;
  isvSvn: number;
  debug: boolean;
}

export type ValidationResult =
  | {
      ok: true;
      identity: EnclaveIdentityClaims;
      tcbStatus?: string;
      rootIsIntel?: boolean;
      advisoryIds?: string[];
      evidenceKind?: string;
    }
  | { ok: false; check: string; message: string };

/** Check names shared by validators and the channel (docs/channel.md, "Checks"). */
export const CHECK = {
  certificate: 'certificate',
  certificateValidity: 'certificateValidity',
  evidence: 'evidence',
  extensionsAgree: 'extensionsAgree',
  format: 'format',
  signature: 'signature',
  root: 'root',
  reportData: 'reportData',
  debug: 'debug',
  identity: 'identity',
  peerCertificate: 'peerCertificate',
  validator: 'validator',
} as const;

/** A verified peer: the enclave identity its evidence proves, and what that proof rests on. */
export interface PeerIdentity extends EnclaveIdentityClaims {
  tcbStatus?: string;
  /** True only when the evidence chains to Intel's real root; false for emulated or mock roots. */
  rootIsIntel?: boolean;
  advisoryIds?: string[];
  evidenceKind?: string;
  /** SHA-256 of the peer's certificate (DER), hex; absent for local attestation. */
  certificateSha256?: string;
}

/**
 * Which peers are accepted: an IdentityPolicy (MRENCLAVE list or MRSIGNER+ISVPRODID+min ISVSVN,
 * DEBUG refused unless allowDebug), or — only when asked for explicitly — any enclave identity
 * whose evidence verifies (still refusing DEBUG unless allowDebug).
 */
export type ChannelPolicy = IdentityPolicy | { anyIdentity: true; allowDebug?: boolean };

/**
 * One stream interface for both attested channels (RA-TLS between platforms, the local-attestation
 * session on one platform): a Node Duplex of application bytes plus the verified peer.
 * `peer` is null only on a server that did not ask for an attested client.
 */
export type AttestedStream = Duplex & {
  readonly peer: PeerIdentity | null;
  readonly channel: 'ra-tls' | 'local-attestation';
};
