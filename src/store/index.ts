export type {
  Store,
  AuditActor,
  ChainRow,
  NewChain,
  ElementRow,
  NewElement,
  ElementPatch,
  AgentRow,
  NewAgent,
  TokenRow,
  NewToken,
  TokenRole,
  AuditAction,
  AuditRecord,
  AuditHead,
  Checkpoint,
  NewCheckpoint,
  JobState,
  JobRow,
  NewJob,
  JobPatch,
  JobQuery,
  JobAuditAction,
  WebhookRow,
  NewWebhook,
  EventAckRow,
  NewEventAck,
} from './types.ts';
export { JOB_STATES, JOB_AUDIT_ACTIONS } from './types.ts';
export { StoreError, type StoreErrorCode } from './errors.ts';
export { openStore, parseStoreUrl, type OpenStoreOptions, type StoreLocation } from './open-store.ts';
export { verifyAuditLog, type AuditVerification } from './verify-audit-log.ts';
export {
  auditRecordHash,
  canonicalTextSha256,
  checkpointSigningBytes,
  documentSha256,
  ZERO_HASH,
  type AuditRecordBody,
} from './audit-hash.ts';
export { canonicalJson, CanonicalJsonError } from '../json/index.ts';
export { MIGRATIONS, SCHEMA_VERSION } from './migrations.ts';
export { SqlStore } from './sql-store.ts';
export { SqliteDriver, type SqliteOptions } from './sqlite-driver.ts';
export { PostgresDriver, type PostgresOptions } from './postgres-driver.ts';
export type { Driver, Executor } from './driver.ts';
