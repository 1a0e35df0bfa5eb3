import { parseQeIdentity } from '../../formats/qe-identity.ts';
import { slicePcsBody } from '../../formats/pcs-body.ts';
import { parseTcbInfo } from '../../formats/tcb-info.ts';
import { VerificationCache } from '../dcap/cache.ts';
import { parseCrl } from '../dcap/crl.ts';
import { CollateralError } from '../errors.ts';
import { derFromAny, pemCertificates } from '../pem.ts';
import type { Collateral, CollateralRequest, CollateralSource } from './types.ts';

/**
 * Collateral from an Intel PCS or a PCCS, API v4:
 *   GET {base}/{sgx|tdx}/certification/v4/tcb?fmspc=…         body: PCS TCB info; header TCB-Info-Issuer-Chain (v3: SGX-TCB-Info-Issuer-Chain)
 *   GET {base}/{sgx|tdx}/certification/v4/qe/identity         body: PCS enclave identity; header SGX-Enclave-Identity-Issuer-Chain
 *   GET {base}/sgx/certification/v4/pckcrl?ca=processor|platform&encoding=der   header SGX-PCK-CRL-Issuer-Chain
 *   GET {base}/sgx/certification/v4/rootcacrl                 DER, PEM or hex text of DER (PCCS)
 * Issuer chains are URL-encoded PEM. Results are cached per (TEE, FMSPC, CA) until the earliest nextUpdate
 * among the TCB info, QE identity and both CRLs, judged at the verification time. Nothing fetched is
 * trusted: the verifier checks every signature.
 */
export interface PcsOptions {
  fetch?: typeof globalThis.fetch;
  /** Extra request headers (e.g. Ocp-Apim-Subscription-Key for Intel's PCS). */
  headers?: Record<string, string>;
  /** Which release of TCB info and QE identity (Intel's `update=`): default the PCS's own default, standard. */
  update?: 'early' | 'standard';
}

export function pcsCollateral(baseUrl: string, opts: PcsOptions = {}): CollateralSource & { readonly fetches: number } {
  const base = baseUrl.replace(/\/+$/, '').replace(/\/(sgx|tdx)\/certification\/v4$/, '');
  const doFetch = opts.fetch ?? globalThis.fetch;
  const cache = new Map<string, { collateral: Collateral; until: Date }>();
  let fetches = 0;

  async function get(url: string): Promise<Response> {
    fetches++;
    let res: Response;
    try {
      res = await doFetch(url, { headers: opts.headers ?? {} });
    } catch (e) {
      throw new CollateralError(`GET ${url}: ${(e as Error).message}`, 'ERR_COLLATERAL_UNAVAILABLE', { cause: e });
    }
    if (!res.ok) throw new CollateralError(`GET ${url}: HTTP ${res.status}`);
    return res;
  }
  function chainHeader(res: Response, url: string, ...names: string[]): Uint8Array[] {
    for (const n of names) {
      const v = res.headers.get(n);
      if (v) {
        try {
          return pemCertificates(decodeURIComponent(v));
        } catch (e) {
          throw new CollateralError(`GET ${url}: header ${n}: ${(e as Error).message}`, 'ERR_COLLATERAL_FORMAT');
        }
      }
    }
    throw new CollateralError(`GET ${url}: no ${names.join(' / ')} header`, 'ERR_COLLATERAL_FORMAT');
  }

  async function fetchAll(req: CollateralRequest): Promise<Collateral> {
    const tee = req.teeType;
    const fmspc = req.fmspc.toUpperCase();
    if (!/^[0-9A-F]{12}$/.test(fmspc))
      throw new CollateralError(`FMSPC ${req.fmspc} is not 6 bytes of hex`, 'ERR_ARGUMENT');
    const update = opts.update ? `update=${opts.update}` : '';
    const tcbUrl = `${base}/${tee}/certification/v4/tcb?fmspc=${fmspc}${update ? `&${update}` : ''}`;
    const qeUrl = `${base}/${tee}/certification/v4/qe/identity${update ? `?${update}` : ''}`;
    const crlUrl = `${base}/sgx/certification/v4/pckcrl?ca=${req.pckCa}&encoding=der`;
    const rootUrl = `${base}/sgx/certification/v4/rootcacrl`;
    const [tcbRes, qeRes, crlRes, rootRes] = await Promise.all([get(tcbUrl), get(qeUrl), get(crlUrl), get(rootUrl)]);
    try {
      return {
        tcbInfo: slicePcsBody(await tcbRes.text(), 'tcbInfo'),
        tcbSigningChain: chainHeader(tcbRes, tcbUrl, 'TCB-Info-Issuer-Chain', 'SGX-TCB-Info-Issuer-Chain'),
        qeIdentity: slicePcsBody(await qeRes.text(), 'enclaveIdentity'),
        qeIdentitySigningChain: chainHeader(
          qeRes,
          qeUrl,
          'SGX-Enclave-Identity-Issuer-Chain',
          'Enclave-Identity-Issuer-Chain',
        ),
        pckCrl: derFromAny(new Uint8Array(await crlRes.arrayBuffer()), 'X509 CRL'),
        pckCrlIssuerChain: chainHeader(crlRes, crlUrl, 'SGX-PCK-CRL-Issuer-Chain'),
        rootCaCrl: derFromAny(new Uint8Array(await rootRes.arrayBuffer()), 'X509 CRL'),
        origin: `PCS ${base}`,
      };
    } catch (e) {
      if (e instanceof CollateralError) throw e;
      throw new CollateralError(`PCS ${base}: ${(e as Error).message}`, 'ERR_COLLATERAL_FORMAT', { cause: e });
    }
  }

  /** The earliest nextUpdate, or undefined when something does not parse (then nothing is cached). */
  function until(c: Collateral): Date | undefined {
    try {
      const scratch = new VerificationCache();
      const t = [
        parseTcbInfo(c.tcbInfo.text).nextUpdate,
        parseQeIdentity(c.qeIdentity.text).nextUpdate,
        parseCrl(c.pckCrl, scratch).nextUpdate,
        parseCrl(c.rootCaCrl, scratch).nextUpdate,
      ];
      return new Date(Math.min(...t.map((d) => d.getTime())));
    } catch {
      // Something does not parse: no expiry.
    }
    return undefined;
  }

  return {
    get fetches() {
      return fetches;
    },
    async get(req, at) {
      // Stryker disable next-line MethodExpression: lower case folds the (hex) FMSPC into one key just as well
      const key = `${req.teeType}|${req.fmspc.toUpperCase()}|${req.pckCa}`;
      const hit = cache.get(key);
      if (hit && at <= hit.until) return hit.collateral;
      const collateral = await fetchAll(req);
      const u = until(collateral);
      if (u && at <= u) cache.set(key, { collateral, until: u });
      else cache.delete(key);
      return collateral;
    },
  };
}
