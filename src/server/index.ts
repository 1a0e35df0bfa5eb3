/** The CoT manager (REST API) and the per-cloud agent. docs/api.md. */
export { buildManager, build, type ManagerOptions } from './manager.ts';
export { buildAgent, type AgentOptions, type AdmitRequest, type AdmitResponse, type EvidenceResponse } from './agent.ts';
export { ChainService, type ChainEvent, type ElementRecord, type StoredAnchor, type StoredPolicy, type AppendRequest } from './chain-service.ts';
export { CotDriver, type Placed, type AppendResult } from './cot-driver.ts';
export { ServerError, problem, type Problem, type ServerErrorCode } from './errors.ts';
export { createToken, tokenHash } from './tokens.ts';
export { loadOrCreateManagerKey, readPublicKey, managerKeyId, checkpointVerifier } from './manager-key.ts';
export { callJson } from './http-json.ts';
export { LinkFactory, rekey } from './link-factory.ts';
export { PcsCollateralProvider, collateralRequestOfQuote, type PcsCollateralCounters } from './pcs-collateral.ts';
