import { ChannelError } from './errors.ts';
import { DcapQuoteValidator, type QvlCollateralJson } from './dcap-validator.ts';
import { FailingQuoteValidator, MockQuoteValidator } from './validator.ts';
import { CHECK, type QuoteValidator } from './types.ts';

/**
 * A validator described as plain data, so it can cross the enclave boundary (ECALL arguments are
 * structured-cloned) and be rebuilt inside the enclave that verifies its peers.
 * - `dcap` (the real one): DCAP quotes against `roots` (DER certificates or raw P-256 keys; omit for
 *   Intel's pinned root) with `collateral` in dcap-qvl JSON form (an object of strings, or its text).
 * - `mock`: mock evidence (tests only; src/channel/mock-evidence.ts).
 * - `fail`: refuses everything.
 */
export type AttestationSpec =
  | {
      kind: 'dcap';
      roots?: Uint8Array[];
      collateral: QvlCollateralJson | string;
      acceptedTcbStatuses?: string[];
      acceptedAdvisories?: string[];
    }
  | { kind: 'mock'; roots: Uint8Array[] }
  | { kind: 'fail'; reason?: string };

export function validatorFromSpec(spec: AttestationSpec): QuoteValidator {
  switch (spec?.kind) {
    case 'dcap':
      if (spec.roots !== undefined && (!Array.isArray(spec.roots) || spec.roots.length === 0))
        throw new ChannelError(
          'ERR_CHANNEL_STATE',
          CHECK.root,
          'dcap attestation spec: roots, when given, must name at least one root',
        );
      return new DcapQuoteValidator({
        collateral: spec.collateral,
        ...(spec.roots ? { trustedRoots: spec.roots } : {}),
        ...(spec.acceptedTcbStatuses ? { acceptedTcbStatuses: spec.acceptedTcbStatuses } : {}),
        ...(spec.acceptedAdvisories ? { acceptedAdvisories: spec.acceptedAdvisories } : {}),
      });
    case 'mock':
      if (!Array.isArray(spec.roots) || spec.roots.length === 0)
        throw new ChannelError('ERR_CHANNEL_STATE', CHECK.root, 'mock attestation spec names no trusted root');
      return new MockQuoteValidator(spec.roots);
    case 'fail':
      return new FailingQuoteValidator(spec.reason);
    default:
      throw new ChannelError(
        'ERR_CHANNEL_STATE',
        CHECK.validator,
        `unknown attestation spec kind ${String((spec as { kind?: unknown })?.kind)}`,
      );
  }
}
