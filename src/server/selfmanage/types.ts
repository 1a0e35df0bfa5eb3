import type { CollateralBlob } from '../../chain/types.ts';

/** The four collateral documents a DCAP appraisal needs besides the quote. */
export type CollateralKind = 'tcb-info' | 'qe-identity' | 'pck-crl' | 'root-ca-crl';

/** What one platform's quotes need: its TEE, FMSPC (lowercase hex) and the CA of its PCK certificate. */
export interface CollateralKey {
  teeType: 'sgx' | 'tdx';
  fmspc: string;
  pckCa: 'processor' | 'platform';
}

/** One observation of the monitor (docs/self-management.md#monitor). */
export interface MonitorEvent {
  type: 'collateral.changed' | 'collateral.refused' | 'collateral.unreachable' | 'collateral.stale';
  kind: CollateralKind;
  update?: 'standard' | 'early';
  fmspc?: string;
  ca?: 'processor' | 'platform';
  tcbEvaluationDataNumber?: number;
  previousTcbEvaluationDataNumber?: number;
  /** issueDate (TCB info, QE identity) or thisUpdate (CRL) of the new document. */
  publishedAt?: string;
  /** Early TCB info: the tcbRecoveryEventDate the PCS's tcbevaluationdatanumbers list gives its number. */
  tcbRecoveryEventDate?: string;
  detectedAt: string;
  /** refused / unreachable: the stable error code of the failing check (docs/errors.md). */
  reason?: string;
  /** refused / unreachable / stale: the human-readable why (never branch on it). */
  detail?: string;
}

/** A complete collateral set the monitor holds for a key and release. */
export interface HeldCollateral {
  blob: CollateralBlob;
  /** The earliest nextUpdate of its four documents. */
  nextUpdate: Date;
  /** The TCB info's. */
  tcbEvaluationDataNumber: number;
  tcbRecoveryEventDate?: string;
}

export type Release = 'standard' | 'early';
