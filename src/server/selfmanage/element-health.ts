import type { ReactionEvent } from '../../chain/types.ts';

/**
 * An element's state as the manager last appraised its stored evidence (docs/self-management.md):
 * - `valid`: evidence and collateral satisfy the chain policy;
 * - `at-risk`: valid today, but the early collateral (a TCB recovery not yet promoted) would fail it;
 * - `degraded`: the current collateral puts it outside the policy (TCB status, advisories, QE);
 * - `revoked`: its PCK certificate or a CA above it is revoked;
 * - `stale`: its collateral is past nextUpdate, or its evidence older than the policy allows;
 * - `quarantined`: set aside by a reaction (or an operator); no longer trusted, kept for the record.
 */
export type ElementState = 'valid' | 'at-risk' | 'degraded' | 'revoked' | 'stale' | 'quarantined';
export const ELEMENT_STATES: readonly ElementState[] = [
  'valid',
  'at-risk',
  'degraded',
  'revoked',
  'stale',
  'quarantined',
];

export interface ElementHealth {
  state: ElementState;
  /** Why, when not valid: the failing check and its message. */
  cause?: string;
  check?: string;
  /** The event kind this state raises (reactions are keyed by it). */
  event?: ReactionEvent;
  /** When the state was entered (ISO 8601). */
  since: string;
  /** TCB status under the current (standard) collateral, when it was appraised. */
  tcbStatus?: string;
  /** at-risk: the status under the early collateral, and when that release takes effect. */
  predictedTcbStatus?: string;
  predictedAt?: string;
  /**
   * TD evidence: its TDX TCB in words — which TDX module or TEE_TCB_SVN component moved, old → new
   * status, what the UpToDate level needs (src/server/selfmanage/td-words.ts).
   */
  explanation?: string;
}

/** The reaction event a state raises; valid and quarantined raise none. */
export function eventOfState(state: ElementState, staleBecause?: 'evidence' | 'collateral'): ReactionEvent | undefined {
  switch (state) {
    case 'at-risk':
      return 'tcb-predicted-downgrade';
    case 'degraded':
      return 'tcb-downgrade';
    case 'revoked':
      return 'revoked';
    case 'stale':
      return staleBecause === 'evidence' ? 'evidence-stale' : 'collateral-stale';
    default:
      return undefined;
  }
}
