// The emulated Provisioning Certification Enclave. Like Intel's PCE it derives the platform's PCK
// key from the CPU's PROVISION key (so it depends on the platform, the PCE's signer, its ISVSVN and
// the CPUSVN: a TCB update gives a new PCK key), hands out only the public half, and signs the
// report of a quoting enclave from the same manufacturer after checking that REPORT's MAC.
import { aesCmac, ctEqualBytes, hkdfSha256, p256Sign, pckKeyFromSeed, p256PublicRaw } from 'catena/sgx/qe/enclave-imports';
import { ATTR, KEY_NAME, KEY_POLICY, parseReport, serializeKeyRequest } from 'catena/formats';

export default function pce(ctx) {
  let pck;
  const keyRequest = (keyName, keyId = new Uint8Array(32), keyPolicy = 0) =>
    serializeKeyRequest({
      keyName,
      keyPolicy,
      isvSvn: keyName === KEY_NAME.REPORT ? 0 : ctx.identity.isvSvn,
      cpuSvn: keyName === KEY_NAME.REPORT ? new Uint8Array(16) : ctx.cpuSvn,
      attributeMask: { flags: 0n, xfrm: 0n },
      keyId,
      miscMask: 0,
      configSvn: 0,
    });
  return {
    targetInfo() {
      return ctx.selfTargetInfo();
    },
    /** Derives the PCK key; returns its public half (64-byte X‖Y) and this PCE's ISVSVN (= PCESVN). */
    async init() {
      const provisionKey = await ctx.egetkey(keyRequest(KEY_NAME.PROVISION, new Uint8Array(32), KEY_POLICY.MRSIGNER));
      pck = pckKeyFromSeed(hkdfSha256(provisionKey, new Uint8Array(0), 'catena emulated PCK key', 48));
      return { pckPublicKey: p256PublicRaw(pck.publicKey), pceSvn: ctx.identity.isvSvn };
    },
    /** Signs a QE's REPORT body with the PCK key, after checking it was made for us by a QE of our signer. */
    async certifyQe(qeReportBytes) {
      if (!pck) throw new Error('PCE not initialised');
      const report = parseReport(qeReportBytes);
      const key = await ctx.egetkey(keyRequest(KEY_NAME.REPORT, report.keyId));
      if (!ctEqualBytes(aesCmac(key, report.rawBody), report.mac)) throw new Error('QE report MAC does not verify');
      const b = report.body;
      if (!ctEqualBytes(b.mrSigner, ctx.identity.mrSigner)) throw new Error('QE is not signed by the PCE signer');
      if ((b.attributes.flags & ATTR.PROVISIONKEY) === 0n) throw new Error('QE lacks the PROVISIONKEY attribute');
      return { qeReportBody: report.rawBody.slice(), signature: p256Sign(pck.privateKey, report.rawBody) };
    },
  };
}
