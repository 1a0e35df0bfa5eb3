// Example enclave: produces REPORTs for a target and verifies REPORTs targeted at it (the MAC check of
// local attestation). It imports Catena's library through the package's self-reference (`catena/...`):
// only this module's text is measured, not what it imports.
import { aesCmac } from 'catena/crypto';
import { KEY_NAME, parseReport, serializeKeyRequest } from 'catena/formats';
import { ctEqual } from 'catena/bytes';

export default function attester(ctx) {
  return {
    targetInfo() {
      return ctx.selfTargetInfo();
    },
    report(targetInfo, reportData) {
      return ctx.ereport(targetInfo, reportData);
    },
    /** Checks a REPORT's MAC with this enclave's own REPORT key; returns the peer's identity if it verifies. */
    async verifyReport(reportBytes) {
      const report = parseReport(reportBytes);
      const key = await ctx.egetkey(
        serializeKeyRequest({
          keyName: KEY_NAME.REPORT,
          keyPolicy: 0,
          isvSvn: 0,
          cpuSvn: new Uint8Array(16),
          attributeMask: { flags: 0n, xfrm: 0n },
          keyId: report.keyId,
          miscMask: 0,
          configSvn: 0,
        }),
      );
      if (!ctEqual(aesCmac(key, report.rawBody), report.mac)) return { ok: false };
      const b = report.body;
      return { ok: true, mrEnclave: b.mrEnclave, mrSigner: b.mrSigner, isvProdId: b.isvProdId, isvSvn: b.isvSvn, attributes: b.attributes, reportData: b.reportData };
    },
  };
}
