import { CatenaError } from '../errors.ts';

/**
 * A chain operation was refused. `check` names the failed check (the same names verifyBundle reports:
 * link-signature, key-binding, nonce-reuse, local-same-platform, evidence-age, policy-identity,
 * policy-debug, policy-tcb-status, revoked, quote:<check>, …). Codes:
 *   ERR_CHAIN_LINK_REFUSED   an append or re-attestation failed a check
 *   ERR_CHAIN_UNKNOWN_ELEMENT no such element in the chain
 *   ERR_CHAIN_NOT_LEAF       only leaves can be removed
 *   ERR_CHAIN_DUPLICATE      the element is already in the chain
 *   ERR_CHAIN_BUNDLE         an imported bundle does not verify
 */
export class ChainError extends CatenaError {
  constructor(
    code: string,
    message: string,
    readonly check?: string,
  ) {
    super(code, message);
  }
}

/**
 * A proof bundle v2 (docs/chain.md) that cannot be read: `record` is the index of the failing record
 * (0 = the header; the index the reader had reached for a truncated bundle). Codes:
 *   ERR_BUNDLE_FORMAT       not a v2 bundle, or a record that does not decode to its schema, or out of place
 *   ERR_BUNDLE_TOO_LARGE    a record declares more bytes than the reader's limit (nothing allocated)
 *   ERR_BUNDLE_TRUNCATED    the input ends inside a record or before the trailer
 *   ERR_BUNDLE_SEQUENCE     a record's chain hash is not SHA-256(previous hash ‖ record): removed, duplicated, swapped or altered
 *   ERR_BUNDLE_MISSING_REF  a link references a collateral or QE context that no earlier record holds (named)
 *   ERR_BUNDLE_TRAILER      the trailer's counts differ from the records read, or bytes follow it
 */
export class BundleError extends CatenaError {
  constructor(
    code: string,
    message: string,
    readonly record: number,
  ) {
    super(code, `record ${record}: ${message}`);
  }
}
