import { parentPort, workerData } from 'node:worker_threads';
import type { CollateralBlob } from '../chain/types.ts';
import type { RemoteEvidenceResult } from '../chain/remote-verifier.ts';
import type { ReportBody } from '../formats/report.ts';
import { createDcapRemoteVerifier } from '../cot/dcap-remote-verifier.ts';

/** Host → worker: verify `quote` with collateral `collateralId` (sent along the first time) at `at` (ms). */
export interface VerifyRequest {
  id: number;
  quote: Uint8Array;
  collateralId: number;
  collateral?: CollateralBlob;
  /** Collateral ids the host no longer tracks for this worker: forget them. */
  drop?: number[];
  at: number;
}
export type VerifyReply = { id: number; ok: true; result: RemoteEvidenceResult } | { id: number; ok: false; message: string };

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
    parentPort!.postMessage({ id: m.id, ok: false, message: `collateral ${m.collateralId} was never sent to this worker` } satisfies VerifyReply);
    return;
  }
  verifier.verify(m.quote, blob, new Date(m.at)).then(
    (result) => parentPort!.postMessage({ id: m.id, ok: true, result: result.ok ? { ...result, report: detached(result.report) } : result } satisfies VerifyReply),
    (e: unknown) => parentPort!.postMessage({ id: m.id, ok: false, message: (e as Error)?.message ?? String(e) } satisfies VerifyReply),
  );
});
parentPort!.postMessage({ ready: true });
