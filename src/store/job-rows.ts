import { StoreError } from './errors.ts';
import { toJsonText } from './canonical.ts';
import type { SqlRow, SqlValue } from './driver.ts';
import type { JobPatch, JobRow, JobState, NewJob, NewWebhook, WebhookRow } from './types.ts';
import { JOB_STATES } from './types.ts';

/** Argument checks and row mapping of the jobs and webhooks tables (sql-store.ts runs the SQL). */

const MAX_ID = 256;

function fail(message: string): never {
  throw new StoreError('ERR_STORE_INVALID', message);
}
function id(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_ID)
    fail(`${what} must be a non-empty string of at most ${MAX_ID} characters`);
  return v;
}
function text(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0) fail(`${what} must be a non-empty string`);
  return v;
}
function date(v: unknown, what: string): string {
  if (!(v instanceof Date) || Number.isNaN(v.getTime())) fail(`${what} must be a valid Date`);
  return v.toISOString();
}
function count(v: unknown, what: string, min: number): number {
  if (!Number.isSafeInteger(v) || (v as number) < min) fail(`${what} must be an integer ≥ ${min}`);
  return v as number;
}

export const checkJobId = (v: unknown): string => id(v, 'job id');
export const checkWebhookId = (v: unknown): string => id(v, 'webhook id');

export interface JobInsert {
  id: string;
  kind: string;
  key: string;
  chainId: string | null;
  maxAttempts: number;
  nextAt: string;
  payload: string;
}

export function checkNewJob(j: NewJob): JobInsert {
  if (j === null || typeof j !== 'object') fail('job must be an object');
  return {
    id: checkJobId(j.id),
    kind: id(j.kind, 'job kind'),
    key: id(j.key, 'job key'),
    chainId: j.chainId == null ? null : id(j.chainId, 'chain id'),
    maxAttempts: count(j.maxAttempts, 'maxAttempts', 1),
    nextAt: date(j.nextAt, 'nextAt'),
    payload: toJsonText(j.payload, 'payload'),
  };
}

export function checkState(v: unknown): JobState {
  if (!JOB_STATES.includes(v as JobState)) fail(`job state must be one of ${JOB_STATES.join(', ')}`);
  return v as JobState;
}

/** The SET clause and its parameters for a patch; ERR_STORE_INVALID for a malformed field. */
export function patchColumns(patch: JobPatch): { columns: string[]; params: SqlValue[] } {
  if (patch === null || typeof patch !== 'object') fail('job patch must be an object');
  const columns: string[] = [];
  const params: SqlValue[] = [];
  const set = (column: string, value: SqlValue): void => {
    columns.push(`${column} = ?`);
    params.push(value);
  };
  if (patch.state !== undefined) set('state', checkState(patch.state));
  if (patch.attempts !== undefined) set('attempts', count(patch.attempts, 'attempts', 0));
  if (patch.nextAt !== undefined) set('next_at', date(patch.nextAt, 'nextAt'));
  if ('progress' in patch) set('progress', toJsonText(patch.progress ?? null, 'progress'));
  if ('result' in patch) set('result', toJsonText(patch.result ?? null, 'result'));
  if (patch.lastError !== undefined)
    set('last_error', patch.lastError === null ? null : String(patch.lastError).slice(0, 4000));
  if (patch.leaseUntil !== undefined)
    set('lease_until', patch.leaseUntil === null ? null : date(patch.leaseUntil, 'leaseUntil'));
  if (patch.leaseOwner !== undefined)
    set('lease_owner', patch.leaseOwner === null ? null : text(patch.leaseOwner, 'leaseOwner'));
  if (patch.ifLeaseOwner !== undefined) text(patch.ifLeaseOwner, 'ifLeaseOwner');
  return { columns, params };
}

export function checkNewWebhook(w: NewWebhook): {
  id: string;
  url: string;
  chainId: string | null;
  events: string | null;
  createdAt: string;
} {
  if (w === null || typeof w !== 'object') fail('webhook must be an object');
  if (w.events !== null && (!Array.isArray(w.events) || !w.events.every((e) => typeof e === 'string' && e.length > 0)))
    fail('webhook events must be null or an array of non-empty strings');
  return {
    id: checkWebhookId(w.id),
    url: text(w.url, 'webhook url'),
    chainId: w.chainId == null ? null : id(w.chainId, 'chain id'),
    events: w.events === null ? null : JSON.stringify(w.events),
    createdAt: date(w.createdAt, 'createdAt'),
  };
}

function json(v: unknown, column: string): unknown {
  try {
    return JSON.parse(String(v));
  } catch {
    throw new StoreError('ERR_STORE_BACKEND', `corrupt JSON in ${column}`);
  }
}
const nullable = (v: unknown): string | null => {
  const value = v as SqlValue | undefined; // what the drivers return for a column
  return value == null ? null : String(value);
};

export function jobRow(r: SqlRow): JobRow {
  const leaseUntil = nullable(r.lease_until);
  return {
    id: String(r.id),
    kind: String(r.kind),
    key: String(r.job_key),
    chainId: nullable(r.chain_id),
    state: String(r.state) as JobState,
    attempts: Number(r.attempts),
    maxAttempts: Number(r.max_attempts),
    nextAt: new Date(String(r.next_at)),
    leaseOwner: nullable(r.lease_owner),
    leaseUntil: leaseUntil === null ? null : new Date(leaseUntil),
    payload: json(r.payload, 'jobs.payload'),
    progress: json(r.progress, 'jobs.progress'),
    result: json(r.result, 'jobs.result'),
    lastError: nullable(r.last_error),
    createdAt: new Date(String(r.created_at)),
    updatedAt: new Date(String(r.updated_at)),
  };
}

export function webhookRow(r: SqlRow): WebhookRow {
  const events = nullable(r.events);
  return {
    id: String(r.id),
    url: String(r.url),
    chainId: nullable(r.chain_id),
    events: events === null ? null : (json(events, 'webhooks.events') as string[]),
    createdAt: new Date(String(r.created_at)),
  };
}

/** An audit detail as JSON data: {…detail, job, kind} when detail is an object, else {job, kind, value}. */
export function stepDetail(job: JobRow, detail: unknown): Record<string, unknown> {
  const plain = JSON.parse(toJsonText(detail ?? null, 'step detail')) as unknown;
  const base = { job: job.id, kind: job.kind };
  return plain !== null && typeof plain === 'object' && !Array.isArray(plain)
    ? { ...(plain as Record<string, unknown>), ...base }
    : { ...base, value: plain };
}
