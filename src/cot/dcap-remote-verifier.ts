import { DcapVerifier } from '../attestation/dcap/verify-quote.ts';
import { BoundedMap } from '../attestation/dcap/cache.ts';
import { collateralFromQvlJson } from '../attestation/collateral/from-qvl-json.ts';
import type { Collateral } from '../attestation/collateral/types.ts';
import { hex } from '../bytes/util.ts';
import { ArgumentError } from '../errors.ts';
import { parseQuote } from '../formats/quote.ts';
import type { RemoteEvidenceResult, RemoteEvidenceVerifier } from '../chain/remote-verifier.ts';
import type { CollateralBlob } from '../chain/types.ts';
import { snapshotOf, unchangedSince, type CollateralSnapshot } from '../chain/collateral-snapshot.ts';

/**
 * Every TCB status but Revoked passes the DCAP step here: the chain policy decides which statuses it
 * accepts (and DEBUG), per depth, so the DCAP verifier must report rather than refuse them.
 */
const ALL_BUT_REVOKED = ['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded'];

type Accepted = Extract<RemoteEvidenceResult, { ok: true }>;

/**
 * Accepted verifications of this module's DCAP verifier for one root, by exact input: the quote's
 * bytes, the collateral (the same blob object with the same field values — fields are strings, so a
 * shallow comparison is exact) and the verification instant (same millisecond). The policy is this
 * module's, fixed. A verification of the very same input gives the very same result (the DCAP verifier
 * is a function of quote, collateral, time, root and policy), so a verifier reading this memo skips
 * only work whose outcome is already known; any other bytes, collateral or time is verified in full.
 * Rejections are never remembered. Why: at build, a remote link's quote is verified by the parent
 * (admission) and then by Chain.append at the same `at` (docs/chain.md, "Verification reuse").
 */
export class VerifiedQuotes {
  private readonly entries = new BoundedMap<string, { collateral: CollateralBlob; fields: CollateralSnapshot; result: Accepted }>(64);
  hits = 0;
  constructor(readonly rootHex: string) {}

  private static key(quote: Uint8Array, at: Date): string {
    return `${at.getTime()}|${Buffer.from(quote.buffer, quote.byteOffset, quote.byteLength).toString('latin1')}`;
  }

  /** The remembered result for exactly this input, or undefined. */
  get(quote: Uint8Array, collateral: CollateralBlob, at: Date): Accepted | undefined {
    const e = this.entries.get(VerifiedQuotes.key(quote, at));
    if (!e || e.collateral !== collateral || !unchangedSince(e.fields, collateral)) return undefined;
    this.hits++;
    return e.result;
  }

  set(quote: Uint8Array, collateral: CollateralBlob, at: Date, result: Accepted): void {
    const fields = snapshotOf(collateral);
    if (fields) this.entries.set(VerifiedQuotes.key(quote, at), { collateral, fields, result });
  }
}

const verifiers = new Map<string, { verifier: RemoteEvidenceVerifier; verified: VerifiedQuotes }>();

function shared(root: Uint8Array) {
  const k = hex(root);
  let v = verifiers.get(k);
  if (!v) {
    const verified = new VerifiedQuotes(k);
    v = { verifier: makeVerifier(root, verified), verified };
    if (verifiers.size > 16) verifiers.clear();
    verifiers.set(k, v);
  }
  return v;
}

/**
 * The chain's remote-evidence verifier over Catena's DCAP verifier, trusting exactly `root`
 * (a DER certificate). One warm instance per root per process (the one element enclaves of the inline
 * runtime use to admit remote children): certificates, CRLs and collateral signatures are verified once
 * and cached by content.
 */
export function dcapRemoteVerifier(root: Uint8Array): RemoteEvidenceVerifier {
  return shared(root).verifier;
}

/** The accepted verifications of `dcapRemoteVerifier(root)`, for a verifier that may reuse them. */
export function verifiedQuotesOf(root: Uint8Array): VerifiedQuotes {
  return shared(root).verified;
}

/**
 * A new remote-evidence verifier trusting exactly `root`, with its own empty cache (a cold verifier,
 * warming up as it goes): for an offline verifier, or to measure a chain's start-up honestly.
 * `reuse`: a memo of accepted verifications of the same root (e.g. `verifiedQuotesOf(root)`, where
 * this process's inline enclaves record theirs) that this verifier adds to, and reads when a call
 * asks for reuse (`verify(…, { reuse: true })`: Chain.append only): an input found there is not
 * verified again. Without it, or without that option, every quote is verified.
 */
export function createDcapRemoteVerifier(root: Uint8Array, opts: { reuse?: VerifiedQuotes } = {}): RemoteEvidenceVerifier {
  if (opts.reuse && opts.reuse.rootHex !== hex(root)) throw new ArgumentError('reuse: verifications made for another root');
  return makeVerifier(root, opts.reuse);
}

function makeVerifier(root: Uint8Array, verified?: VerifiedQuotes): RemoteEvidenceVerifier {
  const dcap = new DcapVerifier();
  // Parsed once per blob object, again if a field of the blob was replaced since.
  const parsed = new WeakMap<CollateralBlob, { fields: CollateralSnapshot; collateral: Collateral }>();
  const trustedRoots = [root];
  return {
    async verify(quote: Uint8Array, blob: CollateralBlob, at: Date, opts?: { reuse?: boolean }): Promise<RemoteEvidenceResult> {
      const known = opts?.reuse ? verified?.get(quote, blob, at) : undefined;
      // A fresh report and fresh arrays: the caller may keep or alter what it gets.
      if (known) return { ...known, advisoryIds: [...known.advisoryIds], qe: { ...known.qe }, report: (parseQuote(quote).body as { report: Accepted['report'] }).report };
      const seen = parsed.get(blob);
      let collateral = seen && unchangedSince(seen.fields, blob) ? seen.collateral : undefined;
      if (!collateral) {
        try {
          collateral = collateralFromQvlJson(blob);
        } catch (e) {
          return { ok: false, check: 'collateral.format', message: (e as Error).message };
        }
        const fields = snapshotOf(blob);
        if (fields) parsed.set(blob, { fields, collateral });
      }
      const a = await dcap.verify(quote, { collateral, at, trustedRoots, policy: { acceptedTcbStatuses: ALL_BUT_REVOKED, allowDebug: true } });
      if (a.verdict !== 'accepted' || !a.platform || !a.qe || !a.tcbStatus) {
        return { ok: false, check: a.error?.check ?? 'dcap', message: a.error?.message ?? 'quote rejected', ...(a.tcbStatus ? { tcbStatus: a.tcbStatus, advisoryIds: a.advisoryIds } : {}) };
      }
      const q = parseQuote(quote);
      if (q.body.kind !== 'sgx') return { ok: false, check: 'quote.teeType', message: 'chains admit SGX enclaves only' };
      const result: Accepted = {
        ok: true,
        tcbStatus: a.tcbStatus,
        advisoryIds: a.advisoryIds,
        report: q.body.report,
        platform: a.platform.ppid,
        fmspc: a.platform.fmspc,
        qe: { mrEnclave: a.qe.mrEnclave, mrSigner: a.qe.mrSigner, isvProdId: a.qe.isvProdId, isvSvn: a.qe.isvSvn },
      };
      verified?.set(quote, blob, at, { ...result, advisoryIds: [...result.advisoryIds], qe: { ...result.qe } });
      return result;
    },
  };
}
