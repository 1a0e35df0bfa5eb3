import { createCipheriv, type Cipher } from 'node:crypto';
import { abytes } from '../bytes/util.ts';

/**
 * AES-128-CMAC (RFC 4493 / NIST SP 800-38B), written here because node:crypto has no CMAC.
 * One AES-128-ECB cipher per key does both subkey generation and the CBC-MAC chain.
 * Checked against all four RFC 4493 test vectors in test/unit/crypto/cmac.test.ts.
 */
const RB = 0x87;

function shiftLeft(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  let carry = 0;
  for (let i = 15; i >= 0; i--) {
    const b = src[i]!;
    out[i] = ((b << 1) | carry) & 0xff;
    carry = b >>> 7;
  }
  if (src[0]! & 0x80) out[15]! ^= RB;
  return out;
}

const ZERO_IV = new Uint8Array(16);

export class AesCmac {
  private readonly key: Uint8Array;
  private readonly ecb: Cipher;
  private readonly k1: Uint8Array;
  private readonly k2: Uint8Array;
  constructor(key: Uint8Array) {
    abytes(key, 16, 'cmac key');
    this.key = key.slice();
    this.ecb = createCipheriv('aes-128-ecb', key, null);
    this.ecb.setAutoPadding(false);
    const l = this.block(new Uint8Array(16));
    this.k1 = shiftLeft(l);
    this.k2 = shiftLeft(this.k1);
  }
  private block(b: Uint8Array): Uint8Array {
    return new Uint8Array(this.ecb.update(b));
  }
  mac(msg: Uint8Array): Uint8Array {
    const n = msg.length === 0 ? 1 : Math.ceil(msg.length / 16);
    const complete = msg.length > 0 && msg.length % 16 === 0;
    // CBC-MAC over all blocks but the last (one CBC call: the last ciphertext block is the chain
    // value), then the masked last block.
    let x: Uint8Array = ZERO_IV;
    const y = new Uint8Array(16);
    if (n > 1) {
      const cbc = createCipheriv('aes-128-cbc', this.key, ZERO_IV);
      cbc.setAutoPadding(false);
      const out = cbc.update(msg.subarray(0, (n - 1) * 16));
      x = new Uint8Array(out.buffer, out.byteOffset + out.length - 16, 16);
    }
    const last = new Uint8Array(16);
    const tail = msg.subarray((n - 1) * 16);
    last.set(tail);
    if (!complete) last[tail.length] = 0x80;
    const k = complete ? this.k1 : this.k2;
    for (let j = 0; j < 16; j++) y[j] = x[j]! ^ last[j]! ^ k[j]!;
    return this.block(y);
  }
}

export function aesCmac(key: Uint8Array, msg: Uint8Array): Uint8Array {
  return new AesCmac(key).mac(msg);
}
