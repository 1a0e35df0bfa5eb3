import { CatenaError } from '../errors.ts';

/**
 * Every failure of the store is a StoreError with a stable code (docs/errors.md, "Store"):
 *
 * - ERR_STORE_CONFLICT    the chain's version moved since the caller read it (optimistic concurrency)
 * - ERR_STORE_NOT_FOUND   no such chain / element / token (deleted chains count as absent for writes)
 * - ERR_STORE_NO_PARENT   appendElement named a parent that is not in the chain
 * - ERR_STORE_NOT_LEAF    removeElement on an element that still has children
 * - ERR_STORE_DUPLICATE   an id (or token hash, or checkpoint seq) that already exists
 * - ERR_STORE_NONCE_USED  appendElement with a link nonce another element of the chain already holds
 * - ERR_STORE_INVALID     an argument of the wrong shape (empty id, bad hex hash, non-JSON value…)
 * - ERR_STORE_CHECKPOINT  a checkpoint that does not match the audit record at its seq
 * - ERR_STORE_SCHEMA      the database was migrated by a newer Catena (unknown schema version)
 * - ERR_STORE_URL         openStore was given a URL it cannot open
 * - ERR_STORE_CLOSED      the store was used after close()
 * - ERR_STORE_BUSY        the database stayed locked longer than the busy timeout
 * - ERR_STORE_BACKEND     any other database failure (I/O, connection lost); the cause is attached
 */
export type StoreErrorCode =
  | 'ERR_STORE_CONFLICT'
  | 'ERR_STORE_NOT_FOUND'
  | 'ERR_STORE_NO_PARENT'
  | 'ERR_STORE_NOT_LEAF'
  | 'ERR_STORE_DUPLICATE'
  | 'ERR_STORE_NONCE_USED'
  | 'ERR_STORE_INVALID'
  | 'ERR_STORE_CHECKPOINT'
  | 'ERR_STORE_SCHEMA'
  | 'ERR_STORE_URL'
  | 'ERR_STORE_CLOSED'
  | 'ERR_STORE_BUSY'
  | 'ERR_STORE_BACKEND';

export class StoreError extends CatenaError {
  declare readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Wraps a driver's own exception (better-sqlite3, pg) into a StoreError; StoreErrors pass through. */
export function asStoreError(e: unknown): CatenaError {
  if (e instanceof CatenaError) return e;
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err?.code === 'string' ? err.code : '';
  const message = typeof err?.message === 'string' ? err.message : String(e);
  // The unique index on (chain, nonce) (migration 6), should a nonce get past the explicit check.
  if (
    (code === '23505' && (e as { constraint?: unknown }).constraint === 'elements_nonce') ||
    (code === 'SQLITE_CONSTRAINT_UNIQUE' && message.includes('elements.nonce'))
  )
    return new StoreError('ERR_STORE_NONCE_USED', 'the link nonce is already used in this chain', { cause: e });
  // SQLite: SQLITE_BUSY / SQLITE_LOCKED; PostgreSQL: 40001 serialization_failure, 40P01 deadlock, 55P03 lock_not_available.
  if (
    code.startsWith('SQLITE_BUSY') ||
    code.startsWith('SQLITE_LOCKED') ||
    code === '40001' ||
    code === '40P01' ||
    code === '55P03'
  ) {
    return new StoreError('ERR_STORE_BUSY', `database busy: ${message}`, { cause: e });
  }
  return new StoreError('ERR_STORE_BACKEND', `database error${code ? ` (${code})` : ''}: ${message}`, { cause: e });
}
