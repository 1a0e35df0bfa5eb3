import { Duplex } from 'node:stream';
import { hex } from '../bytes/util.ts';
import { ChannelError } from './errors.ts';
import type { AttestedStream, PeerIdentity } from './types.ts';

/**
 * The local-attestation session (src/attestation/local, `LocalSession`) as an AttestedStream, over
 * any relayed byte pipe. Framing on the pipe:
 *
 *   off  len  field
 *     0    4  record length n (u32 big-endian, 24 ≤ n ≤ 16 MiB + 24)
 *     4    n  LocalSession record: seq (u64 LE) ‖ AES-GCM ciphertext ‖ tag (16)
 *
 * Writes larger than 64 KiB are split into several records. A record that fails to open (altered,
 * replayed, reordered, dropped) or a bad length destroys the stream with ERR_CHANNEL_RECORD.
 */
export interface RecordSession {
  seal(plaintext: Uint8Array): Uint8Array;
  open(record: Uint8Array): Uint8Array;
  readonly peer: { mrEnclave: Uint8Array; mrSigner: Uint8Array; isvProdId: number; isvSvn: number };
}

const MAX_PLAINTEXT = 64 * 1024;
const MIN_RECORD = 8 + 16;
const MAX_RECORD = 16 * 1024 * 1024 + MIN_RECORD;

class LocalAttestedStream extends Duplex {
  readonly channel = 'local-attestation' as const;
  readonly peer: PeerIdentity;
  #buf: Buffer = Buffer.alloc(0);
  constructor(
    private readonly session: RecordSession,
    private readonly transport: Duplex,
    debug: boolean,
  ) {
    super();
    const p = session.peer;
    this.peer = {
      mrEnclave: hex(p.mrEnclave),
      mrSigner: hex(p.mrSigner),
      isvProdId: p.isvProdId,
      isvSvn: p.isvSvn,
      debug,
      evidenceKind: 'sgx-local-report',
    };
    transport.on('data', (b: Buffer) => this.#onData(b));
    transport.on('end', () => {
      if (this.#buf.length)
        this.destroy(new ChannelError('ERR_CHANNEL_RECORD', 'framing', 'pipe ended inside a record'));
      else this.push(null);
    });
    transport.on('error', (e) => this.destroy(e));
    transport.on('close', () => {
      if (!this.readableEnded) this.destroy();
    });
  }
  #onData(b: Buffer): void {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, b]) : b;
    while (this.#buf.length >= 4) {
      const n = this.#buf.readUInt32BE(0);
      if (n < MIN_RECORD || n > MAX_RECORD)
        return void this.destroy(new ChannelError('ERR_CHANNEL_RECORD', 'framing', `record length ${n} out of range`));
      if (this.#buf.length < 4 + n) return;
      const record = new Uint8Array(this.#buf.subarray(4, 4 + n));
      this.#buf = this.#buf.subarray(4 + n);
      let pt: Uint8Array;
      try {
        pt = this.session.open(record);
      } catch (e) {
        return void this.destroy(new ChannelError('ERR_CHANNEL_RECORD', 'record', (e as Error).message, { cause: e }));
      }
      if (!this.push(pt)) this.transport.pause();
    }
  }
  override _read(): void {
    this.transport.resume();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    try {
      for (let off = 0; off < chunk.length || off === 0; off += MAX_PLAINTEXT) {
        const rec = this.session.seal(new Uint8Array(chunk.subarray(off, off + MAX_PLAINTEXT)));
        const head = Buffer.alloc(4);
        head.writeUInt32BE(rec.length);
        this.transport.write(Buffer.concat([head, rec]));
        if (chunk.length === 0) break;
      }
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }
  override _final(cb: (e?: Error | null) => void): void {
    this.transport.end(cb);
  }
  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.transport.destroy();
    cb(err);
  }
}

/** Wraps an established LocalSession and the pipe carrying its records. `debug`: whether the peer is a DEBUG enclave (its report said so). */
export function localAttestedStream(
  session: RecordSession,
  transport: Duplex,
  opts: { debug?: boolean } = {},
): AttestedStream {
  return new LocalAttestedStream(session, transport, opts.debug ?? false);
}
