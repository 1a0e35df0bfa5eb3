import type { KeyObject } from 'node:crypto';
import { hex } from '../../bytes/util.ts';
import { p256Sign } from '../../crypto/ecdsa.ts';
import { isoSeconds, type TcbLevelSpec, type TcbStatus } from './tcb-levels.ts';

/**
 * TCB info v3 and QE identity v2, written and signed the way Intel's PCS does it: the inner object
 * is compact JSON with Intel's field order, the signature is ECDSA P-256 / SHA-256 over exactly
 * that text, as 64-byte r‖s in lower-case hex, and the body is
 *   {"tcbInfo":<text>,"signature":"<hex>"}   or   {"enclaveIdentity":<text>,"signature":"<hex>"}
 * with the text embedded verbatim (so a verifier slices it out of the body; re-serialising it with
 * JSON.stringify also gives it back byte for byte, which dcap-qvl's PCS client relies on).
 *
 * Field order and formats, as in Intel's bodies (see ../shared/vectors/sgx-v3-zkdcap):
 *   tcbInfo: id "SGX", version 3, issueDate, nextUpdate ("2025-01-21T10:45:51Z"), fmspc (12 upper-case
 *     hex), pceId (4 upper-case hex: the 2 bytes as in the quote header, little-endian), tcbType 0,
 *     tcbEvaluationDataNumber, tcbLevels [{ tcb: { sgxtcbcomponents: [{svn}×16], pcesvn }, tcbDate,
 *     tcbStatus, advisoryIDs (left out when empty) }].
 *   enclaveIdentity: id "QE", version 2, issueDate, nextUpdate, tcbEvaluationDataNumber, miscselect
 *     (8 hex: the 4 bytes as in REPORT), miscselectMask, attributes (32 hex: the 16 bytes as in
 *     REPORT), attributesMask, mrsigner (64 upper-case hex), isvprodid, tcbLevels [{ tcb: { isvsvn },
 *     tcbDate, tcbStatus, advisoryIDs (left out when empty) }].
 */
export interface SignedCollateral {
  /** The exact signed text of the inner object. */
  text: string;
  /** 64-byte r‖s. */
  signature: Uint8Array;
  /** The PCS body. */
  body: string;
}

export interface TcbInfoFields {
  fmspc: Uint8Array;
  pceId: number;
  issueDate: Date;
  nextUpdate: Date;
  tcbEvaluationDataNumber: number;
  levels: readonly TcbLevelSpec[];
}

export interface QeLevelSpec {
  isvSvn: number;
  tcbDate: string;
  status: TcbStatus;
  advisoryIds: string[];
}

export interface QeIdentityFields {
  /** Default 'QE' (SGX QE3); 'TD_QE' for the TD quoting enclave. */
  id?: 'QE' | 'TD_QE';
  issueDate: Date;
  nextUpdate: Date;
  tcbEvaluationDataNumber: number;
  miscSelect: Uint8Array;
  miscSelectMask: Uint8Array;
  attributes: Uint8Array;
  attributesMask: Uint8Array;
  mrSigner: Uint8Array;
  isvProdId: number;
  levels: readonly QeLevelSpec[];
}

const HEX = (b: Uint8Array) => hex(b).toUpperCase();

export function pceIdHex(pceId: number): string {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, pceId, true);
  return HEX(b);
}

export function tcbInfoText(f: TcbInfoFields): string {
  return JSON.stringify({
    id: 'SGX',
    version: 3,
    issueDate: isoSeconds(f.issueDate),
    nextUpdate: isoSeconds(f.nextUpdate),
    fmspc: HEX(f.fmspc),
    pceId: pceIdHex(f.pceId),
    tcbType: 0,
    tcbEvaluationDataNumber: f.tcbEvaluationDataNumber,
    tcbLevels: f.levels.map((l) => ({
      tcb: { sgxtcbcomponents: l.components.map((svn) => ({ svn })), pcesvn: l.pceSvn },
      tcbDate: l.tcbDate,
      tcbStatus: l.status,
      ...(l.advisoryIds.length ? { advisoryIDs: [...l.advisoryIds] } : {}),
    })),
  });
}

export function qeIdentityText(f: QeIdentityFields): string {
  return JSON.stringify({
    id: f.id ?? 'QE',
    version: 2,
    issueDate: isoSeconds(f.issueDate),
    nextUpdate: isoSeconds(f.nextUpdate),
    tcbEvaluationDataNumber: f.tcbEvaluationDataNumber,
    miscselect: HEX(f.miscSelect),
    miscselectMask: HEX(f.miscSelectMask),
    attributes: HEX(f.attributes),
    attributesMask: HEX(f.attributesMask),
    mrsigner: HEX(f.mrSigner),
    isvprodid: f.isvProdId,
    tcbLevels: f.levels.map((l) => ({
      tcb: { isvsvn: l.isvSvn },
      tcbDate: l.tcbDate,
      tcbStatus: l.status,
      ...(l.advisoryIds.length ? { advisoryIDs: [...l.advisoryIds] } : {}),
    })),
  });
}

/** One entry of Intel's TCB evaluation data numbers list. */
export interface TcbEvalNumberSpec {
  tcbEvaluationDataNumber: number;
  /** ISO 8601 UTC, whole seconds. */
  tcbRecoveryEventDate: string;
  tcbDate: string;
}

/**
 * Intel's TCB Evaluation Data Numbers v1 (PCS v4 `GET /sgx/certification/v4/tcbevaluationdatanumbers`):
 * {"id":"SGX","version":1,"issueDate","nextUpdate","tcbEvalNumbers":[{tcbEvaluationDataNumber,
 * tcbRecoveryEventDate, tcbDate}]}, newest first, signed by the TCB Signing key like TCB info.
 */
export function tcbEvaluationDataNumbersText(f: {
  /** SGX (default) or TDX: the list of /sgx/… or of /tdx/certification/v4/tcbevaluationdatanumbers. */
  id?: 'SGX' | 'TDX';
  issueDate: Date;
  nextUpdate: Date;
  numbers: readonly TcbEvalNumberSpec[];
}): string {
  return JSON.stringify({
    id: f.id ?? 'SGX',
    version: 1,
    issueDate: isoSeconds(f.issueDate),
    nextUpdate: isoSeconds(f.nextUpdate),
    tcbEvalNumbers: f.numbers.map((n) => ({
      tcbEvaluationDataNumber: n.tcbEvaluationDataNumber,
      tcbRecoveryEventDate: n.tcbRecoveryEventDate,
      tcbDate: n.tcbDate,
    })),
  });
}

export function signTcbEvaluationDataNumbers(
  f: { id?: 'SGX' | 'TDX'; issueDate: Date; nextUpdate: Date; numbers: readonly TcbEvalNumberSpec[] },
  signingKey: KeyObject,
): SignedCollateral {
  return sign('tcbEvaluationDataNumbers', tcbEvaluationDataNumbersText(f), signingKey);
}

/** Signs the exact text of a collateral object and wraps it in its PCS body. */
export function sign(
  key: 'tcbInfo' | 'enclaveIdentity' | 'tcbEvaluationDataNumbers',
  text: string,
  signingKey: KeyObject,
): SignedCollateral {
  const signature = p256Sign(signingKey, new TextEncoder().encode(text));
  return { text, signature, body: `{"${key}":${text},"signature":"${hex(signature)}"}` };
}

export function signTcbInfo(f: TcbInfoFields, signingKey: KeyObject): SignedCollateral {
  return sign('tcbInfo', tcbInfoText(f), signingKey);
}

export function signQeIdentity(f: QeIdentityFields, signingKey: KeyObject): SignedCollateral {
  return sign('enclaveIdentity', qeIdentityText(f), signingKey);
}
