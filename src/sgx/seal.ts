import { Reader, Writer } from '../bytes/cursor.ts';
import { ctEqual, isZero } from '../bytes/util.ts';
import { aesGcmOpen, aesGcmSeal, DecryptionError } from '../crypto/aes-gcm.ts';
import { randomBytes } from '../crypto/random.ts';
import {
  KEY_NAME,
  KEY_POLICY,
  KEYREQUEST_SIZE,
  parseKeyRequest,
  serializeKeyRequest,
  type KeyRequest,
} from '../formats/keyrequest.ts';
import { SgxError } from './errors.ts';

/**
 * Sealed data, in the Intel SGX SDK's `sgx_sealed_data_t` layout (`sgx_tseal.h`), so a blob says
 * which key sealed it:
 *
 *   off  len  field
 *     0  512  key_request          (KEYREQUEST: SEAL, policy, ISVSVN, CPUSVN, masks, random KEYID)
 *   512    4  plain_text_offset    (= length of the encrypted part; the AAD follows it in the payload)
 *   516   12  reserved (zero)
 *   528    4  aes_data.payload_size (encrypted length + AAD length)
 *   532   12  reserved (zero)
 *   544   16  aes_data.payload_tag (AES-GCM tag)
 *   560    n  aes_data.payload     (ciphertext ‖ AAD in clear)
 *
 * Encryption: AES-128-GCM under the EGETKEY(SEAL) key, IV = 12 zero bytes (as the SDK: every blob
 * has a fresh random 256-bit KEYID, hence a fresh key), GCM AAD = the AAD text.
 * Key request defaults are the SDK's: ATTRIBUTEMASK flags 0xFF0000000000000B, xfrm 0;
 * MISCMASK 0xF0000000; ISVSVN and CPUSVN the sealing enclave's current ones.
 */
export const SEALED_DATA_HEADER_SIZE = 560;
export const SEAL_ATTRIBUTE_MASK = { flags: 0xff0000000000000bn, xfrm: 0n } as const;
export const SEAL_MISC_MASK = 0xf0000000;
const ZERO_IV = new Uint8Array(12);

export type SealPolicy = 'mrenclave' | 'mrsigner';

export interface SealedData {
  keyRequest: KeyRequest;
  keyRequestBytes: Uint8Array;
  ciphertext: Uint8Array;
  tag: Uint8Array;
  aad: Uint8Array;
}

/** What sealing needs from the enclave it runs in. */
export interface SealingEnclave {
  egetkey(keyRequest: Uint8Array): Promise<Uint8Array>;
  readonly isvSvn: number;
  readonly cpuSvn: Uint8Array;
}

/** Parses a sealed blob strictly (exact length, zero reserved bytes). */
export function parseSealedData(blob: Uint8Array): SealedData {
  try {
    const r = new Reader(blob, 'sealed data');
    const keyRequestBytes = r.bytesOf(KEYREQUEST_SIZE, 'key_request');
    const keyRequest = parseKeyRequest(keyRequestBytes);
    const plainTextOffset = r.u32('plain_text_offset');
    if (!isZero(r.bytesOf(12, 'reserved')))
      throw new SgxError('ERR_SEALED_DATA', 'sealed data: reserved bytes not zero');
    const payloadSize = r.u32('payload_size');
    if (!isZero(r.bytesOf(12, 'aes_data reserved')))
      throw new SgxError('ERR_SEALED_DATA', 'sealed data: reserved bytes not zero');
    const tag = r.bytesOf(16, 'payload_tag');
    if (plainTextOffset > payloadSize)
      throw new SgxError('ERR_SEALED_DATA', 'sealed data: plain_text_offset beyond the payload');
    const ciphertext = r.bytesOf(plainTextOffset, 'encrypted payload');
    const aad = r.bytesOf(payloadSize - plainTextOffset, 'additional MAC text');
    r.end();
    if (keyRequest.keyName !== KEY_NAME.SEAL)
      throw new SgxError('ERR_SEALED_DATA', `sealed data: key request names key ${keyRequest.keyName}, not SEAL`);
    return { keyRequest, keyRequestBytes, ciphertext, tag, aad };
  } catch (e) {
    if (e instanceof SgxError) throw e;
    throw new SgxError('ERR_SEALED_DATA', (e as Error).message);
  }
}

/** Seals `plaintext` to the calling enclave (policy MRENCLAVE) or to its signer (MRSIGNER), binding `aad`. */
export async function sealData(
  enclave: SealingEnclave,
  plaintext: Uint8Array,
  policy: SealPolicy,
  aad: Uint8Array = new Uint8Array(0),
): Promise<Uint8Array> {
  if (policy !== 'mrenclave' && policy !== 'mrsigner')
    throw new SgxError('ERR_ARGUMENT', `seal policy must be 'mrenclave' or 'mrsigner', got ${String(policy)}`);
  const keyRequestBytes = serializeKeyRequest({
    keyName: KEY_NAME.SEAL,
    keyPolicy: policy === 'mrenclave' ? KEY_POLICY.MRENCLAVE : KEY_POLICY.MRSIGNER,
    isvSvn: enclave.isvSvn,
    cpuSvn: enclave.cpuSvn,
    attributeMask: SEAL_ATTRIBUTE_MASK,
    keyId: randomBytes(32),
    miscMask: SEAL_MISC_MASK,
    configSvn: 0,
  });
  const key = await enclave.egetkey(keyRequestBytes);
  const sealed = aesGcmSeal(key, ZERO_IV, plaintext, aad);
  key.fill(0);
  const ctLen = sealed.length - 16;
  return new Writer()
    .bytes(keyRequestBytes)
    .u32(ctLen)
    .zeros(12)
    .u32(ctLen + aad.length)
    .zeros(12)
    .bytes(sealed.subarray(ctLen))
    .bytes(sealed.subarray(0, ctLen))
    .bytes(aad)
    .finish();
}

/**
 * Unseals a blob in the calling enclave. The key request inside the blob is replayed through
 * EGETKEY (so an ISVSVN/CPUSVN above the caller's is refused by the CPU with its typed error);
 * a blob sealed by another enclave or signer, on another platform, or altered fails with
 * ERR_UNSEAL_MAC; a blob whose AAD is not `aad` fails with ERR_UNSEAL_AAD.
 */
export async function unsealData(
  enclave: Pick<SealingEnclave, 'egetkey'>,
  blob: Uint8Array,
  aad: Uint8Array = new Uint8Array(0),
): Promise<Uint8Array> {
  const s = parseSealedData(blob);
  const key = await enclave.egetkey(s.keyRequestBytes);
  let plaintext: Uint8Array;
  try {
    const sealed = new Uint8Array(s.ciphertext.length + 16);
    sealed.set(s.ciphertext);
    sealed.set(s.tag, s.ciphertext.length);
    plaintext = aesGcmOpen(key, ZERO_IV, sealed, s.aad);
  } catch (e) {
    if (e instanceof DecryptionError) {
      throw new SgxError(
        'ERR_UNSEAL_MAC',
        'sealed data does not open: sealed by another enclave or signer, on another platform, or altered',
      );
    }
    throw e;
  } finally {
    key.fill(0);
  }
  if (!ctEqual(s.aad, aad))
    throw new SgxError('ERR_UNSEAL_AAD', 'sealed data carries different additional authenticated data');
  return plaintext;
}
