import { abytes } from '../../bytes/util.ts';

/**
 * Assembles an Intel DCAP ECDSA quote v3 (the layout of Intel's `sgx_quote_3_t`, QE3 output):
 *
 *   header (48):  version u16 = 3 | att_key_type u16 = 2 (ECDSA-256 with P-256) | att_key_data_0 u32 = 0
 *                 | qe_svn u16 | pce_svn u16 | qe_vendor_id (16) | user_data (20)
 *   body (384):   the application enclave's REPORT body
 *   sig_data_len u32, then sig data:
 *                 ECDSA signature over header ‖ body (64, r‖s) | attestation public key (64)
 *                 | QE report body (384) | QE report signature by the PCK key (64)
 *                 | QE auth data: u16 size ‖ data | certification data: u16 type = 5 ‖ u32 size ‖ PEM PCK chain
 */
export const INTEL_QE_VENDOR_ID = Uint8Array.from(Buffer.from('939a7233f79c4ca9940a0db3957f0607', 'hex'));

export interface QuoteV3Parts {
  qeSvn: number;
  pceSvn: number;
  userData: Uint8Array; // 20
  reportBody: Uint8Array; // 384
  signHeaderAndBody: (headerAndBody: Uint8Array) => Uint8Array; // → 64-byte r‖s
  attestationKey: Uint8Array; // 64
  qeReportBody: Uint8Array; // 384
  qeReportSignature: Uint8Array; // 64
  qeAuthData: Uint8Array;
  /** The PEM PCK chain, leaf first: its text, or its UTF-8 bytes (a QE encodes its chain once). */
  pckChainPem: string | Uint8Array;
}

export function buildQuoteV3(p: QuoteV3Parts): Uint8Array {
  const cert = typeof p.pckChainPem === 'string' ? new TextEncoder().encode(p.pckChainPem) : p.pckChainPem;
  const authLen = p.qeAuthData.length;
  const sigDataLen = 64 + 64 + 384 + 64 + 2 + authLen + 2 + 4 + cert.length;
  // One buffer of the exact size, written in place (a quote is ≈ 4.7 KB, most of it the PEM chain).
  const out = new Uint8Array(432 + 4 + sigDataLen);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, 3, true);
  dv.setUint16(2, 2, true);
  dv.setUint32(4, 0, true);
  dv.setUint16(8, p.qeSvn, true);
  dv.setUint16(10, p.pceSvn, true);
  out.set(INTEL_QE_VENDOR_ID, 12);
  out.set(abytes(p.userData, 20, 'user_data'), 28);
  out.set(abytes(p.reportBody, 384, 'report body'), 48);
  const sig = abytes(p.signHeaderAndBody(out.subarray(0, 432)), 64, 'quote signature');
  let o = 432;
  dv.setUint32(o, sigDataLen, true);
  o += 4;
  for (const [part, len, name] of [
    [sig, 64, 'quote signature'],
    [p.attestationKey, 64, 'attestation key'],
    [p.qeReportBody, 384, 'QE report body'],
    [p.qeReportSignature, 64, 'QE report signature'],
  ] as const) {
    out.set(abytes(part, len, name), o);
    o += len;
  }
  dv.setUint16(o, authLen, true);
  out.set(p.qeAuthData, o + 2);
  o += 2 + authLen;
  dv.setUint16(o, 5, true);
  dv.setUint32(o + 2, cert.length, true);
  out.set(cert, o + 6);
  return out;
}
