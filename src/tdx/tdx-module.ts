import { sha384 } from '../crypto/sha384.ts';
import { ArgumentError } from '../errors.ts';
import type { Platform } from '../sgx/platform.ts';
import type { TdEvent } from '../formats/tdx-event-log.ts';
import { measureMrtd } from './mrtd.ts';
import { extendRtmr, type Rtmrs } from '../formats/replay-rtmrs.ts';
import type { TdImage } from './td-image.ts';
import { assembleTdReport, macedPart, writeTdInfo, writeTeeTcbInfo, type TeeTcbInfo } from '../formats/tdreport.ts';

/**
 * The emulated TDX module (SEAM) of one emulated platform: it builds TDs (MRTD from TDH.MEM.PAGE.ADD /
 * TDH.MR.EXTEND), extends their RTMRs (TDG.MR.RTMR.EXTEND) and writes their TDREPORTs (TDG.MR.REPORT),
 * MACed so that the TD quoting enclave on the same platform can check them (Platform.seamReportMac).
 */
export interface TdxModuleIdentity {
  /** TEE_TCB_SVN: [0] the module's ISVSVN, [1] its major version (TDX_01 …), [2..] other TDX TCB components. */
  teeTcbSvn: Uint8Array;
  mrSeam: Uint8Array;
  mrSignerSeam: Uint8Array;
  seamAttributes: Uint8Array;
  /** TDX 1.5 module: REPORTTYPE version 1, TEE_TCB_SVN2 filled. */
  tdx15: boolean;
}

/** The emulated module: version 1 (TDX_01), ISVSVN 4; Intel signs its modules with an all-zero MRSIGNER_SEAM. */
export function defaultTdxModule(): TdxModuleIdentity {
  const teeTcbSvn = new Uint8Array(16);
  teeTcbSvn.set([4, 1, 2]);
  return {
    teeTcbSvn,
    mrSeam: sha384(new TextEncoder().encode('catena emulated TDX module 1.5.04')),
    mrSignerSeam: new Uint8Array(48),
    seamAttributes: new Uint8Array(8),
    tdx15: true,
  };
}

export class TdxModule {
  constructor(
    private readonly platform: Platform,
    readonly identity: TdxModuleIdentity = defaultTdxModule(),
  ) {}

  /** Builds and finalizes a TD from an image: its MRTD is measured, its RTMRs start at zero. */
  createTd(image: TdImage, opts: { servTdHash?: Uint8Array } = {}): TrustDomain {
    return new TrustDomain(this, image, measureMrtd(image), opts.servTdHash ?? new Uint8Array(48));
  }

  /** TDG.MR.REPORT's body for a TD: TEE_TCB_INFO and TDINFO, MACed for `targetInfo` (the TD QE). */
  report(td: TrustDomain, targetInfo: Uint8Array, reportData: Uint8Array): Uint8Array {
    if (reportData.length !== 64) throw new ArgumentError('REPORTDATA must be 64 bytes');
    const id = this.identity;
    const tcb: TeeTcbInfo = {
      valid: Uint8Array.from([0xff, 0x01, 0, 0, 0, 0, 0, 0]),
      teeTcbSvn: id.teeTcbSvn,
      mrSeam: id.mrSeam,
      mrSignerSeam: id.mrSignerSeam,
      attributes: id.seamAttributes,
      teeTcbSvn2: id.tdx15 ? id.teeTcbSvn : new Uint8Array(16),
    };
    const tcbBytes = writeTeeTcbInfo(tcb);
    const c = td.image.config;
    const info = writeTdInfo({
      attributes: c.attributes,
      xfam: c.xfam,
      mrTd: td.mrTd,
      mrConfigId: c.mrConfigId,
      mrOwner: c.mrOwner,
      mrOwnerConfig: c.mrOwnerConfig,
      rtmr: td.rtmrs,
      servTdHash: td.servTdHash,
    });
    const maced = macedPart(id.tdx15 ? 1 : 0, this.platform.identity.cpuSvn, tcbBytes, info, reportData);
    const { mac } = this.platform.seamReportMac(targetInfo, maced);
    return assembleTdReport(maced, mac, tcbBytes, info);
  }
}

/** A running TD: its measurements and its event log (what it extended, in order). */
export class TrustDomain {
  readonly rtmrs: Rtmrs = [new Uint8Array(48), new Uint8Array(48), new Uint8Array(48), new Uint8Array(48)];
  readonly events: TdEvent[] = [];
  constructor(
    private readonly module: TdxModule,
    readonly image: TdImage,
    readonly mrTd: Uint8Array,
    readonly servTdHash: Uint8Array,
  ) {}

  /** TDG.MR.RTMR.EXTEND, recorded in the TD's event log. */
  extend(event: TdEvent): void {
    if (event.mrIndex < 1 || event.mrIndex > 4)
      throw new ArgumentError(`CC MR index ${event.mrIndex} is not an RTMR (1..4)`);
    this.rtmrs[event.mrIndex - 1] = extendRtmr(this.rtmrs[event.mrIndex - 1], event.digest);
    this.events.push(event);
  }

  /** TDG.MR.REPORT for the TD QE. */
  report(targetInfo: Uint8Array, reportData: Uint8Array): Uint8Array {
    return this.module.report(this, targetInfo, reportData);
  }
}
