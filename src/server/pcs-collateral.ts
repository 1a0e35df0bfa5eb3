import { hex } from '../bytes/util.ts';
import type { CollateralBlob } from '../chain/types.ts';
import { collateralToQvlJson } from '../attestation/collateral/from-qvl-json.ts';
import { pcsCollateral, type PcsOptions } from '../attestation/collateral/from-pcs.ts';
import type { Collateral, CollateralRequest } from '../attestation/collateral/types.ts';
import { VerificationCache } from '../attestation/dcap/cache.ts';
import { findLeaf, loadCert } from '../attestation/dcap/certs.ts';
import { pemCertificates } from '../attestation/pem.ts';
import { CatenaError } from '../errors.ts';
import { pckExtensionFromCertificate } from '../formats/pck-extension.ts';
import { parseQuote, TEE_TYPE_TDX } from '../formats/quote.ts';
import { ServerError } from './errors.ts';

/**
 * Which collateral a DCAP quote needs: FMSPC from Intel's SGX extension of the PCK leaf the quote
 * carries (certification data type 5), CA from the leaf's issuer ("… Platform CA" or "… Processor CA"),
 * TEE from the header. Nothing here is trusted: the chain's verifier checks the quote and the
 * collateral afterwards; this only decides what to ask the PCS for.
 */
export function collateralRequestOfQuote(quote: Uint8Array): CollateralRequest {
  try {
    const q = parseQuote(quote, { allowZeroPadding: true });
    const cache = new VerificationCache();
    const certs = pemCertificates(Buffer.from(q.signatureData.qe.certification.data).toString('latin1')).map((d) =>
      loadCert(d, cache),
    );
    const leaf = findLeaf(certs);
    if (!leaf) throw new Error('the certification data holds no single PCK leaf');
    const ext = pckExtensionFromCertificate(leaf.der);
    return {
      fmspc: hex(ext.fmspc),
      pckCa: /platform/i.test(leaf.issuerText) ? 'platform' : 'processor',
      teeType: q.header.teeType === TEE_TYPE_TDX ? 'tdx' : 'sgx',
    };
  } catch (e) {
    throw new ServerError(
      'ERR_LINK_REFUSED',
      `cannot tell which collateral the quote needs: ${(e as Error).message}`,
      'collateral-request',
    );
  }
}

export interface PcsCollateralCounters {
  /** A collateral set fetched from the PCS (four GETs). */
  fetched(): void;
  /** A request answered from the cache (or joined an in-flight fetch). */
  hit(): void;
}

/**
 * The manager's one long-lived PCS/PCCS collateral source: `pcsCollateral(url)` caches each
 * (TEE, FMSPC, CA) set until its earliest nextUpdate; concurrent misses for one key share one fetch;
 * each set is converted once to the dcap-qvl blob the chain stores (so equal sets give one object and
 * one collateral id).
 */
export class PcsCollateralProvider {
  private readonly source: ReturnType<typeof pcsCollateral>;
  private readonly inflight = new Map<string, Promise<Collateral>>();
  private readonly blobs = new WeakMap<Collateral, CollateralBlob>();
  constructor(
    readonly url: string,
    private readonly counters: PcsCollateralCounters = { fetched() {}, hit() {} },
    opts: PcsOptions = {},
  ) {
    this.source = pcsCollateral(url, opts);
  }

  /** The dcap-qvl collateral blob for `quote` at `at`. Throws ServerError ERR_COLLATERAL_UNAVAILABLE (502) when the PCS fails. */
  async blobFor(quote: Uint8Array, at: Date): Promise<CollateralBlob> {
    const req = collateralRequestOfQuote(quote);
    const key = `${req.teeType}|${req.fmspc.toUpperCase()}|${req.pckCa}`;
    let p = this.inflight.get(key);
    if (p) this.counters.hit();
    else {
      const before = this.source.fetches;
      p = this.source.get(req, at).then(
        (c) => {
          if (this.source.fetches !== before) this.counters.fetched();
          else this.counters.hit();
          return c;
        },
        (e: unknown) => {
          throw new ServerError(
            'ERR_COLLATERAL_UNAVAILABLE',
            `collateral for FMSPC ${req.fmspc} (${req.pckCa} CA) from the PCS ${this.url}: ${(e as Error).message}${e instanceof CatenaError ? ` [${e.code}]` : ''}`,
            'collateral-source',
          );
        },
      );
      this.inflight.set(key, p);
      void p.finally(() => this.inflight.delete(key)).catch(() => {});
    }
    const c = await p;
    let blob = this.blobs.get(c);
    if (!blob) {
      blob = collateralToQvlJson(c);
      this.blobs.set(c, blob);
    }
    return blob;
  }
}
