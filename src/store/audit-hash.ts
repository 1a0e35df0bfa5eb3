import { createHash } from 'node:crypto';
import { sha256 } from '../crypto/sha256.ts';
import { hex } from '../bytes/index.ts';
import { canonicalJson } from './canonical.ts';
import type { AuditRecord, Checkpoint } from './types.ts';

/** prevHash of the first audit record (seq 1), and the head hash of an empty log. */
export const ZERO_HASH = '0'.repeat(64);

const utf8 = new TextEncoder();

/** The fields an audit record's hash covers, in the form that is hashed. */
export type AuditRecordBody = Omit<AuditRecord, 'hash'>;

/**
 * hash = hex(SHA-256(UTF-8(canonicalJson({action, actor, at, detail, evidenceHashes, prevHash, seq, subject}))))
 * — RFC 8785 canonical JSON, so members appear in that (sorted) order with no whitespace.
 */
export function auditRecordHash(r: AuditRecordBody): string {
  const body = {
    seq: r.seq,
    at: r.at,
    actor: r.actor,
    action: r.action,
    subject: r.subject,
    evidenceHashes: r.evidenceHashes,
    detail: r.detail,
    prevHash: r.prevHash,
  };
  return hex(sha256(utf8.encode(canonicalJson(body))));
}

/** Hex SHA-256 of a JSON document's canonical form: how the audit log refers to policies and records. */
export function documentSha256(value: unknown): string {
  return canonicalTextSha256(canonicalJson(value));
}

/** Hex SHA-256 of text that already is a document's canonical JSON (UTF-8). */
export function canonicalTextSha256(canonical: string): string {
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/**
 * The bytes a checkpoint signature covers: "catena/audit-checkpoint/v1\n" followed by the canonical
 * JSON of {at, hash, keyId, seq} (the signature itself excluded).
 */
export function checkpointSigningBytes(cp: Pick<Checkpoint, 'seq' | 'hash' | 'keyId' | 'at'>): Uint8Array {
  return utf8.encode(
    'catena/audit-checkpoint/v1\n' + canonicalJson({ seq: cp.seq, hash: cp.hash, keyId: cp.keyId, at: cp.at }),
  );
}
