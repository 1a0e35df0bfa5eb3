import { hex } from '../bytes/util.ts';
import { isDebug } from '../formats/attributes.ts';
import type { ReportBody } from '../formats/report.ts';

/**
 * Which enclave identities a relying party accepts: an exact MRENCLAVE (one of a list), or
 * MRSIGNER + ISVPRODID + minimum ISVSVN (the vendor's identity, surviving upgrades).
 * DEBUG enclaves are refused unless `allowDebug` is set: their memory is readable by the host.
 */
export interface IdentityPolicy {
  mrEnclave?: string[];
  mrSigner?: string;
  isvProdId?: number;
  minIsvSvn?: number;
  allowDebug?: boolean;
}

export type IdentityFailure = { ok: false; code: 'ERR_DEBUG_ENCLAVE' | 'ERR_IDENTITY_MISMATCH'; reason: string };
export type IdentityResult = { ok: true } | IdentityFailure;

/** Checks a report body against the policy; the reason names the first field that failed. */
export function checkIdentity(
  body: Pick<ReportBody, 'mrEnclave' | 'mrSigner' | 'isvProdId' | 'isvSvn' | 'attributes'>,
  policy: IdentityPolicy,
): IdentityResult {
  if (isDebug(body.attributes) && !policy.allowDebug) {
    return { ok: false, code: 'ERR_DEBUG_ENCLAVE', reason: 'DEBUG enclave refused (set allowDebug to accept)' };
  }
  if (policy.mrEnclave && policy.mrEnclave.length > 0) {
    const m = hex(body.mrEnclave);
    if (!policy.mrEnclave.some((x) => x.toLowerCase() === m)) {
      return { ok: false, code: 'ERR_IDENTITY_MISMATCH', reason: `MRENCLAVE ${m} is not in the policy` };
    }
  }
  if (policy.mrSigner !== undefined && policy.mrSigner.toLowerCase() !== hex(body.mrSigner)) {
    return {
      ok: false,
      code: 'ERR_IDENTITY_MISMATCH',
      reason: `MRSIGNER ${hex(body.mrSigner)} is not ${policy.mrSigner.toLowerCase()}`,
    };
  }
  if (policy.isvProdId !== undefined && policy.isvProdId !== body.isvProdId) {
    return {
      ok: false,
      code: 'ERR_IDENTITY_MISMATCH',
      reason: `ISVPRODID ${body.isvProdId} is not ${policy.isvProdId}`,
    };
  }
  // Stryker disable next-line ConditionalExpression: without a minimum, `body.isvSvn < undefined` is false as well
  if (policy.minIsvSvn !== undefined && body.isvSvn < policy.minIsvSvn) {
    return {
      ok: false,
      code: 'ERR_IDENTITY_MISMATCH',
      reason: `ISVSVN ${body.isvSvn} is below the minimum ${policy.minIsvSvn}`,
    };
  }
  if (!policy.mrEnclave?.length && policy.mrSigner === undefined) {
    return {
      ok: false,
      code: 'ERR_IDENTITY_MISMATCH',
      reason: 'the policy names no MRENCLAVE and no MRSIGNER: nothing would be checked',
    };
  }
  return { ok: true };
}
