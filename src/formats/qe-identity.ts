import {
  advisoriesField,
  arr,
  dateField,
  hexField,
  jsonFail,
  obj,
  parseJsonObject,
  statusField,
  str,
  uint,
  type TcbStatus,
} from './json-fields.ts';

/**
 * Intel enclave identity JSON, version 2 (PCS `GET /sgx|tdx/certification/v4/qe/identity`, the signed
 * `enclaveIdentity` object):
 *
 *   id "QE" | "QVE" | "TD_QE", version 2, issueDate, nextUpdate, tcbEvaluationDataNumber,
 *   miscselect (hex 4), miscselectMask (hex 4), attributes (hex 16), attributesMask (hex 16),
 *   mrsigner (hex 32), isvprodid,
 *   tcbLevels[]: { tcb: { isvsvn }, tcbDate, tcbStatus, advisoryIDs? }   (highest ISVSVN first)
 *
 * MISCSELECT is compared as the little-endian u32 the hex spells byte by byte, ATTRIBUTES byte by byte.
 */
export interface EnclaveIdentityLevel {
  isvSvn: number;
  tcbDate: Date;
  tcbStatus: TcbStatus;
  advisoryIds: string[];
}

export interface EnclaveIdentity {
  id: 'QE' | 'QVE' | 'TD_QE';
  version: 2;
  issueDate: Date;
  nextUpdate: Date;
  tcbEvaluationDataNumber: number;
  miscSelect: Uint8Array;
  miscSelectMask: Uint8Array;
  attributes: Uint8Array;
  attributesMask: Uint8Array;
  mrSigner: Uint8Array;
  isvProdId: number;
  tcbLevels: EnclaveIdentityLevel[];
}

const W = 'QE identity';
const CODE = 'ERR_QE_IDENTITY_FORMAT';

/** Parses the signed `enclaveIdentity` object text. */
export function parseQeIdentity(text: string): EnclaveIdentity {
  const o = parseJsonObject(text, W, CODE);
  const version = uint(o, 'version', W, CODE);
  if (version !== 2) jsonFail(W, `unsupported version ${version}`, 'ERR_QE_IDENTITY_VERSION');
  const id = str(o, 'id', W, CODE);
  if (id !== 'QE' && id !== 'QVE' && id !== 'TD_QE') jsonFail(W, `unknown id ${id}`, CODE);
  const levels = arr(o.tcbLevels, 'tcbLevels', CODE);
  if (levels.length === 0) jsonFail(W, 'no tcbLevels', CODE);
  return {
    id,
    version,
    issueDate: dateField(o, 'issueDate', W, CODE),
    nextUpdate: dateField(o, 'nextUpdate', W, CODE),
    tcbEvaluationDataNumber: uint(o, 'tcbEvaluationDataNumber', W, CODE),
    miscSelect: hexField(o, 'miscselect', 4, W, CODE),
    miscSelectMask: hexField(o, 'miscselectMask', 4, W, CODE),
    attributes: hexField(o, 'attributes', 16, W, CODE),
    attributesMask: hexField(o, 'attributesMask', 16, W, CODE),
    mrSigner: hexField(o, 'mrsigner', 32, W, CODE),
    isvProdId: uint(o, 'isvprodid', W, CODE, 0xffff),
    tcbLevels: levels.map((l, i) => {
      const what = `${W}.tcbLevels[${i}]`;
      const lo = obj(l, what, CODE);
      return {
        isvSvn: uint(obj(lo.tcb, `${what}.tcb`, CODE), 'isvsvn', what, CODE, 0xffff),
        tcbDate: dateField(lo, 'tcbDate', what, CODE),
        tcbStatus: statusField(lo, what, CODE),
        advisoryIds: advisoriesField(lo, what, CODE),
      };
    }),
  };
}
