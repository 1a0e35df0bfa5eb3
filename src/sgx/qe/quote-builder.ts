import { Writer } from '../../bytes/cursor.ts';
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
  pckChainPem: string; // leaf first
}

export function buildQuoteV3(p: QuoteV3Parts): Uint8Array {
  const signed = new Writer()
    .u16(3)
    .u16(2)
    .u32(0)
    .u16(p.qeSvn)
    .u16(p.pceSvn)
    .bytes(INTEL_QE_VENDOR_ID)
    .bytes(abytes(p.userData, 20, 'user_data'))
    .bytes(abytes(p.reportBody, 384, 'report body'))
    .finish();
  const sig = abytes(p.signHeaderAndBody(signed), 64, 'quote signature');
  const cert = new TextEncoder().encode(p.pckChainPem);
  const sigData = new Writer()
    .bytes(sig)
    .bytes(abytes(p.attestationKey, 64, 'attestation key'))
    .bytes(abytes(p.qeReportBody, 384, 'QE report body'))
    .bytes(abytes(p.qeReportSignature, 64, 'QE report signature'))
    .u16(p.qeAuthData.length)
    .bytes(p.qeAuthData)
    .u16(5)
    .u32(cert.length)
    .bytes(cert)
    .finish();
  return new Writer().bytes(signed).u32(sigData.length).bytes(sigData).finish();
}
