import { X509Certificate } from 'node:crypto';
import { ctEqual, equal, hex } from '../bytes/util.ts';
import { p256PublicFromRaw, p256PublicRaw, p256Verify } from '../crypto/ecdsa.ts';
import { isDebug } from '../formats/attributes.ts';
import { isMockEvidence, parseMockEvidence } from './mock-evidence.ts';
import { CHECK, type QuoteValidator, type ValidationResult } from './types.ts';

/**
 * MOCK validator: accepts only mock evidence (src/channel/mock-evidence.ts) signed by one of the
 * trusted mock roots (certificates, DER). Never accepts a DCAP quote, and a DCAP validator never
 * accepts mock evidence. Checks, in order: format, root, signature, reportData.
 */
export class MockQuoteValidator implements QuoteValidator {
  readonly #rootKeys: Uint8Array[];
  constructor(trustedRoots: Uint8Array[]) {
    this.#rootKeys = trustedRoots.map((der) => p256PublicRaw(new X509Certificate(der).publicKey));
  }
  async validate(evidence: Uint8Array, expectedReportData: Uint8Array, _at: Date): Promise<ValidationResult> {
    if (!isMockEvidence(evidence))
      return {
        ok: false,
        check: CHECK.format,
        message: 'not Catena mock evidence (the mock validator accepts nothing else)',
      };
    let m;
    try {
      m = parseMockEvidence(evidence);
    } catch (e) {
      return { ok: false, check: CHECK.format, message: (e as Error).message };
    }
    if (!this.#rootKeys.some((k) => equal(k, m.signerKey))) {
      return {
        ok: false,
        check: CHECK.root,
        message: `evidence signed by ${hex(m.signerKey).slice(0, 16)}…, which is not a trusted mock root`,
      };
    }
    let key;
    try {
      key = p256PublicFromRaw(m.signerKey);
    } catch {
      return { ok: false, check: CHECK.signature, message: 'signer key is not a P-256 point' };
    }
    if (!p256Verify(key, m.signed, m.signature))
      return { ok: false, check: CHECK.signature, message: 'mock evidence signature does not verify' };
    if (
      !(expectedReportData instanceof Uint8Array) ||
      expectedReportData.length !== 64 ||
      !ctEqual(m.body.reportData, expectedReportData)
    ) {
      return {
        ok: false,
        check: CHECK.reportData,
        message: 'REPORTDATA does not bind the expected data (certificate key)',
      };
    }
    const b = m.body;
    return {
      ok: true,
      identity: {
        mrEnclave: hex(b.mrEnclave),
        mrSigner: hex(b.mrSigner),
        isvProdId: b.isvProdId,
        isvSvn: b.isvSvn,
        debug: isDebug(b.attributes),
      },
      rootIsIntel: false,
      evidenceKind: 'catena-mock',
    };
  }
}

/** Always rejects (check `validator`): the failing implementation of the interface. */
export class FailingQuoteValidator implements QuoteValidator {
  constructor(private readonly reason = 'this validator rejects everything') {}
  async validate(): Promise<ValidationResult> {
    return { ok: false, check: CHECK.validator, message: this.reason };
  }
}
