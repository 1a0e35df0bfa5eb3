import type { CollateralKey, Release } from './types.ts';

/**
 * The PCS v4 documents the collateral of a watched key consists of, each named by its URL (a URL is
 * fetched once per poll however many keys share it):
 *   GET {base}/{sgx|tdx}/certification/v4/tcb?fmspc=…&update=standard|early
 *   GET {base}/{sgx|tdx}/certification/v4/qe/identity?update=standard|early
 *   GET {base}/sgx/certification/v4/pckcrl?ca=processor|platform&encoding=der
 *   GET {base}/sgx/certification/v4/rootcacrl
 *   GET {base}/{sgx|tdx}/certification/v4/tcbevaluationdatanumbers   (the tcbRecoveryEventDate of each number)
 */
export type DocumentSpec =
  | { kind: 'tcb-info'; url: string; tee: 'sgx' | 'tdx'; fmspc: string; update: Release }
  | { kind: 'qe-identity'; url: string; tee: 'sgx' | 'tdx'; update: Release }
  | { kind: 'pck-crl'; url: string; ca: 'processor' | 'platform' }
  | { kind: 'root-ca-crl'; url: string }
  | { kind: 'eval-numbers'; url: string; tee: 'sgx' | 'tdx' };

export const RELEASES: readonly Release[] = ['standard', 'early'];

/** The PCS base URL without a trailing slash or a `/{sgx|tdx}/certification/v4` suffix. */
export function pcsBase(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/(sgx|tdx)\/certification\/v4$/, '');
}

export function tcbInfoDoc(base: string, k: CollateralKey, update: Release): DocumentSpec & { kind: 'tcb-info' } {
  const url = `${base}/${k.teeType}/certification/v4/tcb?fmspc=${k.fmspc.toUpperCase()}&update=${update}`;
  return { kind: 'tcb-info', url, tee: k.teeType, fmspc: k.fmspc, update };
}

export function qeIdentityDoc(base: string, k: CollateralKey, update: Release): DocumentSpec & { kind: 'qe-identity' } {
  return {
    kind: 'qe-identity',
    url: `${base}/${k.teeType}/certification/v4/qe/identity?update=${update}`,
    tee: k.teeType,
    update,
  };
}

export function pckCrlDoc(base: string, k: CollateralKey): DocumentSpec & { kind: 'pck-crl' } {
  return { kind: 'pck-crl', url: `${base}/sgx/certification/v4/pckcrl?ca=${k.pckCa}&encoding=der`, ca: k.pckCa };
}

export function rootCaCrlDoc(base: string): DocumentSpec & { kind: 'root-ca-crl' } {
  return { kind: 'root-ca-crl', url: `${base}/sgx/certification/v4/rootcacrl` };
}

export function evalNumbersDoc(base: string, tee: 'sgx' | 'tdx'): DocumentSpec & { kind: 'eval-numbers' } {
  return {
    kind: 'eval-numbers',
    url: `${base}/${tee}/certification/v4/tcbevaluationdatanumbers`,
    tee,
  };
}

/** Every document of a key, evaluation numbers first (a change event of early TCB info reads them). */
export function documentsOf(base: string, k: CollateralKey): DocumentSpec[] {
  return [
    evalNumbersDoc(base, k.teeType),
    ...RELEASES.flatMap((u) => [tcbInfoDoc(base, k, u), qeIdentityDoc(base, k, u)]),
    pckCrlDoc(base, k),
    rootCaCrlDoc(base),
  ];
}
