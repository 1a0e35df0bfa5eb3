import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { slicePcsBody } from '../../formats/pcs-body.ts';
import { CollateralError } from '../errors.ts';
import { certificatesFromAny, derFromAny } from '../pem.ts';
import type { Collateral, CollateralSource } from './types.ts';

/**
 * A collateral directory in Intel PCS encodings:
 *   tcb_info.json, qe_identity.json          PCS bodies ({"tcbInfo":…,"signature":…}); the exact inner text is sliced out
 *   tcb_signing_cert.pem | .der              the TCB signing certificate, or its chain (PEM); the root may be absent
 *   root_ca_crl.der | .pem                   the root CA CRL
 *   pck_crl | pck_processor_crl | pck_platform_crl  (.der | .pem)  the PCK CRL; with several, the one for the quote's CA
 * Read on each `get` (files are small; a directory may be updated in place).
 */
async function pick(
  dir: string,
  names: string[],
  files: Set<string>,
): Promise<{ name: string; bytes: Uint8Array } | undefined> {
  for (const n of names) if (files.has(n)) return { name: n, bytes: new Uint8Array(await readFile(join(dir, n))) };
  return undefined;
}

export function directoryCollateral(dir: string): CollateralSource {
  return {
    async get(req) {
      let files: Set<string>;
      try {
        files = new Set(await readdir(dir));
      } catch (e) {
        throw new CollateralError(`collateral directory ${dir}: ${(e as Error).message}`);
      }
      const need = async (names: string[], what: string) => {
        const f = await pick(dir, names, files);
        if (!f) throw new CollateralError(`collateral directory ${dir}: no ${what} (${names.join(' | ')})`);
        return f;
      };
      const exts = (base: string) => [`${base}.der`, `${base}.pem`, base];
      const tcb = await need(['tcb_info.json'], 'TCB info');
      const qe = await need(['qe_identity.json'], 'QE identity');
      const signing = await need(
        ['tcb_signing_cert.pem', 'tcb_signing_cert.der', 'tcb_signing_chain.pem'],
        'TCB signing certificate',
      );
      const rootCrl = await need(exts('root_ca_crl'), 'root CA CRL');
      const specific = req.pckCa === 'platform' ? 'pck_platform_crl' : 'pck_processor_crl';
      const pckCrl = await need([...exts(specific), ...exts('pck_crl')], `PCK CRL for the ${req.pckCa} CA`);
      try {
        const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');
        const c: Collateral = {
          tcbInfo: slicePcsBody(text(tcb.bytes), 'tcbInfo'),
          qeIdentity: slicePcsBody(text(qe.bytes), 'enclaveIdentity'),
          tcbSigningChain: certificatesFromAny(signing.bytes),
          rootCaCrl: derFromAny(rootCrl.bytes, 'X509 CRL'),
          pckCrl: derFromAny(pckCrl.bytes, 'X509 CRL'),
          origin: `directory ${dir}`,
        };
        return c;
      } catch (e) {
        throw new CollateralError(`collateral directory ${dir}: ${(e as Error).message}`, 'ERR_COLLATERAL_FORMAT', {
          cause: e,
        });
      }
    },
  };
}
