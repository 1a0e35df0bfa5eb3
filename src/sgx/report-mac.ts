import { ctEqual } from '../bytes/util.ts';
import { AesCmac } from '../crypto/cmac.ts';
import { reportKeyRequest } from '../formats/keyrequest.ts';

/** What an enclave context offers for this: EGETKEY. */
export interface ReportKeySource {
  egetkey(keyRequest: Uint8Array): Promise<Uint8Array>;
}

/**
 * An enclave's own REPORT key for a KEYID, as a CMAC instance kept while the KEYID (the CPU's, per
 * boot) stays the same — as an enclave that checks many REPORTs keeps a key it derived once, instead
 * of EGETKEY and two cipher set-ups per REPORT (the QE per quote, a parent per local child).
 */
export class ReportMac {
  private last: { keyId: Uint8Array; cmac: AesCmac } | undefined;
  constructor(private readonly ctx: ReportKeySource) {}
  async for(keyId: Uint8Array): Promise<AesCmac> {
    if (!this.last || !ctEqual(this.last.keyId, keyId))
      this.last = { keyId: keyId.slice(), cmac: new AesCmac(await this.ctx.egetkey(reportKeyRequest(keyId))) };
    return this.last.cmac;
  }
}
