import type { KeyObject } from 'node:crypto';
import { TARGETINFO_SIZE } from '../formats/targetinfo.ts';
import { emptyReportBody, parseReport, serializeReportBody, type ReportBody } from '../formats/report.ts';
import { ChannelError } from './errors.ts';
import { signMockEvidence } from './mock-evidence.ts';
import { CHECK, type QuoteIssuer } from './types.ts';

/**
 * Quote issuers. The channel takes any QuoteIssuer; which evidence comes out is the issuer's
 * business:
 * - EnclaveQuoteIssuer: inside an enclave, EREPORT to the quoting enclave and ask the host (OCALL)
 *   to turn the REPORT into evidence. The host side is any QuotingBackend — the real QE
 *   (`QuotingService` from src/sgx/qe has this shape and gives DCAP v3 quotes) or the mock one.
 * - MockQuoteIssuer: software-only mock evidence claiming a given identity (tests).
 * - FailingQuoteIssuer: always refuses.
 */

/** OCALL names the enclave side uses (registered on the host by quotingOcalls). */
export const QE_TARGET_INFO_OCALL = 'catena.qe.targetInfo';
export const QE_QUOTE_OCALL = 'catena.qe.quote';

/** What the host runs to turn an enclave's REPORT into evidence. `QuotingService` satisfies it. */
export interface QuotingBackend {
  /** TARGETINFO (512 bytes) of the quoting enclave: application enclaves EREPORT to it. */
  targetInfo(): Uint8Array | Promise<Uint8Array>;
  /** A REPORT (432 bytes) targeted at the quoting enclave → evidence. */
  quote(report: Uint8Array): Promise<Uint8Array>;
}

/** The minimal part of an EnclaveContext this issuer needs (kept structural: channel does not import sgx). */
export interface QuotingEnclaveContext {
  ereport(targetInfo: Uint8Array, reportData: Uint8Array): Promise<Uint8Array>;
  ocall(name: string, ...args: unknown[]): Promise<unknown>;
}

export class EnclaveQuoteIssuer implements QuoteIssuer {
  #targetInfo: Uint8Array | undefined;
  constructor(private readonly ctx: QuotingEnclaveContext) {}
  async issue(reportData: Uint8Array): Promise<Uint8Array> {
    if (!(reportData instanceof Uint8Array) || reportData.length !== 64)
      throw new ChannelError('ERR_CHANNEL_ISSUER', CHECK.reportData, 'REPORTDATA must be 64 bytes');
    this.#targetInfo ??= (await this.ctx.ocall(QE_TARGET_INFO_OCALL)) as Uint8Array;
    const report = await this.ctx.ereport(this.#targetInfo, reportData);
    const evidence = await this.ctx.ocall(QE_QUOTE_OCALL, report);
    if (!(evidence instanceof Uint8Array))
      throw new ChannelError('ERR_CHANNEL_ISSUER', CHECK.evidence, 'the quoting backend returned no bytes');
    return evidence;
  }
}

/** Host side of EnclaveQuoteIssuer: spread into `loadEnclave(image, { ocalls })`. */
export function quotingOcalls(backend: QuotingBackend): Record<string, (...args: never[]) => unknown> {
  return {
    [QE_TARGET_INFO_OCALL]: async () => backend.targetInfo(),
    [QE_QUOTE_OCALL]: async (report: unknown) => {
      if (!(report instanceof Uint8Array))
        throw new ChannelError('ERR_CHANNEL_ISSUER', CHECK.evidence, 'quote OCALL: REPORT must be bytes');
      return backend.quote(report);
    },
  };
}

/**
 * MOCK quoting backend: signs the REPORT body as mock evidence (src/channel/mock-evidence.ts) with
 * the mock root key. Unlike a real QE it cannot check the REPORT's MAC (it is not an enclave), so
 * the host could make it sign anything: tests and demos only.
 */
export class MockQuotingBackend implements QuotingBackend {
  constructor(private readonly rootKey: KeyObject) {}
  targetInfo(): Uint8Array {
    return new Uint8Array(TARGETINFO_SIZE); // a target no enclave has; the MAC is never checked
  }
  async quote(report: Uint8Array): Promise<Uint8Array> {
    return signMockEvidence(parseReport(report).rawBody.slice(), this.rootKey);
  }
}

/** MOCK issuer with no enclave behind it: claims `identity` (tests of the channel's refusals). */
export class MockQuoteIssuer implements QuoteIssuer {
  constructor(
    private readonly rootKey: KeyObject,
    private readonly identity: Partial<Omit<ReportBody, 'reportData'>>,
    /** Test hook: what to sign instead of the REPORTDATA asked for (a key-binding forgery). */
    private readonly reportDataOverride?: Uint8Array,
  ) {}
  async issue(reportData: Uint8Array): Promise<Uint8Array> {
    const body: ReportBody = {
      ...emptyReportBody(),
      ...this.identity,
      reportData: this.reportDataOverride ?? reportData,
    };
    return signMockEvidence(serializeReportBody(body), this.rootKey);
  }
}

export class FailingQuoteIssuer implements QuoteIssuer {
  constructor(private readonly reason = 'this issuer always fails') {}
  async issue(): Promise<Uint8Array> {
    throw new ChannelError('ERR_CHANNEL_ISSUER', CHECK.evidence, this.reason);
  }
}
