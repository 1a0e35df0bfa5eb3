import { oid, printableString, seq, set, utf8String } from '../../formats/der-writer.ts';

/**
 * Certificate names and OIDs of the emulated PKI. Names mirror Intel's profile (Intel SGX PCK
 * Certificate and CRL Profile §1.3: CN, O, L, ST as UTF8String, C as PrintableString, in that order)
 * but say plainly that they are Catena's emulated ones. The CA names keep the words "Processor" and
 * "Platform", which verifiers (dcap-qvl among them) use to tell the two PCK CAs apart.
 */
export const SGX_EXTENSION_OID = '1.2.840.113741.1.13.1';

export const CERT_NAMES = {
  root: 'Catena Emulated SGX Root CA',
  platform: 'Catena Emulated SGX PCK Platform CA',
  processor: 'Catena Emulated SGX PCK Processor CA',
  tcbSigning: 'Catena Emulated SGX TCB Signing',
  pck: 'Catena Emulated SGX PCK Certificate',
} as const;

export const ORGANIZATION = 'Catena Emulated Manufacturer';

/** A distinguished name in Intel's attribute order and string types, as DER (RDNSequence, one attribute per RDN). */
export function nameDer(commonName: string): Uint8Array {
  const rdn = (type: string, value: Uint8Array) => set(seq(oid(type), value));
  return seq(
    rdn('2.5.4.3', utf8String(commonName)),
    rdn('2.5.4.10', utf8String(ORGANIZATION)),
    rdn('2.5.4.7', utf8String('Emulation')),
    rdn('2.5.4.8', utf8String('EM')),
    rdn('2.5.4.6', printableString('ZZ')),
  );
}

/** The PCS paths the CRL distribution points name (relative to the PCS base URL). */
export const CRL_PATHS = {
  root: '/sgx/certification/v4/rootcacrl?encoding=der',
  processor: '/sgx/certification/v4/pckcrl?ca=processor&encoding=der',
  platform: '/sgx/certification/v4/pckcrl?ca=platform&encoding=der',
} as const;
