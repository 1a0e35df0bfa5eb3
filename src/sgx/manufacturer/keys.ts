import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { generateP256 } from '../../crypto/ecdsa.ts';

export interface CaKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function generateCaKey(): CaKey {
  return generateP256(); // decoupled from the generator (a JWK export of a generator's key can deadlock Node 20)
}

export function privateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

export function keyFromPem(pem: string): CaKey {
  const privateKey = createPrivateKey(pem);
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

export function isP256Public(key: KeyObject): boolean {
  return (
    key.type === 'public' && key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
  );
}

/** PEM armour for certificates (64-character lines, trailing newline), as Intel's PCS sends them. */
export function certificatePem(der: Uint8Array): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

export function crlPem(der: Uint8Array): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN X509 CRL-----\n${b64}\n-----END X509 CRL-----\n`;
}

/** Every certificate in a PEM text, as DER, in order. */
export function pemCertificates(text: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)) {
    out.push(new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ''), 'base64')));
  }
  return out;
}
