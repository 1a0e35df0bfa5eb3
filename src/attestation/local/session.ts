import { Writer } from '../../bytes/cursor.ts';
import { aesGcmOpen, aesGcmSeal, DecryptionError } from '../../crypto/aes-gcm.ts';
import { LocalAttestationError } from './errors.ts';

/**
 * An established local-attestation session: two AES-128-GCM keys (one per direction) and two
 * 64-bit sequence numbers. A record is seq (u64 LE, 8) ‖ ciphertext ‖ tag (16); the IV is
 * 4 zero bytes ‖ seq and the AAD is the direction label ‖ seq. A receiver accepts only the
 * exact next sequence number, so replayed, reordered or dropped records are refused.
 */
export class LocalSession {
  private sendSeq = 0n;
  private recvSeq = 0n;
  constructor(
    private readonly sendKey: Uint8Array,
    private readonly recvKey: Uint8Array,
    private readonly sendLabel: number,
    private readonly recvLabel: number,
    /** The peer's verified REPORT body fields, for the application. */
    readonly peer: { mrEnclave: Uint8Array; mrSigner: Uint8Array; isvProdId: number; isvSvn: number },
  ) {}

  private static iv(seq: bigint): Uint8Array {
    return new Writer().zeros(4).u64(seq).finish();
  }
  private static aad(label: number, seq: bigint): Uint8Array {
    return new Writer().u8(label).u64(seq).finish();
  }

  seal(plaintext: Uint8Array): Uint8Array {
    const seq = this.sendSeq++;
    const ct = aesGcmSeal(this.sendKey, LocalSession.iv(seq), plaintext, LocalSession.aad(this.sendLabel, seq));
    return new Writer().u64(seq).bytes(ct).finish();
  }

  open(record: Uint8Array): Uint8Array {
    if (record.length < 8 + 16) throw new LocalAttestationError('ERR_LA_MESSAGE', 'session record too short');
    const seq = new DataView(record.buffer, record.byteOffset, 8).getBigUint64(0, true);
    if (seq !== this.recvSeq) {
      throw new LocalAttestationError(
        'ERR_LA_SEQUENCE',
        // Stryker disable next-line EqualityOperator: seq !== recvSeq here, so `<=` is `<` (`>=` swaps the two texts, which the tests check)
        seq < this.recvSeq
          ? `record ${seq} replayed (expected ${this.recvSeq})`
          : `record ${seq} out of order (expected ${this.recvSeq})`,
      );
    }
    try {
      const pt = aesGcmOpen(
        this.recvKey,
        LocalSession.iv(seq),
        record.subarray(8),
        LocalSession.aad(this.recvLabel, seq),
      );
      this.recvSeq++;
      return pt;
    } catch (e) {
      if (e instanceof DecryptionError)
        throw new LocalAttestationError('ERR_LA_DECRYPT', 'session record failed authentication');
      throw e;
    }
  }
}
