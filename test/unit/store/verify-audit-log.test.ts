import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { generateP256, p256Sign, p256Verify } from '../../../src/crypto/ecdsa.ts';
import {
  auditRecordHash,
  checkpointSigningBytes,
  verifyAuditLog,
  ZERO_HASH,
  type AuditRecord,
  type Checkpoint,
} from '../../../src/store/index.ts';

/** Builds a well-formed log from arbitrary record contents (what the store does on each write). */
function buildLog(
  contents: Array<{ actor: string; action: string; subject: string; detail: unknown; evidenceHashes: string[] }>,
): AuditRecord[] {
  const out: AuditRecord[] = [];
  let prev = ZERO_HASH;
  contents.forEach((c, i) => {
    const body = { seq: i + 1, at: new Date(1_700_000_000_000 + i * 1000).toISOString(), ...c, prevHash: prev };
    const rec = { ...body, hash: auditRecordHash(body) };
    out.push(rec);
    prev = rec.hash;
  });
  return out;
}

const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const content = fc.record({
  actor: fc.string({ minLength: 1, maxLength: 8 }),
  action: fc.constantFrom('chain.create', 'element.append', 'element.update'),
  subject: fc.string({ maxLength: 12 }),
  detail: fc.jsonValue({ maxDepth: 2 }),
  evidenceHashes: fc.array(hex64, { maxLength: 2 }),
});
const log = fc.array(content, { minLength: 1, maxLength: 12 }).map(buildLog);
const always = () => true;

test('an intact log verifies, with its count and head hash (property)', () => {
  fc.assert(
    fc.property(log, (records) => {
      assert.deepEqual(verifyAuditLog(records, [], always), {
        ok: true,
        count: records.length,
        headHash: records[records.length - 1].hash,
        checkpoints: 0,
      });
    }),
    { numRuns: 100 },
  );
});

test('changing any field of any record is named at that record (property)', () => {
  const fields = ['at', 'actor', 'action', 'subject', 'detail', 'evidenceHashes'] as const;
  fc.assert(
    fc.property(log, fc.nat(), fc.constantFrom(...fields), (records, at, field) => {
      const i = at % records.length;
      const r = { ...records[i] } as Record<string, unknown>;
      r[field] =
        field === 'evidenceHashes'
          ? [...records[i].evidenceHashes, '0'.repeat(64)]
          : field === 'detail'
            ? { tampered: records[i].detail }
            : `${String(r[field])}!`;
      const tampered = records.map((x, k) => (k === i ? (r as unknown as AuditRecord) : x));
      const v = verifyAuditLog(tampered, [], always);
      assert.equal(v.ok, false);
      assert.equal(!v.ok && v.firstBrokenSeq, i + 1);
    }),
    { numRuns: 150 },
  );
});

test('removing a record is named by the missing seq; swapping two is caught (property)', () => {
  fc.assert(
    fc.property(
      log.filter((l) => l.length >= 2),
      fc.nat(),
      (records, at) => {
        const i = at % records.length;
        const v = verifyAuditLog(
          records.filter((_, k) => k !== i),
          [],
          always,
        );
        if (i === records.length - 1) {
          assert.equal(v.ok, true); // a cut-off tail needs a checkpoint to be seen (next test)
        } else {
          assert.equal(!v.ok && v.firstBrokenSeq, i + 1);
          assert.match(!v.ok ? v.reason : '', /missing/);
        }
        const j = Math.min(i + 1, records.length - 1);
        if (j !== i) {
          const swapped = [...records];
          [swapped[i], swapped[j]] = [swapped[j], swapped[i]];
          const s = verifyAuditLog(swapped, [], always);
          assert.equal(!s.ok && s.firstBrokenSeq, i + 1);
        }
      },
    ),
    { numRuns: 100 },
  );
});

test('signed checkpoints: a cut-off tail, a rewrite and a bad signature are named', () => {
  const key = generateP256();
  const records = buildLog(
    Array.from({ length: 10 }, (_, i) => ({
      actor: 'a',
      action: 'element.append',
      subject: `e${i}`,
      detail: { i },
      evidenceHashes: [],
    })),
  );
  const cp = (seq: number, hash = records[seq - 1].hash): Checkpoint => {
    const body = { seq, hash, keyId: 'k1', at: '2025-01-01T00:00:00.000Z' };
    return { ...body, signature: Buffer.from(p256Sign(key.privateKey, checkpointSigningBytes(body))).toString('hex') };
  };
  const sigOk = (c: Checkpoint) =>
    p256Verify(key.publicKey, checkpointSigningBytes(c), new Uint8Array(Buffer.from(c.signature, 'hex')));
  const cps = [cp(4), cp(8)];
  assert.deepEqual(verifyAuditLog(records, cps, sigOk), {
    ok: true,
    count: 10,
    headHash: records[9].hash,
    checkpoints: 2,
  });

  // Tail cut after seq 6: the checkpoint at 8 proves records 7.. existed.
  const cut = verifyAuditLog(records.slice(0, 6), cps, sigOk);
  assert.deepEqual(cut.ok ? null : cut.firstBrokenSeq, 7);

  // Record 6 changed and every later hash recomputed: the chain is consistent, the checkpoint at 8 is not;
  // the checkpoint at 4 still matches, so the rewrite is placed after 4.
  const forged = buildLog(
    records.map((r, i) => ({
      actor: r.actor,
      action: r.action,
      subject: r.subject,
      detail: i === 5 ? { i: 'forged' } : r.detail,
      evidenceHashes: r.evidenceHashes,
    })),
  );
  assert.equal(verifyAuditLog(forged, [], always).ok, true);
  const f = verifyAuditLog(forged, cps, sigOk);
  assert.deepEqual(f.ok ? null : [f.firstBrokenSeq, /rewritten/.test(f.reason)], [5, true]);

  // A checkpoint whose signature does not verify (here: its seq edited) is named at its seq.
  const bad = { ...cp(4), seq: 3, hash: records[2].hash };
  const b = verifyAuditLog(records, [bad], sigOk);
  assert.deepEqual(b.ok ? null : b.firstBrokenSeq, 3);
  // A verifier that throws counts as a failed signature, not a crash.
  const t = verifyAuditLog(records, [cp(2)], () => {
    throw new Error('boom');
  });
  assert.equal(t.ok, false);
});

test('malformed records are reported, never thrown', () => {
  const records = buildLog([{ actor: 'a', action: 'chain.create', subject: 's', detail: {}, evidenceHashes: [] }]);
  for (const broken of [
    { ...records[0], hash: 'xyz' },
    { ...records[0], seq: '1' },
    { ...records[0], detail: 1n },
    null,
  ]) {
    const v = verifyAuditLog([broken as unknown as AuditRecord], [], always);
    assert.deepEqual(v.ok ? null : v.firstBrokenSeq, 1);
  }
  assert.deepEqual(verifyAuditLog([], [], always), { ok: true, count: 0, headHash: ZERO_HASH, checkpoints: 0 });
});
