import { DcapVerifier } from '../attestation/dcap/verify-quote.ts';
import { collateralFromQvlJson } from '../attestation/collateral/from-qvl-json.ts';
import type { Collateral } from '../attestation/collateral/types.ts';
import { hex } from '../bytes/util.ts';
import { parseQuote } from '../formats/quote.ts';
import type { RemoteEvidenceResult, RemoteEvidenceVerifier } from '../chain/remote-verifier.ts';
import type { CollateralBlob } from '../chain/types.ts';

/**
 * Every TCB status but Revoked passes the DCAP step here: the chain policy decides which statuses it
 * accepts (and DEBUG), per depth, so the DCAP verifier must report rather than refuse them.
 */
const ALL_BUT_REVOKED = ['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded'];

const verifiers = new Map<string, RemoteEvidenceVerifier>();

/**
 * The chain's remote-evidence verifier over Catena's DCAP verifier, trusting exactly `root`
 * (a DER certificate). One warm instance per root per process: certificates, CRLs and collateral
 * signatures are verified once and cached by content hash.
 */
export function dcapRemoteVerifier(root: Uint8Array): RemoteEvidenceVerifier {
  const k = hex(root);
  let v = verifiers.get(k);
  if (!v) {
    v = makeVerifier(root);
    if (verifiers.size > 16) verifiers.clear();
    verifiers.set(k, v);
  }
  return v;
}

/**
 * A new remote-evidence verifier trusting exactly `root`, with its own empty cache (a cold verifier,
 * warming up as it goes): for an offline verifier, or to measure a chain's start-up honestly.
 */
export function createDcapRemoteVerifier(root: Uint8Array): RemoteEvidenceVerifier {
  return makeVerifier(root);
}

function makeVerifier(root: Uint8Array): RemoteEvidenceVerifier {
  const dcap = new DcapVerifier();
  const parsed = new WeakMap<CollateralBlob, Collateral>();
  const trustedRoots = [root];
  return {
    async verify(quote: Uint8Array, blob: CollateralBlob, at: Date): Promise<RemoteEvidenceResult> {
      let collateral = parsed.get(blob);
      if (!collateral) {
        try {
          collateral = collateralFromQvlJson(blob);
        } catch (e) {
          return { ok: false, check: 'collateral.format', message: (e as Error).message };
        }
        parsed.set(blob, collateral);
      }
      const a = await dcap.verify(quote, { collateral, at, trustedRoots, policy: { acceptedTcbStatuses: ALL_BUT_REVOKED, allowDebug: true } });
      if (a.verdict !== 'accepted' || !a.platform || !a.qe || !a.tcbStatus) {
        return { ok: false, check: a.error?.check ?? 'dcap', message: a.error?.message ?? 'quote rejected', ...(a.tcbStatus ? { tcbStatus: a.tcbStatus, advisoryIds: a.advisoryIds } : {}) };
      }
      const q = parseQuote(quote);
      if (q.body.kind !== 'sgx') return { ok: false, check: 'quote.teeType', message: 'chains admit SGX enclaves only' };
      return {
        ok: true,
        tcbStatus: a.tcbStatus,
        advisoryIds: a.advisoryIds,
        report: q.body.report,
        platform: a.platform.ppid,
        fmspc: a.platform.fmspc,
        qe: { mrEnclave: a.qe.mrEnclave, mrSigner: a.qe.mrSigner, isvProdId: a.qe.isvProdId, isvSvn: a.qe.isvSvn },
      };
    },
  };
}
