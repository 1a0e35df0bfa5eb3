import type { KeyObject } from 'node:crypto';
import type { Store } from '../../store/types.ts';
import { verifyAuditLog } from '../../store/verify-audit-log.ts';
import { checkpointVerifier } from '../../server/manager-key.ts';

/** What reading a chain back from the store says about the appends the replicas acknowledged. */
export interface ReadBack {
  /** Acknowledged links (201) whose element is not in the stored chain. */
  lost: number;
  /** ackedTwice + seqDuplicates + missingParents + (audit log broken ? 1 : 0). */
  forks: number;
  detail: {
    /** One link acknowledged by more than one replica (it must be stored once: the loser answers 409). */
    ackedTwice: number;
    seqDuplicates: number;
    /** Gaps in the chain's seq numbers (nothing is removed during a run, so any gap is a lost write). */
    seqHoles: number;
    missingParents: number;
    storedElements: number;
    auditRecords: number;
    auditValid: boolean;
    auditFailure?: string;
  };
}

/**
 * Reads the chain and the whole audit log back from the store (not from any replica's memory) and
 * counts what was lost or forked: `acked` maps each element id to the number of 201 answers it got.
 */
export async function readBack(
  store: Store,
  chainId: string,
  acked: Map<string, number>,
  managerKey: KeyObject,
): Promise<ReadBack> {
  const rows = await store.listElements(chainId);
  const ids = new Set(rows.map((r) => r.id));
  const lost = [...acked.keys()].filter((id) => !ids.has(id)).length;
  const ackedTwice = [...acked.values()].filter((n) => n > 1).length;
  const seqs = rows.map((r) => r.seq).sort((a, b) => a - b);
  let seqDuplicates = 0;
  let seqHoles = 0;
  for (let i = 1; i < seqs.length; i++) {
    if (seqs[i] === seqs[i - 1]) seqDuplicates++;
    else if (seqs[i] !== seqs[i - 1] + 1) seqHoles += seqs[i] - seqs[i - 1] - 1;
  }
  if (seqs.length > 0 && seqs[0] !== 1) seqHoles += seqs[0] - 1;
  const missingParents = rows.filter((r) => r.parentId !== null && !ids.has(r.parentId)).length;
  const records = [];
  for (let after = 0; ;) {
    const page = await store.listAudit({ afterSeq: after, limit: 10_000 });
    if (page.length === 0) break;
    records.push(...page);
    after = page[page.length - 1].seq;
  }
  const audit = verifyAuditLog(records, await store.listCheckpoints(), checkpointVerifier(managerKey));
  return {
    lost: lost + seqHoles,
    forks: ackedTwice + seqDuplicates + missingParents + (audit.ok ? 0 : 1),
    detail: {
      ackedTwice,
      seqDuplicates,
      seqHoles,
      missingParents,
      storedElements: rows.length,
      auditRecords: records.length,
      auditValid: audit.ok,
      ...(audit.ok ? {} : { auditFailure: JSON.stringify(audit).slice(0, 300) }),
    },
  };
}
