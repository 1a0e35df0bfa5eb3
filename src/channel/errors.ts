import { CatenaError } from '../errors.ts';

/**
 * Why an attested channel was refused or broke. `check` names the verification step that failed
 * (the same names the validators and docs/channel.md use), so a refusal is explainable without
 * parsing the message.
 */
export type ChannelErrorCode =
  | 'ERR_CHANNEL_CERTIFICATE' // the peer's certificate is unreadable or outside its validity window
  | 'ERR_CHANNEL_NO_EVIDENCE' // no RA-TLS evidence extension in the certificate
  | 'ERR_CHANNEL_NO_PEER_CERTIFICATE' // an attested peer was required but presented no certificate
  | 'ERR_CHANNEL_KEY_BINDING' // the certificate key is not the one the evidence's REPORTDATA binds
  | 'ERR_CHANNEL_EVIDENCE' // the validator rejected the evidence (signature, root, format, TCB …)
  | 'ERR_CHANNEL_DEBUG' // a DEBUG enclave and the policy does not allow it
  | 'ERR_CHANNEL_IDENTITY' // the enclave identity is outside the policy
  | 'ERR_CHANNEL_ISSUER' // evidence could not be produced for our own certificate
  | 'ERR_CHANNEL_HANDSHAKE' // TLS failed below the attestation layer (protocol, version, closed early)
  | 'ERR_CHANNEL_RECORD' // a local-attestation record was malformed, replayed or failed authentication
  | 'ERR_CHANNEL_STATE'; // a call that does not fit the endpoint's state (unknown connection, not initialised)

export class ChannelError extends CatenaError {
  declare readonly code: ChannelErrorCode;
  /** The failed check, e.g. `reportData`, `signature`, `root`, `debug`, `identity`. */
  readonly check: string;
  constructor(code: ChannelErrorCode, check: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.check = check;
  }
}
