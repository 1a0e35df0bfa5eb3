import { DcapVerifier } from '../attestation/dcap/verify-quote.ts';
import { BoundedMap } from '../attestation/dcap/cache.ts';
import { collateralFromQvlJson } from '../attestation/collateral/from-qvl-json.ts';
import type { Collateral } from '../attestation/collateral/types.ts';
import { hex } from '../bytes/util.ts';
import { ArgumentError } from '../errors.ts';
import { parseQuote, type Quote } from '../formats/quote.ts';
import { parseReportBody } from '../formats/report.ts';
import type { KeyObject } from 'node:crypto';
import { p256PublicFromRaw, p256Verify } from '../crypto/ecdsa.ts';
import type { RemoteEvidenceResult, RemoteEvidenceVerifier } from '../chain/remote-verifier.ts';
import type { CollateralBlob } from '../chain/types.ts';
import { snapshotOf, unchangedSince, type CollateralSnapshot } from '../chain/collateral-snapshot.ts';

/**
 * Every TCB status but Revoked passes the DCAP step here: the chain policy decides which statuses it
 * accepts (and DEBUG), per depth, so the DCAP verifier must report rather than refuse them.
 */
const ALL_BUT_REVOKED = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
];

type Accepted = Extract<RemoteEvidenceResult, { ok: true; report: unknown }>;

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
  // By verification instant (ms), then by the quote's bytes: a lookup is a number key and a memcmp,
  // not a multi-KB string key hashed per call.
  private readonly entries = new BoundedMap<
    number,
    Array<{ quote: Buffer; collateral: CollateralBlob; fields: CollateralSnapshot; result: Accepted }>
  >(64);
  hits = 0;
  constructor(readonly rootHex: string) {}

  /**
   * The remembered result for exactly this input, or undefined. A hit is taken out of the memo: the
   * reuse it serves is one admission followed by one append, and an entry read early dies young
   * (kept until 64 later instants pushed it out, each quote copy outlived the young generation).
   * Asked again, the same input is a miss and is verified in full: the same result.
   */
  get(quote: Uint8Array, collateral: CollateralBlob, at: Date): Accepted | undefined {
    const t = at.getTime();
    const list = this.entries.get(t);
    if (!list) return undefined;
    const bytes = Buffer.from(quote.buffer, quote.byteOffset, quote.byteLength);
    const i = list.findIndex((x) => x.collateral === collateral && x.quote.equals(bytes));
    const e = i >= 0 ? list[i] : undefined;
    if (!e || !unchangedSince(e.fields, collateral)) return undefined;
    list.splice(i, 1);
    if (list.length === 0) this.entries.delete(t);
    this.hits++;
    return e.result;
  }

  set(quote: Uint8Array, collateral: CollateralBlob, at: Date, result: Accepted): void {
    const fields = snapshotOf(collateral);
    if (!fields) return;
    const t = at.getTime();
    let list = this.entries.get(t);
    if (!list) this.entries.set(t, (list = []));
    list.push({ quote: Buffer.from(quote), collateral, fields, result });
    if (list.length > 64) list.shift();
  }
}

const verifiers = new Map<string, { verifier: RemoteEvidenceVerifier; verified: VerifiedQuotes }>();

let lastShared: { root: Buffer; entry: { verifier: RemoteEvidenceVerifier; verified: VerifiedQuotes } } | undefined;

function shared(root: Uint8Array) {
  // Every admission asks for the verifier of its root: a memcmp with the last root, not a hex key per call.
  if (lastShared && lastShared.root.equals(root)) return lastShared.entry;
  const k = hex(root);
  let v = verifiers.get(k);
  if (!v) {
    const verified = new VerifiedQuotes(k);
    v = { verifier: makeVerifier(root, verified), verified };
    if (verifiers.size > 16) verifiers.clear();
    verifiers.set(k, v);
  }
  lastShared = { root: Buffer.from(root), entry: v };
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
export function createDcapRemoteVerifier(
  root: Uint8Array,
  opts: { reuse?: VerifiedQuotes } = {},
): RemoteEvidenceVerifier {
  if (opts.reuse && opts.reuse.rootHex !== hex(root))
    throw new ArgumentError('reuse: verifications made for another root');
  return makeVerifier(root, opts.reuse);
}

/**
 * What an accepted full verification established about a QE and its collateral, beyond the quote's own
 * header, body and signature: the quote's certification data (PCK chain), QE report, its signature, the
 * QE auth data and the attestation key, judged against this collateral blob (unchanged fields), over
 * the verification times at which every time-dependent check holds (Appraisal.validity).
 */
interface QeContext {
  blob: CollateralBlob;
  fields: CollateralSnapshot;
  from: number;
  until: number;
  header: {
    version: number;
    attKeyType: number;
    teeType: number;
    qeVendorId: Buffer;
    certType: number;
    outerCertType: number | undefined;
  };
  parts: Buffer[];
  attestationKey: KeyObject;
  result: Omit<Accepted, 'report'>;
}

const contextParts = (q: Quote): Uint8Array[] => {
  const sd = q.signatureData;
  return [sd.qe.certification.data, sd.qe.qeReportRaw, sd.qe.qeReportSignature, sd.qe.qeAuthData, sd.attestationKey];
};

const asBuffer = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/**
 * The accepted QE contexts of one verifier (most recently used first, at most 64: one per QE in use).
 * Why: in a chain every remote link carries a quote from one of a few QEs, and a warm full verification
 * spends more on bookkeeping (named checks, cache lookups, the summary) than on its one ECDSA verify.
 * A quote whose context is byte-identical to an accepted one, verified against the same unchanged
 * collateral at a time inside that context's validity, gets from the full verifier exactly that
 * context's outcome for every check but the quote's own: strict format, header fields, an SGX body,
 * and the attestation key's signature over header ‖ body — which are checked here. The chain's policy
 * (all statuses but Revoked, DEBUG allowed: the chain decides) reads nothing else of the body.
 * Only acceptances come from here; anything else goes through the full verifier, which names the check.
 */
class QeContexts {
  private readonly list: QeContext[] = [];
  hits = 0;

  remember(
    q: Quote,
    blob: CollateralBlob,
    validity: { from: string; until: string } | undefined,
    result: Accepted,
  ): void {
    const fields = snapshotOf(blob);
    if (!fields || !validity) return;
    let attestationKey: KeyObject;
    try {
      attestationKey = p256PublicFromRaw(q.signatureData.attestationKey);
    } catch {
      return;
    }
    const h = q.header;
    const { report: _report, ...rest } = result;
    this.list.unshift({
      blob,
      fields,
      from: Date.parse(validity.from),
      until: Date.parse(validity.until),
      header: {
        version: h.version,
        attKeyType: h.attKeyType,
        teeType: h.teeType,
        qeVendorId: Buffer.from(h.qeVendorId),
        certType: q.signatureData.qe.certification.type,
        outerCertType: q.signatureData.outerCertType,
      },
      parts: contextParts(q).map((p) => Buffer.from(p)),
      attestationKey,
      result: { ...rest, advisoryIds: [...rest.advisoryIds], qe: { ...rest.qe } },
    });
    if (this.list.length > 64) this.list.pop();
  }

  /** The accepted result for this quote when its context is a known one (see above), else undefined. */
  lookup(quote: Uint8Array, blob: CollateralBlob, at: Date): { quote: Quote; result: Accepted } | undefined {
    if (this.list.length === 0) return undefined;
    const t = at.getTime();
    let q: Quote;
    try {
      q = parseQuote(quote); // strict: no trailing bytes, no padding
    } catch {
      return undefined;
    }
    if (q.body.kind !== 'sgx') return undefined;
    const parts = contextParts(q);
    const h = q.header;
    for (let i = 0; i < this.list.length; i++) {
      const c = this.list[i];
      if (c.blob !== blob || !(c.from <= t && t <= c.until)) continue;
      const ch = c.header;
      if (
        ch.version !== h.version ||
        ch.attKeyType !== h.attKeyType ||
        ch.teeType !== h.teeType ||
        !ch.qeVendorId.equals(h.qeVendorId)
      )
        continue;
      if (ch.certType !== q.signatureData.qe.certification.type || ch.outerCertType !== q.signatureData.outerCertType)
        continue;
      if (!c.parts.every((p, j) => p.equals(asBuffer(parts[j])))) continue;
      if (!unchangedSince(c.fields, blob)) continue;
      if (!p256Verify(c.attestationKey, q.signedBytes, q.signatureData.signature)) return undefined;
      if (i > 0) this.list.unshift(this.list.splice(i, 1)[0]);
      this.hits++;
      const r = c.result;
      return { quote: q, result: { ...r, advisoryIds: [...r.advisoryIds], qe: { ...r.qe }, report: q.body.report } };
    }
    return undefined;
  }
}

const contextsOf = new WeakMap<RemoteEvidenceVerifier, QeContexts>();

/** How many quotes a verifier of this module answered through an accepted QE context (tests, benchmarks). */
export function contextHitsOf(verifier: RemoteEvidenceVerifier): number {
  return contextsOf.get(verifier)?.hits ?? 0;
}

function makeVerifier(root: Uint8Array, verified?: VerifiedQuotes): RemoteEvidenceVerifier {
  const dcap = new DcapVerifier();
  // Parsed once per blob object, again if a field of the blob was replaced since.
  const parsed = new WeakMap<CollateralBlob, { fields: CollateralSnapshot; collateral: Collateral }>();
  const contexts = new QeContexts();
  const trustedRoots = [root];
  const verifier: RemoteEvidenceVerifier = {
    async verify(
      quote: Uint8Array,
      blob: CollateralBlob,
      at: Date,
      opts?: { reuse?: boolean },
    ): Promise<RemoteEvidenceResult> {
      const known = opts?.reuse ? verified?.get(quote, blob, at) : undefined;
      // A fresh report and fresh arrays: the caller may keep or alter what it gets.
      // (The body is the 384 bytes after the 48-byte header of an SGX quote the memo holds byte for byte.)
      if (known)
        return {
          ...known,
          advisoryIds: [...known.advisoryIds],
          qe: { ...known.qe },
          report: parseReportBody(quote.subarray(48, 432)),
        };
      const fast = contexts.lookup(quote, blob, at);
      if (fast) {
        verified?.set(quote, blob, at, {
          ...fast.result,
          advisoryIds: [...fast.result.advisoryIds],
          qe: { ...fast.result.qe },
        });
        return fast.result;
      }
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
      const a = await dcap.verify(quote, {
        collateral,
        at,
        trustedRoots,
        policy: { acceptedTcbStatuses: ALL_BUT_REVOKED, allowDebug: true },
      });
      if (a.verdict !== 'accepted' || !a.platform || !a.qe || !a.tcbStatus) {
        return {
          ok: false,
          check: a.error?.check ?? 'dcap',
          message: a.error?.message ?? 'quote rejected',
          ...(a.tcbStatus ? { tcbStatus: a.tcbStatus, advisoryIds: a.advisoryIds } : {}),
        };
      }
      const q = parseQuote(quote, { allowZeroPadding: true });
      const qe = { mrEnclave: a.qe.mrEnclave, mrSigner: a.qe.mrSigner, isvProdId: a.qe.isvProdId, isvSvn: a.qe.isvSvn };
      // A TD quote (issue 16): verified in full every time (no memo, no QE context), its TD report returned.
      if (q.body.kind !== 'sgx')
        return {
          ok: true,
          tee: 'tdx',
          tcbStatus: a.tcbStatus,
          advisoryIds: a.advisoryIds,
          td: q.body.report,
          platform: a.platform.ppid,
          fmspc: a.platform.fmspc,
          qe,
        };
      const result: Accepted = {
        ok: true,
        tcbStatus: a.tcbStatus,
        advisoryIds: a.advisoryIds,
        report: q.body.report,
        platform: a.platform.ppid,
        fmspc: a.platform.fmspc,
        qe,
      };
      verified?.set(quote, blob, at, { ...result, advisoryIds: [...result.advisoryIds], qe: { ...result.qe } });
      if (q.paddingLength === 0) contexts.remember(q, blob, a.validity, result);
      return result;
    },
  };
  contextsOf.set(verifier, contexts);
  return verifier;
}
