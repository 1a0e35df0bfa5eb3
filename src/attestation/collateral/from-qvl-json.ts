import { readFile } from 'node:fs/promises';
import { FormatError } from '../../errors.ts';
import { CollateralError } from '../errors.ts';
import { pemCertificates, toPem } from '../pem.ts';
import type { Collateral, CollateralSource } from './types.ts';

/**
 * dcap-qvl's collateral JSON: every field a string — PEM issuer chains (`pck_crl_issuer_chain`,
 * `tcb_info_issuer_chain`, `qe_identity_issuer_chain`), DER CRLs as hex (`root_ca_crl`, `pck_crl`), the
 * exact signed text (`tcb_info`, `qe_identity`) and r‖s signatures as hex. dcap-qvl also accepts byte
 * arrays for the binary fields; so do we.
 */
function bytesField(o: Record<string, unknown>, k: string): Uint8Array {
  const v = o[k];
  if (typeof v === 'string') {
    if (!/^([0-9a-fA-F]{2})*$/.test(v))
      throw new FormatError(`collateral.json: ${k} is not hex`, 'ERR_COLLATERAL_FORMAT');
    return new Uint8Array(Buffer.from(v, 'hex'));
  }
  if (Array.isArray(v) && v.every((b) => Number.isInteger(b) && b >= 0 && b <= 255))
    return Uint8Array.from(v as number[]);
  throw new FormatError(`collateral.json: ${k} missing or not hex/bytes`, 'ERR_COLLATERAL_FORMAT');
}

function textField(o: Record<string, unknown>, k: string): string {
  const v = o[k];
  if (typeof v !== 'string')
    throw new FormatError(`collateral.json: ${k} missing or not a string`, 'ERR_COLLATERAL_FORMAT');
  return v;
}

/** Collateral from a parsed dcap-qvl collateral object. Throws FormatError on a malformed one. */
export function collateralFromQvlJson(x: unknown, origin?: string): Collateral {
  if (typeof x !== 'object' || x === null || Array.isArray(x))
    throw new FormatError('collateral.json: not an object', 'ERR_COLLATERAL_FORMAT');
  const o = x as Record<string, unknown>;
  const sig = (k: string) => {
    const b = bytesField(o, k);
    if (b.length !== 64)
      throw new FormatError(`collateral.json: ${k} is ${b.length} bytes, expected 64 (r‖s)`, 'ERR_COLLATERAL_FORMAT');
    return b;
  };
  const c: Collateral = {
    tcbInfo: { text: textField(o, 'tcb_info'), signature: sig('tcb_info_signature') },
    qeIdentity: { text: textField(o, 'qe_identity'), signature: sig('qe_identity_signature') },
    tcbSigningChain: pemCertificates(textField(o, 'tcb_info_issuer_chain')),
    qeIdentitySigningChain: pemCertificates(textField(o, 'qe_identity_issuer_chain')),
    rootCaCrl: bytesField(o, 'root_ca_crl'),
    pckCrl: bytesField(o, 'pck_crl'),
  };
  if (typeof o.pck_crl_issuer_chain === 'string') c.pckCrlIssuerChain = pemCertificates(o.pck_crl_issuer_chain);
  if (origin) c.origin = origin;
  return c;
}

/** The inverse, for exporting collateral to dcap-qvl (differential tests, `emulate quote`). */
export function collateralToQvlJson(c: Collateral): Record<string, string> {
  const pem = (ders: Uint8Array[]) => ders.map((d) => toPem(d, 'CERTIFICATE')).join('');
  return {
    pck_crl_issuer_chain: pem(c.pckCrlIssuerChain ?? []),
    root_ca_crl: Buffer.from(c.rootCaCrl).toString('hex'),
    pck_crl: Buffer.from(c.pckCrl).toString('hex'),
    tcb_info_issuer_chain: pem(c.tcbSigningChain),
    tcb_info: c.tcbInfo.text,
    tcb_info_signature: Buffer.from(c.tcbInfo.signature).toString('hex'),
    qe_identity_issuer_chain: pem(c.qeIdentitySigningChain ?? c.tcbSigningChain),
    qe_identity: c.qeIdentity.text,
    qe_identity_signature: Buffer.from(c.qeIdentity.signature).toString('hex'),
  };
}

/** A source reading one dcap-qvl collateral.json (read once, on first use). */
export function qvlJsonFileCollateral(path: string): CollateralSource {
  let loaded: Promise<Collateral> | undefined;
  return {
    get() {
      // Stryker disable next-line StringLiteral: without an encoding the Buffer reaches JSON.parse, which decodes it as UTF-8 all the same
      loaded ??= readFile(path, 'utf8').then(
        (t) => {
          try {
            return collateralFromQvlJson(JSON.parse(t), `dcap-qvl collateral file ${path}`);
          } catch (e) {
            throw new CollateralError(`${path}: ${(e as Error).message}`, 'ERR_COLLATERAL_FORMAT', { cause: e });
          }
        },
        (e: Error) => {
          throw new CollateralError(`${path}: ${e.message}`, 'ERR_COLLATERAL_UNAVAILABLE', { cause: e });
        },
      );
      return loaded;
    },
  };
}
