import { collateralToQvlJson } from '../../attestation/collateral/from-qvl-json.ts';
import type { CrlDocument, SignedDocument } from './accept-document.ts';
import type { CollateralKind, HeldCollateral } from './types.ts';

export interface SetDocuments {
  tcbInfo: SignedDocument;
  qeIdentity: SignedDocument;
  pckCrl: CrlDocument;
  rootCaCrl: CrlDocument;
}

/** The document of a set that expires first, and when. */
export function earliestExpiry(d: SetDocuments): { kind: CollateralKind; nextUpdate: Date } {
  const all: Array<[CollateralKind, Date]> = [
    ['tcb-info', d.tcbInfo.nextUpdate],
    ['qe-identity', d.qeIdentity.nextUpdate],
    ['pck-crl', d.pckCrl.nextUpdate],
    ['root-ca-crl', d.rootCaCrl.nextUpdate],
  ];
  const [kind, nextUpdate] = all.reduce((a, b) => (b[1] < a[1] ? b : a));
  return { kind, nextUpdate };
}

/** A held set as the dcap-qvl collateral blob the chain stores and dcapRemoteVerifier(root) reads. */
export function heldCollateral(d: SetDocuments, origin: string, tcbRecoveryEventDate?: string): HeldCollateral {
  const blob = collateralToQvlJson({
    tcbInfo: d.tcbInfo.signed,
    tcbSigningChain: d.tcbInfo.chain,
    qeIdentity: d.qeIdentity.signed,
    qeIdentitySigningChain: d.qeIdentity.chain,
    pckCrl: d.pckCrl.der,
    ...(d.pckCrl.issuerChain ? { pckCrlIssuerChain: d.pckCrl.issuerChain } : {}),
    rootCaCrl: d.rootCaCrl.der,
    origin,
  });
  return {
    blob,
    nextUpdate: earliestExpiry(d).nextUpdate,
    tcbEvaluationDataNumber: d.tcbInfo.tcbEvaluationDataNumber,
    ...(tcbRecoveryEventDate ? { tcbRecoveryEventDate } : {}),
  };
}
