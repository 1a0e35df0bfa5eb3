import type { CollateralBlob } from './types.ts';

/**
 * The fields of a collateral blob as they are now, to tell later whether the same object still holds
 * them (results derived from a blob — its id, its parsed form, a verification — are remembered per
 * object). Fields are strings, so comparing them is exact and, for the same string, O(1).
 * Undefined for a blob with a non-string field (its content could change without any field changing).
 */
export type CollateralSnapshot = ReadonlyArray<readonly [string, string]>;

export function snapshotOf(blob: CollateralBlob): CollateralSnapshot | undefined {
  const fields = Object.entries(blob);
  return fields.every(([, v]) => typeof v === 'string') ? fields : undefined;
}

/** True when `blob` holds exactly the fields of `snapshot`, in the same order. */
export function unchangedSince(snapshot: CollateralSnapshot, blob: CollateralBlob): boolean {
  const now = Object.entries(blob);
  return now.length === snapshot.length && now.every(([k, v], i) => snapshot[i][0] === k && snapshot[i][1] === v);
}
