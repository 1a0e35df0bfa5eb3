export { sha256, sha256Parts } from './sha256.ts';
export { sha384 } from './sha384.ts';
export { aesCmac, AesCmac } from './cmac.ts';
export {
  generateP256,
  p256Sign,
  p256Verify,
  p256PublicRaw,
  p256PublicFromRaw,
  p256PrivateFromRaw,
  p256PrivateRaw,
  type P256KeyPair,
} from './ecdsa.ts';
export { aesGcmSeal, aesGcmOpen } from './aes-gcm.ts';
export { hkdfSha256 } from './hkdf.ts';
export { randomBytes } from './random.ts';
export { ecdhP256Generate, ecdhP256Derive, type EcdhKeyPair } from './ecdh.ts';
export {
  rsa3072Sign,
  rsa3072Verify,
  rsaModulusLE,
  rsaQ1Q2,
  generateVendorKey,
  bigintFromLE,
  bigintToLE,
  RSA3072_BYTES,
  SIGSTRUCT_EXPONENT,
} from './rsa3072.ts';
