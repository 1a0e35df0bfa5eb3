import { ctEqual } from '../bytes/util.ts';
import { collateralFromQvlJson } from '../attestation/collateral/from-qvl-json.ts';
import { isCollateralSource, type Collateral, type CollateralSource } from '../attestation/collateral/types.ts';
import { DcapVerifier } from '../attestation/dcap/verify-quote.ts';
import { DEFAULT_ACCEPTED_TCB_STATUSES } from '../attestation/policy.ts';
import { ChannelError } from './errors.ts';
import { CHECK, type QuoteValidator, type ValidationResult } from './types.ts';

/** The dcap-qvl collateral JSON object (all strings), as `catena emulate quote` / `channel serve` write it. */
export type QvlCollateralJson = Record<string, string>;

export interface DcapQuoteValidatorOptions {
  /**
   * Trust anchors: DER certificates or raw P-256 keys. Default: Intel's pinned root key only.
   * An emulated manufacturer's root is trusted only when passed here, and results say rootIsIntel: false.
   */
  trustedRoots?: Uint8Array[];
  /** A parsed `Collateral`, a `CollateralSource` (directory, PCS/PCCS URL …), or a dcap-qvl JSON object / text. */
  collateral: Collateral | CollateralSource | QvlCollateralJson | string;
  /** Accepted TCB statuses. Default ['UpToDate']. */
  acceptedTcbStatuses?: string[];
  /** When set, every advisory ID must be listed. */
  acceptedAdvisories?: string[];
  /** Share one warm verifier between validators (default: one per validator). */
  verifier?: DcapVerifier;
}

/**
 * The REAL validator: a DCAP ECDSA quote (v3/v4, SGX) appraised by Catena's DcapVerifier — one warm
 * instance, so certificates, CRLs and collateral signatures seen before are not re-verified — against
 * the given roots and collateral, at the handshake's time. Then REPORTDATA must equal the expected
 * 64 bytes (the RA-TLS key binding), compared in constant time.
 *
 * DEBUG and the enclave identity are NOT judged here: the channel's policy (checkPolicy) does it with
 * its own check names, so the DCAP step runs with allowDebug and no identity constraints.
 * On rejection, `check` is the first failing DCAP check (e.g. `pck.chain`, `policy.tcbStatus`) and
 * the message starts with its stable code.
 */
export class DcapQuoteValidator implements QuoteValidator {
  readonly verifier: DcapVerifier;
  readonly #collateral: Collateral | CollateralSource;
  readonly #roots: Uint8Array[] | undefined;
  readonly #accepted: string[];
  readonly #advisories: string[] | undefined;

  constructor(opts: DcapQuoteValidatorOptions) {
    if (!opts || opts.collateral === undefined || opts.collateral === null)
      throw new ChannelError('ERR_CHANNEL_STATE', CHECK.validator, 'DCAP validator: no collateral given');
    this.verifier = opts.verifier ?? new DcapVerifier();
    this.#collateral = toCollateral(opts.collateral);
    if (opts.trustedRoots !== undefined) {
      if (
        !Array.isArray(opts.trustedRoots) ||
        opts.trustedRoots.length === 0 ||
        !opts.trustedRoots.every((r) => r instanceof Uint8Array)
      ) {
        throw new ChannelError(
          'ERR_CHANNEL_STATE',
          CHECK.root,
          'DCAP validator: trustedRoots must be a non-empty list of certificates (DER) or raw keys',
        );
      }
      this.#roots = [...opts.trustedRoots];
    }
    this.#accepted = [...(opts.acceptedTcbStatuses ?? DEFAULT_ACCEPTED_TCB_STATUSES)];
    this.#advisories = opts.acceptedAdvisories ? [...opts.acceptedAdvisories] : undefined;
  }

  async validate(evidence: Uint8Array, expectedReportData: Uint8Array, at: Date): Promise<ValidationResult> {
    if (!(evidence instanceof Uint8Array)) return { ok: false, check: CHECK.format, message: 'evidence is not bytes' };
    const a = await this.verifier.verify(evidence, {
      collateral: this.#collateral,
      at,
      ...(this.#roots ? { trustedRoots: this.#roots } : {}),
      policy: {
        acceptedTcbStatuses: this.#accepted,
        allowDebug: true,
        ...(this.#advisories ? { acceptedAdvisories: this.#advisories } : {}),
      },
    });
    if (a.verdict !== 'accepted') {
      const e = a.error ?? { check: 'dcap', code: 'ERR_QUOTE_REJECTED', message: 'quote rejected' };
      return { ok: false, check: e.check, message: `${e.code}: ${e.message}` };
    }
    const q = a.quote;
    if (!q || q.teeType !== 'sgx')
      return {
        ok: false,
        check: 'quote.teeType',
        message: 'ERR_CHANNEL_EVIDENCE: the channel admits SGX enclave quotes only',
      };
    if (
      !(expectedReportData instanceof Uint8Array) ||
      expectedReportData.length !== 64 ||
      !ctEqual(Buffer.from(q.reportData, 'hex'), expectedReportData)
    ) {
      return {
        ok: false,
        check: CHECK.reportData,
        message: "the quote's REPORTDATA does not bind the expected data (this certificate's key)",
      };
    }
    return {
      ok: true,
      identity: {
        mrEnclave: q.mrEnclave,
        mrSigner: q.mrSigner,
        isvProdId: q.isvProdId,
        isvSvn: q.isvSvn,
        debug: q.debug,
      },
      ...(a.tcbStatus !== undefined ? { tcbStatus: a.tcbStatus } : {}),
      advisoryIds: [...a.advisoryIds],
      rootIsIntel: a.rootIsIntel,
      evidenceKind: `sgx-dcap-quote-v${q.version}`,
    };
  }
}

function toCollateral(c: DcapQuoteValidatorOptions['collateral']): Collateral | CollateralSource {
  try {
    if (typeof c === 'string') return collateralFromQvlJson(JSON.parse(c), 'dcap-qvl collateral JSON');
    if (typeof c !== 'object') throw new TypeError(`expected collateral, got ${typeof c}`);
    if (isCollateralSource(c as Collateral | CollateralSource)) return c as CollateralSource;
    if ('tcbInfo' in c && typeof (c as Collateral).tcbInfo === 'object') return c as Collateral;
    return collateralFromQvlJson(c, 'dcap-qvl collateral JSON');
  } catch (e) {
    if (e instanceof ChannelError) throw e;
    throw new ChannelError(
      'ERR_CHANNEL_STATE',
      CHECK.validator,
      `DCAP validator: unreadable collateral: ${(e as Error).message}`,
      { cause: e },
    );
  }
}
