import { hex } from '../../bytes/util.ts';
import { ATTR } from '../../formats/attributes.ts';
import { pceIdHex, type QeIdentityFields } from './sign-collateral.ts';
import { isoDay, isoSeconds, type TcbLevelSpec, type TcbStatus } from './tcb-levels.ts';
import {
  defaultTdxTcbState,
  TDX_COMPONENT_NAMES,
  tdxLevelsOf,
  type TdxLevelSpec,
  type TdxTcbState,
} from './tdx-tcb-state.ts';

/**
 * TDX collateral as Intel's PCS v4 serves it (GET /tdx/certification/v4/tcb and /tdx/certification/v4/qe/identity;
 * the shared tdx-v4-phala vector shows the shape): TCB info v3 with id "TDX", tcbType 0, tdxModule,
 * tdxModuleIdentities (TDX_<major version>, levels by the module's ISVSVN) and per level tdxtcbcomponents
 * (16 svns compared with the quote's TEE_TCB_SVN); the enclave identity of the TD quoting enclave, id "TD_QE".
 * Signed by the emulated manufacturer's TCB Signing key like the SGX ones (Manufacturer.tdxTcbInfo,
 * tdQeIdentity, tdxCollateral; the PCS serves them under /tdx/certification/v4).
 */
export type { TdxLevelSpec };
export { TDX_TCB_CURRENT } from './tdx-tcb-state.ts';

export interface TdxModuleIdentitySpec {
  /** "TDX_01" for a major version 1 module. */
  id: string;
  mrSigner: Uint8Array; // 48
  attributes: Uint8Array; // 8
  attributesMask: Uint8Array; // 8
  levels: Array<{ isvSvn: number; tcbDate: string; status: TcbStatus; advisoryIds: string[] }>;
}

export interface TdxTcbInfoFields {
  fmspc: Uint8Array;
  pceId: number;
  issueDate: Date;
  nextUpdate: Date;
  tcbEvaluationDataNumber: number;
  levels: readonly TdxLevelSpec[];
  /** The module of major version 0 (and the attributes every module must have). */
  tdxModule: { mrSigner: Uint8Array; attributes: Uint8Array; attributesMask: Uint8Array };
  tdxModuleIdentities: readonly TdxModuleIdentitySpec[];
}

const HEX = (b: Uint8Array) => hex(b).toUpperCase();
const advisories = (a: string[]) => (a.length ? { advisoryIDs: [...a] } : {});

export function tdxTcbInfoText(f: TdxTcbInfoFields): string {
  return JSON.stringify({
    id: 'TDX',
    version: 3,
    issueDate: isoSeconds(f.issueDate),
    nextUpdate: isoSeconds(f.nextUpdate),
    fmspc: HEX(f.fmspc),
    pceId: pceIdHex(f.pceId),
    tcbType: 0,
    tcbEvaluationDataNumber: f.tcbEvaluationDataNumber,
    tdxModule: {
      mrsigner: HEX(f.tdxModule.mrSigner),
      attributes: HEX(f.tdxModule.attributes),
      attributesMask: HEX(f.tdxModule.attributesMask),
    },
    tdxModuleIdentities: f.tdxModuleIdentities.map((m) => ({
      id: m.id,
      mrsigner: HEX(m.mrSigner),
      attributes: HEX(m.attributes),
      attributesMask: HEX(m.attributesMask),
      tcbLevels: m.levels.map((l) => ({
        tcb: { isvsvn: l.isvSvn },
        tcbDate: l.tcbDate,
        tcbStatus: l.status,
        ...advisories(l.advisoryIds),
      })),
    })),
    tcbLevels: f.levels.map((l) => ({
      tcb: {
        sgxtcbcomponents: l.components.map((svn) => ({ svn })),
        pcesvn: l.pceSvn,
        tdxtcbcomponents: l.tdxComponents.map((svn, i) => ({ svn, ...TDX_COMPONENT_NAMES[i] })),
      },
      tcbDate: l.tcbDate,
      tcbStatus: l.status,
      ...advisories(l.advisoryIds),
    })),
  });
}

/** The emulated TD QE: ISVPRODID 2 as Intel's, ISVSVN 4. */
export const TD_QE_ISVPRODID = 2;
export const TD_QE_ISVSVN = 4;
/** TDX TCB info fields from an FMSPC's SGX levels and the release's TDX TCB state (tdx-tcb-state.ts). */
export function tdxTcbInfoFields(
  fmspc: Uint8Array,
  pceId: number,
  sgxLevels: readonly TcbLevelSpec[],
  dates: { issueDate: Date; nextUpdate: Date; tcbEvaluationDataNumber: number },
  tdx: TdxTcbState = defaultTdxTcbState(dates.issueDate),
): TdxTcbInfoFields {
  return {
    fmspc,
    pceId,
    ...dates,
    levels: tdxLevelsOf(sgxLevels, tdx),
    tdxModule: {
      mrSigner: new Uint8Array(48),
      attributes: new Uint8Array(8),
      attributesMask: new Uint8Array(8).fill(0xff),
    },
    tdxModuleIdentities: [
      {
        id: 'TDX_01',
        mrSigner: new Uint8Array(48),
        attributes: new Uint8Array(8),
        attributesMask: new Uint8Array(8).fill(0xff),
        levels: tdx.moduleLevels.map((l) => ({ ...l, advisoryIds: [...l.advisoryIds] })),
      },
    ],
  };
}

/** The TD_QE identity of the emulated TD QE (ISVPRODID 2, ISVSVN ≥ 4 UpToDate), signed by `mrSigner`. */
export function tdQeIdentityFields(
  mrSigner: Uint8Array,
  dates: { issueDate: Date; nextUpdate: Date; tcbEvaluationDataNumber: number },
): QeIdentityFields {
  const attrs = new Uint8Array(16);
  new DataView(attrs.buffer).setBigUint64(0, ATTR.INIT | ATTR.MODE64BIT | ATTR.PROVISIONKEY, true);
  return {
    id: 'TD_QE',
    ...dates,
    miscSelect: new Uint8Array(4),
    miscSelectMask: new Uint8Array(4).fill(0xff),
    attributes: attrs,
    attributesMask: Uint8Array.from(Buffer.from('FBFFFFFFFFFFFFFF0000000000000000', 'hex')),
    mrSigner,
    isvProdId: TD_QE_ISVPRODID,
    levels: [{ isvSvn: TD_QE_ISVSVN, tcbDate: isoDay(dates.issueDate), status: 'UpToDate', advisoryIds: [] }],
  };
}
