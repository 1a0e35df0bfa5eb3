import type { SignedJson } from '../../formats/pcs-body.ts';

/**
 * The collateral a DCAP verifier needs besides the quote, in Intel's own encodings:
 * the signed TCB info and QE identity (exact signed text + r‖s), the TCB signing certificate chain
 * (DER, any order, the root may be missing: it also arrives in the quote's PCK chain), the root CA CRL
 * and the PCK CRL (DER). Nothing here is trusted: the verifier checks all of it.
 */
export interface Collateral {
  tcbInfo: SignedJson;
  qeIdentity: SignedJson;
  /** Signs the TCB info (and the QE identity unless qeIdentitySigningChain says otherwise). */
  tcbSigningChain: Uint8Array[];
  qeIdentitySigningChain?: Uint8Array[];
  rootCaCrl: Uint8Array;
  pckCrl: Uint8Array;
  /** Informational: the PCK CRL is checked against the PCK chain the quote carries. */
  pckCrlIssuerChain?: Uint8Array[];
  /** Where it came from, for messages ("directory /x", "PCS https://…"). */
  origin?: string;
}

export interface CollateralRequest {
  /** FMSPC, hex (case-insensitive). */
  fmspc: string;
  pckCa: 'processor' | 'platform';
  teeType: 'sgx' | 'tdx';
}

/** One method: collateral for a platform at a time. Implementations: directory, dcap-qvl JSON file, PCS/PCCS URL, in-memory, always-fail. */
export interface CollateralSource {
  get(req: CollateralRequest, at: Date): Promise<Collateral>;
}

export function isCollateralSource(x: Collateral | CollateralSource): x is CollateralSource {
  return typeof (x as CollateralSource).get === 'function';
}
