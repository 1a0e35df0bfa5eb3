/** The CoT manager (REST API) and the per-cloud agent. docs/api.md. */
export { buildManager, build, type ManagerOptions } from './manager.ts';
export {
  buildAgent,
  type AgentOptions,
  type AgentCaller,
  type AdmitRequest,
  type AdmitResponse,
  type EvidenceResponse,
} from './agent.ts';
export {
  AGENT_ENCLAVE_PROD_ID,
  buildAgentEnclaveImage,
  launchAgentEnclave,
  agentPeerPolicy,
  agentPeerVerification,
  type AgentTlsIdentity,
} from './agent-enclave.ts';
export { listenAgentTls, type AgentTlsListener } from './agent-listener.ts';
export { callManager, managerTokenChecker, type ManagerLink, type TokenPrincipal } from './manager-client.ts';
export {
  ChainService,
  type ChainEvent,
  type ElementRecord,
  type StoredAnchor,
  type StoredPolicy,
  type AppendRequest,
} from './chain-service.ts';
export { CotDriver, type Placed, type AppendResult, type AgentAccess } from './cot-driver.ts';
export { ServerError, problem, type Problem, type ServerErrorCode } from './errors.ts';
export {
  createToken,
  tokenHash,
  parseTtl,
  findActiveToken,
  DEFAULT_TOKEN_TTL_MS,
  type CreateTokenOptions,
} from './tokens.ts';
export { checkAgentUrl, DEFAULT_AGENT_HOSTS, type AgentHostPolicy } from './agent-url.ts';
export { buildMetricsServer } from './metrics-server.ts';
export { loadOrCreateManagerKey, readPublicKey, managerKeyId, checkpointVerifier } from './manager-key.ts';
export { callJson, type RatlsCall } from './http-json.ts';
export { LinkFactory, rekey } from './link-factory.ts';
export { PcsCollateralProvider, collateralRequestOfQuote, type PcsCollateralCounters } from './pcs-collateral.ts';
