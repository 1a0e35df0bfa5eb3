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
