import { auditRecordHash, ZERO_HASH } from './audit-hash.ts';
import type { AuditRecord, Checkpoint } from './types.ts';

export type AuditVerification =
  | { ok: true; count: number; headHash: string; checkpoints: number }
  | { ok: false; firstBrokenSeq: number; reason: string };

const HASH = /^[0-9a-f]{64}$/;

/**
 * Verifies a whole audit log, from seq 1, end to end:
 *  1. records are numbered 1, 2, 3… with no gap (a deleted record is named by its missing seq);
 *  2. each record's prevHash is the previous record's hash (64 zeros for seq 1);
 *  3. each record's hash is the hash of its own content (an edited record is named by its seq);
 *  4. each checkpoint's signature verifies (verifyCheckpointSig gets the checkpoint; sign and check
 *     checkpointSigningBytes(cp)), and the log has the signed hash at the checkpoint's seq. A log
 *     rewritten wholesale (every hash recomputed) passes 1–3 but not 4: the break is then named as
 *     the first seq after the last checkpoint that still matches. A checkpoint beyond the end of the
 *     log means records were cut off the end: the first missing seq is named.
 * Never throws for bad data: the first problem (lowest seq) is returned.
 */
export function verifyAuditLog(
  records: AuditRecord[],
  checkpoints: Checkpoint[],
  verifyCheckpointSig: (cp: Checkpoint) => boolean,
): AuditVerification {
  let recordBreak: { firstBrokenSeq: number; reason: string } | undefined;
  let prev = ZERO_HASH;
  let count = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    const expected = i + 1;
    const shape = recordShapeProblem(r);
    if (shape) {
      recordBreak = { firstBrokenSeq: expected, reason: `record ${expected}: ${shape}` };
      break;
    }
    if (r.seq !== expected) {
      recordBreak =
        r.seq > expected
          ? { firstBrokenSeq: expected, reason: `record ${expected} is missing (the next record is ${r.seq})` }
          : {
              firstBrokenSeq: expected,
              reason: `record ${r.seq} appears again or out of order where ${expected} was expected`,
            };
      break;
    }
    if (r.prevHash !== prev) {
      recordBreak = {
        firstBrokenSeq: expected,
        reason: `record ${expected}: prevHash does not match the hash of record ${expected - 1}`,
      };
      break;
    }
    let computed: string;
    try {
      computed = auditRecordHash(r);
    } catch {
      computed = '';
    }
    if (computed !== r.hash) {
      recordBreak = {
        firstBrokenSeq: expected,
        reason: `record ${expected}: content does not match its hash (altered)`,
      };
      break;
    }
    prev = r.hash;
    count = expected;
  }

  // Checkpoints only speak about the consistent prefix [1, count]; a checkpoint past the end of an
  // otherwise intact log means the tail was removed.
  const sorted = [...checkpoints].sort((a, b) => a.seq - b.seq);
  let lastGood = 0;
  let cpBreak: { firstBrokenSeq: number; reason: string } | undefined;
  for (const cp of sorted) {
    if (recordBreak && cp.seq >= recordBreak.firstBrokenSeq) break;
    if (!Number.isSafeInteger(cp.seq) || cp.seq < 1 || typeof cp.hash !== 'string') {
      cpBreak = { firstBrokenSeq: lastGood + 1, reason: `malformed checkpoint (seq ${String(cp.seq)})` };
      break;
    }
    let sigOk = false;
    try {
      sigOk = verifyCheckpointSig(cp) === true;
    } catch {
      sigOk = false;
    }
    if (!sigOk) {
      cpBreak = {
        firstBrokenSeq: cp.seq,
        reason: `checkpoint at seq ${cp.seq} (key ${cp.keyId}): signature does not verify`,
      };
      break;
    }
    if (cp.seq > count) {
      cpBreak = {
        firstBrokenSeq: count + 1,
        reason: `signed checkpoint at seq ${cp.seq} but the log ends at ${count}: records were removed from the end`,
      };
      break;
    }
    if (records[cp.seq - 1].hash !== cp.hash) {
      cpBreak = {
        firstBrokenSeq: lastGood + 1,
        reason: `record ${cp.seq} does not have the hash signed by the checkpoint at seq ${cp.seq}: records ${lastGood + 1}..${cp.seq} were rewritten`,
      };
      break;
    }
    lastGood = cp.seq;
  }

  const broken = [recordBreak, cpBreak]
    .filter((b) => b !== undefined)
    .sort((a, b) => a.firstBrokenSeq - b.firstBrokenSeq)[0];
  if (broken) return { ok: false, ...broken };
  return { ok: true, count, headHash: prev, checkpoints: sorted.length };
}

function recordShapeProblem(r: AuditRecord): string | undefined {
  if (r === null || typeof r !== 'object') return 'not an object';
  if (!Number.isSafeInteger(r.seq)) return 'seq is not an integer';
  if (typeof r.hash !== 'string' || !HASH.test(r.hash)) return 'hash is not 64 lowercase hex digits';
  if (typeof r.prevHash !== 'string' || !HASH.test(r.prevHash)) return 'prevHash is not 64 lowercase hex digits';
  if (
    typeof r.at !== 'string' ||
    typeof r.actor !== 'string' ||
    typeof r.action !== 'string' ||
    typeof r.subject !== 'string'
  )
    return 'missing at/actor/action/subject';
  if (!Array.isArray(r.evidenceHashes)) return 'evidenceHashes is not an array';
  return undefined;
}
