import { ChannelError } from './errors.ts';
import { FailingQuoteValidator, MockQuoteValidator } from './validator.ts';
import { CHECK, type QuoteValidator } from './types.ts';

/**
 * A validator described as plain data, so it can cross the enclave boundary (ECALL arguments are
 * structured-cloned) and be rebuilt inside the enclave that verifies its peers.
 * To add DCAP: a `{ kind: 'dcap', roots, … }` variant here and its case in validatorFromSpec —
 * the channel code and the enclave endpoint do not change.
 */
export type AttestationSpec = { kind: 'mock'; roots: Uint8Array[] } | { kind: 'fail'; reason?: string };

export function validatorFromSpec(spec: AttestationSpec): QuoteValidator {
  switch (spec?.kind) {
    case 'mock':
      if (!Array.isArray(spec.roots) || spec.roots.length === 0) throw new ChannelError('ERR_CHANNEL_STATE', CHECK.root, 'mock attestation spec names no trusted root');
      return new MockQuoteValidator(spec.roots);
    case 'fail':
      return new FailingQuoteValidator(spec.reason);
    default:
      throw new ChannelError('ERR_CHANNEL_STATE', CHECK.validator, `unknown attestation spec kind ${String((spec as { kind?: unknown })?.kind)}`);
  }
}
