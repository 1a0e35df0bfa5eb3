import { ArgumentError } from '../errors.ts';

/**
 * Named bad TD evidence (issue 16): each changes one thing of the good emulated TD and names the check a
 * verifier given the good TD's policy and the written event log must fail. `tampered-tdreport` never
 * reaches a verifier: the TD quoting enclave refuses the TDREPORT (no quote is written).
 */
export interface TdEvidenceVariant {
  name: string;
  /** The first failing check (appraisal.error.check), or 'td-qe' for a TDREPORT the TD QE refuses. */
  check: string;
  code: string;
  description: string;
}

export const TD_EVIDENCE_VARIANTS: readonly TdEvidenceVariant[] = [
  {
    name: 'debug-td',
    check: 'policy.debug',
    code: 'ERR_DEBUG_ENCLAVE',
    description: 'the TD runs with TD_ATTRIBUTES.DEBUG set',
  },
  {
    name: 'wrong-mrtd',
    check: 'policy.td.mrTd',
    code: 'ERR_TD_POLICY',
    description: 'one firmware page differs from the image the policy names: another MRTD',
  },
  {
    name: 'rtmr-event-log-mismatch',
    check: 'td.eventLog',
    code: 'ERR_EVENT_LOG_MISMATCH',
    description: 'the event log written names another kernel than the one extended into RTMR1',
  },
  {
    name: 'tdx-module-mismatch',
    check: 'tdx.module',
    code: 'ERR_TDX_MODULE',
    description: "the TDX module's MRSIGNER_SEAM is not the one tdxModuleIdentities names",
  },
  {
    name: 'tampered-tdreport',
    check: 'td-qe',
    code: 'ERR_TDREPORT_MAC',
    description: "one bit of the TDREPORT's TDINFO (MRTD) flipped after the TDX module MACed it: the TD QE refuses it",
  },
  {
    name: 'service-td-bound',
    check: 'policy.serviceTd',
    code: 'ERR_SERVICE_TD',
    description: 'a v5 quote of a TD bound to a service TD (non-zero MR_SERVICETD); the policy does not allowServiceTd',
  },
];

export function tdEvidenceVariant(name: string): TdEvidenceVariant {
  const v = TD_EVIDENCE_VARIANTS.find((x) => x.name === name);
  if (!v)
    throw new ArgumentError(
      `unknown TD evidence variant ${JSON.stringify(name)}; known: ${TD_EVIDENCE_VARIANTS.map((x) => x.name).join(', ')}`,
    );
  return v;
}
