/** The outcome of one re-attestation, as stored in the element record and returned by the API. */
export interface Reattestation {
  at: string;
  nonce: string;
  verdict: 'affirmed' | 'refused';
  /** The failing check when refused (same names as link checks: `quote:…`, `key-binding`, `policy-…`). */
  check?: string;
  message?: string;
  tcbStatus?: string;
  advisoryIds?: string[];
  /** SHA-256 of the quote appraised. */
  evidenceHash?: string;
  /** The quote itself (hex): the element's newest evidence, re-appraised when collateral changes. */
  quote?: string;
  /** Id (SHA-256) of the collateral it was appraised with. */
  collateral?: string;
  /** Where the collateral came from. */
  collateralSource?: 'pcs' | 'agent';
}
