import type { KeyObject } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import type { CollateralBlob, Link } from '../chain/types.ts';
import { fromHex } from '../bytes/util.ts';
import { linkSigningBytes } from '../chain/signing.ts';
import { p256PublicFromRaw, p256Verify } from '../crypto/ecdsa.ts';
import type { RemoteEvidenceResult } from '../chain/remote-verifier.ts';
import type { ReportBody } from '../formats/report.ts';
import { createDcapRemoteVerifier } from '../cot/dcap-remote-verifier.ts';

/**
 * Host → worker: verify `quote` (bytes, or the hex of a remote link's evidence) with collateral
 * `collateralId` (sent along the first time) at `at` (ms); with `link` and `key`, also check that
 * `key` (hex X‖Y) signed `link`.
 */
export interface VerifyRequest {
  id: number;
  /** Absent: the quote of `link`'s evidence (hex). */
  quote?: Uint8Array;
  link?: Link;
  key?: string;
  collateralId: number;
  collateral?: CollateralBlob;
  /** Collateral ids the host no longer tracks for this worker: forget them. */
  drop?: number[];
  at: number;
}
/** `signature`: the link signature's verdict; null when it could not be computed here (non-canonical link, bad hex…). */
export type VerifyReply =
  | { id: number; ok: true; result: RemoteEvidenceResult; signature?: boolean | null }
  | { id: number; ok: false; message: string };

/**
 * Parents' keys, imported once (an import costs OpenSSL more than a signature check; a parent signs
 * many links). Bounded: cleared when full.
 */
const keys = new Map<string, KeyObject>();
const MAX_KEYS = 4096;
function signerKey(hexKey: string): KeyObject {
  let k = keys.get(hexKey);
  if (!k) {
    k = p256PublicFromRaw(fromHex(hexKey, 64, 'key'));
    if (keys.size >= MAX_KEYS) keys.clear();
    keys.set(hexKey, k);
  }
  return k;
}

/** p256Verify of the link's signing bytes, as LinkChecker computes them; null where LinkChecker would fail on format instead. */
function linkSignature(link: Link, key: string): boolean | null {
  try {
    const signer = signerKey(key);
    return p256Verify(signer, linkSigningBytes(link), fromHex(link.signature, 64, 'signature'));
  } catch {
    return null;
  }
}

/** A report body whose byte fields are copies (views into the quote would drag its whole buffer along). */
function detached(r: ReportBody): ReportBody {
  return {
    ...r,
    cpuSvn: r.cpuSvn.slice(),
    isvExtProdId: r.isvExtProdId.slice(),
    mrEnclave: r.mrEnclave.slice(),
    mrSigner: r.mrSigner.slice(),
    configId: r.configId.slice(),
    isvFamilyId: r.isvFamilyId.slice(),
    reportData: r.reportData.slice(),
    attributes: { ...r.attributes },
  };
}

// This thread's own warm DCAP verifier, trusting exactly the root it was started with.
const verifier = createDcapRemoteVerifier((workerData as { root: Uint8Array }).root);
const collateral = new Map<number, CollateralBlob>();

parentPort!.on('message', (m: VerifyRequest) => {
  for (const d of m.drop ?? []) collateral.delete(d);
  if (m.collateral) collateral.set(m.collateralId, m.collateral);
  const blob = collateral.get(m.collateralId);
  if (!blob) {
    parentPort!.postMessage({
      id: m.id,
      ok: false,
      message: `collateral ${m.collateralId} was never sent to this worker`,
    } satisfies VerifyReply);
    return;
  }
  let quote: Uint8Array;
  try {
    if (m.quote) quote = m.quote;
    else if (m.link?.evidence.kind === 'dcap-quote') quote = fromHex(m.link.evidence.quote);
    else throw new Error('no quote to verify');
  } catch (e) {
    parentPort!.postMessage({ id: m.id, ok: false, message: (e as Error).message } satisfies VerifyReply);
    return;
  }
  const signature = m.link && m.key !== undefined ? linkSignature(m.link, m.key) : undefined;
  verifier.verify(quote, blob, new Date(m.at)).then(
    (result) =>
      parentPort!.postMessage({
        id: m.id,
        ok: true,
        result: result.ok && result.tee !== 'tdx' ? { ...result, report: detached(result.report) } : result,
        ...(signature !== undefined ? { signature } : {}),
      } satisfies VerifyReply),
    (e: unknown) =>
      parentPort!.postMessage({
        id: m.id,
        ok: false,
        message: (e as Error)?.message ?? String(e),
      } satisfies VerifyReply),
  );
});
parentPort!.postMessage({ ready: true });
