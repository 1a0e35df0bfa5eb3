/**
 * Catena's public API (`import … from 'catena'`): the chain-of-trust API, DCAP quote verification,
 * local attestation, the emulated platform and manufacturer, the attested channel and the manager's
 * `build`. Lower layers have their own documented sub-paths (catena/bytes, catena/formats, …).
 */
export { CatenaError, FormatError, ArgumentError } from './errors.ts';

// Chains of trust (docs/cot-api.md, docs/chain.md)
export {
  EmulatedWorld,
  CotBuilder,
  ElementHandle,
  buildElementImage,
  dcapRemoteVerifier,
  createDcapRemoteVerifier,
  Chain,
  verifyBundle,
  ChainError,
  type EmulatedWorldOptions,
  type WorldPlatform,
  type QuoteSource,
  type ProofBundle,
  type ChainPolicy,
  type ChainVerification,
} from './cot/index.ts';

// DCAP quote verification (docs/verification.md)
export {
  DcapVerifier,
  verifyQuote,
  CHECK_CODES,
  openCollateral,
  directoryCollateral,
  qvlJsonFileCollateral,
  pcsCollateral,
  memoryCollateral,
  parsePolicy,
  applyPolicy,
  issueEar,
  publicJwks,
  CollateralError,
  INTEL_ROOT_PUBLIC_KEY_HEX,
  type Appraisal,
  type Check,
  type QuoteSummary,
  type QuoteVerifier,
  type VerifyOptions,
  type Collateral,
  type CollateralSource,
  type AppraisalPolicy,
} from './attestation/index.ts';

// Local attestation (docs/local-attestation.md)
export {
  LocalAttestationInitiator,
  LocalAttestationResponder,
  LocalSession,
  LocalAttestationError,
  verifyLocalReport,
  type LocalAttester,
} from './attestation/local/index.ts';

// The emulated platform (docs/emulated-platform.md)
export {
  Platform,
  buildEnclave,
  readEnclaveImage,
  parseEnclaveConfig,
  Measurement,
  measureSgxs,
  SgxError,
  EnclaveCallError,
  type PlatformOptions,
  type EnclaveConfig,
  type EnclaveImage,
  type EnclaveContext,
  type EnclaveHandle,
  type RuntimeKind,
} from './sgx/index.ts';

// The emulated manufacturer and its PCS (docs/emulated-manufacturer.md)
export {
  Manufacturer,
  buildPcsServer,
  ManufacturerError,
  type ManufacturerOptions,
  type PcsServerOptions,
} from './sgx/manufacturer/index.ts';

// The attested channel (docs/channel.md)
export {
  createRatlsCertificate,
  readRatlsCertificate,
  verifyRatlsCertificate,
  connectAttested,
  createAttestedServer,
  startAttestedTls,
  attestedHttpRequest,
  EnclaveQuoteIssuer,
  EnclaveTlsEndpoint,
  EnclaveChannelRelay,
  DcapQuoteValidator,
  channelAttestation,
  ChannelError,
  type QuoteIssuer,
  type QuoteValidator,
  type ChannelPolicy,
  type PeerIdentity,
} from './channel/index.ts';

// The CoT manager (docs/api.md)
export { build, type ManagerOptions } from './server/index.ts';
