// The emulated TD Quoting Enclave (Intel's TD_QE, ISVPRODID 2): an SGX enclave on the TD's platform. Its
// attestation key is made and certified as the QE3's is (the PCE signs its report, REPORTDATA[0:32] =
// SHA-256(attestation key ‖ auth data)); it checks a TDREPORT's MAC with its own REPORT key (the emulated
// TDX module MACs for it) and the TDREPORT's hashes, then signs a DCAP v4 or v5 quote with tee_type 0x81.
import {
  buildTdQuote,
  checkTdReport,
  p256PublicRaw,
  p256Sign,
  parseReport,
  pckKeyFromSeed,
  reportKeyRequest,
  sha256,
  sha256Parts,
} from 'catena/tdx/td-qe-imports';

export default function tdQe(ctx) {
  let attestation;
  let attPub;
  let authData;
  let certification;
  let reportKey;

  return {
    targetInfo() {
      return ctx.selfTargetInfo();
    },
    async init(pceTargetInfo, sealedKey) {
      let seed;
      if (sealedKey) seed = await ctx.unseal(sealedKey);
      else {
        seed = new Uint8Array(48);
        globalThis.crypto.getRandomValues(seed);
      }
      attestation = pckKeyFromSeed(seed);
      attPub = p256PublicRaw(attestation.publicKey);
      authData = sha256(attPub);
      // This CPU boot's KEYID, from a REPORT to ourselves: our REPORT key under it checks TDREPORT MACs.
      const self = parseReport(await ctx.ereport(ctx.selfTargetInfo(), new Uint8Array(64)));
      reportKey = await ctx.egetkey(reportKeyRequest(self.keyId));
      const reportData = new Uint8Array(64);
      reportData.set(sha256Parts(attPub, authData));
      const report = await ctx.ereport(pceTargetInfo, reportData);
      return { sealedKey: sealedKey ?? (await ctx.seal(seed, 'mrsigner')), qeReport: report, attestationKey: attPub };
    },
    setCertification(qeReportBody, qeReportSignature, pckChainPem, pceSvn) {
      certification = { qeReportBody, qeReportSignature, pckChain: new TextEncoder().encode(pckChainPem), pceSvn };
    },
    /** A DCAP quote (version 4 or 5) of a TDREPORT made on this platform; throws for any other. */
    quoteTd(tdReportBytes, version) {
      if (!certification) throw new Error('TD QE not certified');
      const tdReport = checkTdReport(tdReportBytes, reportKey);
      const userData = new Uint8Array(20);
      userData.set(authData.subarray(0, 16));
      return buildTdQuote({
        version: version === 5 ? 5 : 4,
        tdReport,
        userData,
        sign: (m) => p256Sign(attestation.privateKey, m),
        attestationKey: attPub,
        qeReportBody: certification.qeReportBody,
        qeReportSignature: certification.qeReportSignature,
        qeAuthData: authData,
        pckChain: certification.pckChain,
      });
    },
  };
}
