export { ChannelError, type ChannelErrorCode } from './errors.ts';
export {
  CHECK,
  type QuoteIssuer,
  type QuoteValidator,
  type ValidationResult,
  type EnclaveIdentityClaims,
  type PeerIdentity,
  type ChannelPolicy,
  type AttestedStream,
} from './types.ts';
export {
  createRatlsCertificate,
  readRatlsCertificate,
  RatlsCertificateReader,
  ratlsReportData,
  diceClaims,
  encodeDiceEvidence,
  decodeDiceEvidence,
  GRAMINE_QUOTE_OID,
  TCG_DICE_TAGGED_EVIDENCE_OID,
  DICE_EVIDENCE_CBOR_TAG,
  type RatlsCredentials,
  type RatlsCertificateOptions,
  type RatlsCertificateContents,
} from './ratls-cert.ts';
export { verifyRatlsCertificate, checkPolicy, type PeerVerification } from './verify-peer.ts';
export {
  attestedHttpRequest,
  attestedPeerOf,
  ratlsHttpsOptions,
  type AttestedRequestOptions,
  type AttestedResponse,
} from './attested-http.ts';
export {
  startAttestedTls,
  attestedSecureContext,
  connectAttested,
  createAttestedServer,
  type AttestedTlsOptions,
  type ConnectAttestedOptions,
  type AttestedServerOptions,
} from './tls.ts';
export {
  EnclaveQuoteIssuer,
  MockQuoteIssuer,
  FailingQuoteIssuer,
  MockQuotingBackend,
  quotingOcalls,
  QE_TARGET_INFO_OCALL,
  QE_QUOTE_OCALL,
  type QuotingBackend,
  type QuotingEnclaveContext,
} from './issuer.ts';
/** MOCK validator: unit tests of the channel mechanics only (mock evidence is not a quote). */
export { MockQuoteValidator, FailingQuoteValidator } from './validator.ts';
export {
  createMockAttestationRoot,
  mockRootFromPem,
  signMockEvidence,
  parseMockEvidence,
  isMockEvidence,
  MOCK_EVIDENCE_MAGIC,
  MOCK_EVIDENCE_SIZE,
  type MockAttestationRoot,
  type MockEvidence,
} from './mock-evidence.ts';
export { validatorFromSpec, type AttestationSpec } from './attestation-spec.ts';
export {
  EnclaveTlsEndpoint,
  CHANNEL_OCALL,
  type EndpointConfig,
  type ChannelEvent,
  type EndpointApp,
} from './enclave-endpoint.ts';
export { EnclaveChannelRelay, type EcallTarget } from './relay.ts';
export { localAttestedStream, type RecordSession } from './local-stream.ts';
export {
  channelAttestation,
  mockChannelAttestation,
  writeTrustFiles,
  attestationSpecForRoots,
  validatorForRoots,
  certificatesFromFile,
  TRUST_FILES,
  type ChannelAttestation,
  type DcapIssuer,
} from './default-attestation.ts';
export { DcapQuoteValidator, type DcapQuoteValidatorOptions, type QvlCollateralJson } from './dcap-validator.ts';
export { encodeCbor, decodeCbor, CborMap, CborTag, type CborValue } from '../formats/cbor.ts';
