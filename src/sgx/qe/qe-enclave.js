// The emulated Quoting Enclave (QE3's job): creates its ECDSA attestation key inside itself (sealed
// to its signer, so a restarted QE keeps it), gets the PCE to certify it — QE REPORTDATA[0:32] =
// SHA-256(attestation key ‖ QE auth data) — and turns application REPORTs targeted at it into
// DCAP ECDSA v3 quotes after checking their MAC.
import { ReportMac, buildQuoteV3, ctEqualBytes, p256PublicRaw, p256Sign, pckKeyFromSeed, sha256, sha256Parts } from 'catena/sgx/qe/enclave-imports';
import { parseReport } from 'catena/formats';

export default function qe(ctx) {
  let attestation;
  let attPub;
  let authData;
  let certification;
  // Our REPORT key as a CMAC instance, derived once per KEYID: quoting is hot in chain building.
  const reportMac = new ReportMac(ctx);

  return {
    targetInfo() {
      return ctx.selfTargetInfo();
    },
    /**
     * Creates (or, given a sealed blob from an earlier run, restores) the attestation key; returns
     * the sealed key and a REPORT for the PCE binding the key.
     */
    async init(pceTargetInfo, sealedKey) {
      let seed;
      if (sealedKey) seed = await ctx.unseal(sealedKey);
      else {
        seed = new Uint8Array(48);
        globalThis.crypto.getRandomValues(seed);
      }
      attestation = pckKeyFromSeed(seed);
      attPub = p256PublicRaw(attestation.publicKey);
      authData = sha256(attPub); // 32 bytes of QE auth data, as Intel's QE3 emits
      const reportData = new Uint8Array(64);
      reportData.set(sha256Parts(attPub, authData));
      const report = await ctx.ereport(pceTargetInfo, reportData);
      return { sealedKey: sealedKey ?? (await ctx.seal(seed, 'mrsigner')), qeReport: report, attestationKey: attPub };
    },
    /** Stores the PCE's certification: the QE report body, its PCK signature, the PEM PCK chain. */
    setCertification(qeReportBody, qeReportSignature, pckChainPem, pceSvn) {
      // The chain goes into every quote: encoded once here, where it is kept.
      certification = { qeReportBody, qeReportSignature, pckChain: new TextEncoder().encode(pckChainPem), pceSvn };
    },
    /** A DCAP v3 quote of an application REPORT targeted at this QE. */
    async quote(appReportBytes, userData) {
      if (!certification) throw new Error('QE not certified');
      const report = parseReport(appReportBytes);
      const mac = await reportMac.for(report.keyId);
      if (!ctEqualBytes(mac.mac(report.rawBody), report.mac)) throw new Error('application REPORT MAC does not verify (not targeted at this QE?)');
      return buildQuoteV3({
        qeSvn: ctx.identity.isvSvn,
        pceSvn: certification.pceSvn,
        userData: userData ?? new Uint8Array(20),
        reportBody: report.rawBody,
        signHeaderAndBody: (m) => p256Sign(attestation.privateKey, m),
        attestationKey: attPub,
        qeReportBody: certification.qeReportBody,
        qeReportSignature: certification.qeReportSignature,
        qeAuthData: authData,
        pckChainPem: certification.pckChain,
      });
    },
  };
}
