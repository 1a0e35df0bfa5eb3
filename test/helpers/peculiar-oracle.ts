// @peculiar/x509, the library Catena's DER writer replaced, kept as a test oracle only: the
// certificates and CRLs Catena writes must have the same TBS bytes as the ones it makes.
import 'reflect-metadata';
import { createPublicKey, webcrypto, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { ORGANIZATION } from '../../src/sgx/manufacturer/names.ts';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };

export const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
const P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/** A node KeyObject as the WebCrypto CryptoKey @peculiar/x509 signs with. */
export function signingCryptoKey(key: KeyObject): Promise<CryptoKey> {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', der, P256, false, ['sign']);
}

export function publicCryptoKey(key: KeyObject): Promise<CryptoKey> {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const der = pub.export({ type: 'spki', format: 'der' });
  return webcrypto.subtle.importKey('spki', der, P256, true, ['verify']);
}

/** The emulated PKI's names (src/sgx/manufacturer/names.ts, nameDer) as @peculiar/x509 JSON. */
export function dn(commonName: string): x509.JsonName {
  // JsonName's value type is string[], but @peculiar/x509 accepts typed values ({ utf8String }) at run time
  // (JsonAttributeAndObjectValue); the cast keeps the exact ASN.1 string types Intel uses.
  return [
    { CN: [{ utf8String: commonName }] },
    { O: [{ utf8String: ORGANIZATION }] },
    { L: [{ utf8String: 'Emulation' }] },
    { ST: [{ utf8String: 'EM' }] },
    { C: [{ printableString: 'ZZ' }] },
  ] as unknown as x509.JsonName;
}
