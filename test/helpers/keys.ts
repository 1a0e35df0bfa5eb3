import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

/**
 * generateKeyPairSync for tests, returning KeyObjects imported from DER: a JWK export of the
 * generator's own KeyObjects can deadlock Node 20 (see generateP256 in src/crypto/ecdsa.ts).
 */
export function freshKeyPair(type: 'ec', o: { namedCurve: string }): { privateKey: KeyObject; publicKey: KeyObject };
export function freshKeyPair(
  type: 'rsa',
  o: { modulusLength: number; publicExponent?: number },
): { privateKey: KeyObject; publicKey: KeyObject };
export function freshKeyPair(type: 'ec' | 'rsa', o: object): { privateKey: KeyObject; publicKey: KeyObject } {
  const gen = generateKeyPairSync as unknown as (t: string, o: object) => { privateKey: Buffer; publicKey: Buffer };
  const { privateKey, publicKey } = gen(type, {
    ...o,
    privateKeyEncoding: { format: 'der', type: 'pkcs8' },
    publicKeyEncoding: { format: 'der', type: 'spki' },
  });
  return {
    privateKey: createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' }),
    publicKey: createPublicKey({ key: publicKey, format: 'der', type: 'spki' }),
  };
}
