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
  type Json,
  type TcbStatus,
} from './json-fields.ts';

/**
 * Intel TCB info JSON (PCS `GET /sgx|tdx/certification/v4/tcb`, the signed `tcbInfo` object), versions 2 and 3.
 *
 *   v2 (SGX only):  version 2, issueDate, nextUpdate, fmspc (hex 6), pceId (hex 2), tcbType, tcbEvaluationDataNumber,
 *                   tcbLevels[]: { tcb: { sgxtcbcomp01svn … sgxtcbcomp16svn, pcesvn }, tcbDate, tcbStatus, advisoryIDs? }
 *   v3 (SGX, TDX):  id "SGX" | "TDX", version 3, the same header fields,
 *                   tdxModule? { mrsigner (hex 48), attributes (hex 8), attributesMask (hex 8) },
 *                   tdxModuleIdentities?[]: { id "TDX_xx", mrsigner, attributes, attributesMask, tcbLevels[]: { tcb: { isvsvn }, tcbDate, tcbStatus, advisoryIDs? } },
 *                   tcbLevels[]: { tcb: { sgxtcbcomponents[16]: { svn, category?, type? }, pcesvn, tdxtcbcomponents?[16] }, tcbDate, tcbStatus, advisoryIDs? }
 *
 * Levels are listed from the highest TCB down; the verifier takes the first level the platform reaches.
 */
export type { TcbStatus } from './json-fields.ts';
export { TCB_STATUSES } from './json-fields.ts';

export interface TcbLevel {
  sgxComponents: number[];
  pceSvn: number;
  /** v3 TDX only: the 16 TEE TCB SVN components. */
  tdxComponents?: number[];
  /** v3: each SGX component's `category` and `type` (e.g. "BIOS", "Early Microcode Update") where the TCB info names them. */
  sgxComponentNames?: Array<{ category?: string; type?: string }>;
  /** v3 TDX: each TEE_TCB_SVN component's `category` and `type` (e.g. "TDX Module") where the TCB info names them. */
  tdxComponentNames?: Array<{ category?: string; type?: string }>;
  tcbDate: Date;
  tcbStatus: TcbStatus;
  advisoryIds: string[];
}

export interface TdxModule {
  mrSigner: Uint8Array;
  attributes: Uint8Array;
  attributesMask: Uint8Array;
}

export interface TdxModuleIdentity extends TdxModule {
  id: string;
  tcbLevels: Array<{ isvSvn: number; tcbDate: Date; tcbStatus: TcbStatus; advisoryIds: string[] }>;
}

export interface TcbInfo {
  id: 'SGX' | 'TDX';
  version: 2 | 3;
  issueDate: Date;
  nextUpdate: Date;
  fmspc: Uint8Array;
  pceId: Uint8Array;
  tcbType: number;
  tcbEvaluationDataNumber: number;
  tdxModule?: TdxModule;
  tdxModuleIdentities?: TdxModuleIdentity[];
  tcbLevels: TcbLevel[];
}

const W = 'TCB info';
const CODE = 'ERR_TCB_INFO_FORMAT';

function components(v: unknown, what: string): number[] {
  const a = arr(v, what, CODE);
  if (a.length !== 16) jsonFail(W, `${what}: expected 16 components, got ${a.length}`, CODE);
  return a.map((c, i) => uint(obj(c, `${what}[${i}]`, CODE), 'svn', `${W} ${what}[${i}]`, CODE, 255));
}

/** The optional `category` / `type` strings of v3 components (names for explanations; not used in matching). */
function componentNames(v: unknown, what: string): Array<{ category?: string; type?: string }> {
  return arr(v, what, CODE).map((c, i) => {
    const o = obj(c, `${what}[${i}]`, CODE);
    const out: { category?: string; type?: string } = {};
    for (const k of ['category', 'type'] as const) {
      if (o[k] === undefined) continue;
      if (typeof o[k] !== 'string') jsonFail(W, `${what}[${i}].${k} is not a string`, CODE);
      out[k] = o[k];
    }
    return out;
  });
}

function tdxModuleOf(o: Json, what: string): TdxModule {
  return {
    mrSigner: hexField(o, 'mrsigner', 48, what, CODE),
    attributes: hexField(o, 'attributes', 8, what, CODE),
    attributesMask: hexField(o, 'attributesMask', 8, what, CODE),
  };
}

/** Parses the signed `tcbInfo` object text (not the PCS body around it). */
export function parseTcbInfo(text: string): TcbInfo {
  const o = parseJsonObject(text, W, CODE);
  const version = uint(o, 'version', W, CODE);
  if (version !== 2 && version !== 3) jsonFail(W, `unsupported version ${version}`, 'ERR_TCB_INFO_VERSION');
  let id: 'SGX' | 'TDX' = 'SGX';
  if (version === 3) {
    const s = str(o, 'id', W, CODE);
    if (s !== 'SGX' && s !== 'TDX') jsonFail(W, `unknown id ${s}`, CODE);
    id = s;
  } else if (o.id !== undefined) jsonFail(W, 'v2 has no id field', CODE);
  const info: TcbInfo = {
    id,
    version,
    issueDate: dateField(o, 'issueDate', W, CODE),
    nextUpdate: dateField(o, 'nextUpdate', W, CODE),
    fmspc: hexField(o, 'fmspc', 6, W, CODE),
    pceId: hexField(o, 'pceId', 2, W, CODE),
    tcbType: uint(o, 'tcbType', W, CODE),
    tcbEvaluationDataNumber: uint(o, 'tcbEvaluationDataNumber', W, CODE),
    // Stryker disable next-line ArrayDeclaration: replaced below by the parsed levels before it is returned
    tcbLevels: [],
  };
  if (info.tcbType !== 0) jsonFail(W, `unsupported tcbType ${info.tcbType}`, CODE);
  if (id === 'TDX') {
    info.tdxModule = tdxModuleOf(obj(o.tdxModule, `${W}.tdxModule`, CODE), `${W}.tdxModule`);
    if (o.tdxModuleIdentities !== undefined) {
      info.tdxModuleIdentities = arr(o.tdxModuleIdentities, 'tdxModuleIdentities', CODE).map((m, i) => {
        const mo = obj(m, `tdxModuleIdentities[${i}]`, CODE);
        const what = `${W}.tdxModuleIdentities[${i}]`;
        return {
          id: str(mo, 'id', what, CODE),
          ...tdxModuleOf(mo, what),
          tcbLevels: arr(mo.tcbLevels, `${what}.tcbLevels`, CODE).map((l, j) => {
            const lo = obj(l, `${what}.tcbLevels[${j}]`, CODE);
            const lw = `${what}.tcbLevels[${j}]`;
            return {
              isvSvn: uint(obj(lo.tcb, `${lw}.tcb`, CODE), 'isvsvn', lw, CODE, 255),
              tcbDate: dateField(lo, 'tcbDate', lw, CODE),
              tcbStatus: statusField(lo, lw, CODE),
              advisoryIds: advisoriesField(lo, lw, CODE),
            };
          }),
        };
      });
    }
  }
  const levels = arr(o.tcbLevels, 'tcbLevels', CODE);
  if (levels.length === 0) jsonFail(W, 'no tcbLevels', CODE);
  info.tcbLevels = levels.map((l, i) => {
    const what = `${W}.tcbLevels[${i}]`;
    const lo = obj(l, what, CODE);
    const tcb = obj(lo.tcb, `${what}.tcb`, CODE);
    let sgxComponents: number[];
    let tdxComponents: number[] | undefined;
    let names: Array<{ category?: string; type?: string }> | undefined;
    let tdxNames: Array<{ category?: string; type?: string }> | undefined;
    if (version === 2) {
      sgxComponents = [];
      for (let c = 1; c <= 16; c++)
        sgxComponents.push(uint(tcb, `sgxtcbcomp${String(c).padStart(2, '0')}svn`, what, CODE, 255));
    } else {
      sgxComponents = components(tcb.sgxtcbcomponents, `tcbLevels[${i}].sgxtcbcomponents`);
      names = componentNames(tcb.sgxtcbcomponents, `tcbLevels[${i}].sgxtcbcomponents`);
      if (id === 'TDX') {
        tdxComponents = components(tcb.tdxtcbcomponents, `tcbLevels[${i}].tdxtcbcomponents`);
        tdxNames = componentNames(tcb.tdxtcbcomponents, `tcbLevels[${i}].tdxtcbcomponents`);
      }
    }
    const level: TcbLevel = {
      sgxComponents,
      pceSvn: uint(tcb, 'pcesvn', what, CODE, 0xffff),
      tcbDate: dateField(lo, 'tcbDate', what, CODE),
      tcbStatus: statusField(lo, what, CODE),
      advisoryIds: advisoriesField(lo, what, CODE),
    };
    if (tdxComponents) level.tdxComponents = tdxComponents;
    if (names && names.some((n) => n.category !== undefined || n.type !== undefined)) level.sgxComponentNames = names;
    if (tdxNames && tdxNames.some((n) => n.category !== undefined || n.type !== undefined))
      level.tdxComponentNames = tdxNames;
    return level;
  });
  return info;
}
