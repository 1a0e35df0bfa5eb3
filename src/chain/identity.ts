import { hex } from '../bytes/util.ts';
import { attributesBytes, isDebug } from '../formats/attributes.ts';
import type { ReportBody } from '../formats/report.ts';
import type { EnclaveIdentity } from './types.ts';

/** An enclave's identity as a chain records it, from the body of its REPORT or quote. */
export function identityOfBody(b: ReportBody): EnclaveIdentity {
  return {
    mrEnclave: hex(b.mrEnclave),
    mrSigner: hex(b.mrSigner),
    isvProdId: b.isvProdId,
    isvSvn: b.isvSvn,
    attributes: hex(attributesBytes(b.attributes)),
    debug: isDebug(b.attributes),
  };
}

export function sameIdentity(a: EnclaveIdentity, b: EnclaveIdentity): boolean {
  return (
    a.mrEnclave === b.mrEnclave &&
    a.mrSigner === b.mrSigner &&
    a.isvProdId === b.isvProdId &&
    a.isvSvn === b.isvSvn &&
    a.attributes === b.attributes &&
    a.debug === b.debug
  );
}
