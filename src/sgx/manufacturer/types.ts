import type { Attributes } from '../../formats/attributes.ts';
import type { QeLevelSpec, SignedCollateral } from './sign-collateral.ts';

/** The public types of the emulated manufacturer (manufacturer.ts). */
export type PckCa = 'processor' | 'platform';
export type CrlList = 'root' | PckCa;

/** What a PCK certificate says about a platform (the fields of Intel's SGX extension). */
export interface PlatformDescription {
  ppid: Uint8Array;
  fmspc: Uint8Array;
  pceId: number;
  pceSvn: number;
  cpuSvn: Uint8Array;
  tcbComponents: number[];
  /** Platform CA certificates only; default: derived from the PPID. */
  platformInstanceId?: Uint8Array;
  /** Platform CA certificates only; default all false. */
  configuration?: { dynamicPlatform: boolean; cachedKeys: boolean; smtEnabled: boolean };
}

/** The emulated QE as the QE identity describes it. */
export interface QeDescription {
  mrSigner: Uint8Array;
  isvProdId: number;
  isvSvn: number;
  /** MISCSELECT as a number, or its 4 bytes as in REPORT. */
  miscSelect: number | Uint8Array;
  /** ATTRIBUTES as {flags, xfrm}, or its 16 bytes as in REPORT. */
  attributes: Attributes | Uint8Array;
  /** Default FFFFFFFF. */
  miscSelectMask?: number | Uint8Array;
  /** Default Intel's: FBFFFFFFFFFFFFFF0000000000000000 (every flag but MODE64BIT, no XFRM bit). */
  attributesMask?: Attributes | Uint8Array;
  /** Default: isvSvn UpToDate, everything below OutOfDate (CATENA-SA-00003). */
  levels?: QeLevelSpec[];
}

export interface ManufacturerOptions {
  /** Base URL of the PCS that serves this manufacturer's CRLs (named in the certificates' CRL distribution points). */
  pcsUrl?: string;
  /** Time source, for tests; default the system clock one hour back (see ISSUE_BACKDATE_MS). */
  clock?: () => Date;
  /** nextUpdate − issueDate of TCB info, QE identity and CRLs. Default 30 days, as Intel. */
  collateralValidityDays?: number;
  /** The first tcbEvaluationDataNumber. Default 1. */
  tcbEvaluationDataNumber?: number;
  qe?: QeDescription;
}

/** One issued PCK certificate. */
export interface PckRecord {
  /** Lower-case hex, as in the certificate (no sign padding). */
  serial: string;
  ca: PckCa;
  ppid: Uint8Array;
  fmspc: Uint8Array;
  pceId: number;
  pceSvn: number;
  cpuSvn: Uint8Array;
  tcbComponents: number[];
  issued: Date;
  der: Uint8Array;
}

/** The shape the quoting service (src/sgx/qe) asks of the manufacturer: its PckIssuer, one type. */
export type { PckIssuer as PckChainIssuer } from '../qe/quoting-service.ts';

/** Everything a verifier needs besides the quote, for one FMSPC and PCK CA. */
export interface CollateralSet {
  fmspc: Uint8Array;
  ca: PckCa;
  tcbInfo: SignedCollateral;
  qeIdentity: SignedCollateral;
  /** [TCB Signing, root] (DER). */
  tcbSigningChain: Uint8Array[];
  pckCrl: Uint8Array;
  /** [PCK CA, root] (DER). */
  pckCrlIssuerChain: Uint8Array[];
  rootCaCrl: Uint8Array;
  root: Uint8Array;
}
