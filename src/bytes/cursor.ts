import { FormatError } from '../errors.ts';

/**
 * A little-endian byte cursor. Every read names its field so a short input says what was missing.
 * `rest()` hands back what is left; `end(name)` rejects trailing bytes.
 */
export class Reader {
  private readonly view: DataView;
  offset = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly structName = 'input',
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get remaining(): number {
    return this.bytes.length - this.offset;
  }
  private need(n: number, field: string): void {
    if (n < 0 || this.offset + n > this.bytes.length) {
      throw new FormatError(
        `${this.structName}: too short reading ${field} (need ${n} bytes at offset ${this.offset}, have ${this.remaining})`,
        'ERR_SHORT_INPUT',
      );
    }
  }
  bytesOf(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
  /** Skips reserved bytes (callers that must check they are zero use bytesOf). */
  skip(n: number, field: string): void {
    this.need(n, field);
    this.offset += n;
  }
  u8(field: string): number {
    this.need(1, field);
    return this.view.getUint8(this.offset++);
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.offset, true);
    this.offset += 2;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return v;
  }
  u64(field: string): bigint {
    this.need(8, field);
    const v = this.view.getBigUint64(this.offset, true);
    this.offset += 8;
    return v;
  }
  rest(): Uint8Array {
    const out = this.bytes.subarray(this.offset);
    this.offset = this.bytes.length;
    return out;
  }
  /** Rejects trailing bytes. */
  end(): void {
    if (this.remaining !== 0) {
      throw new FormatError(`${this.structName}: ${this.remaining} trailing bytes`, 'ERR_TRAILING_BYTES');
    }
  }
}

/** A growable little-endian writer. */
export class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private grow(n: number): void {
    // Stryker disable next-line EqualityOperator: growing a buffer that is exactly full only copies early
    if (this.length + n <= this.buf.length) return;
    // Stryker disable next-line ArithmeticOperator: the loop below doubles until the bytes fit, from any start
    let cap = this.buf.length * 2;
    // Stryker disable next-line EqualityOperator: one doubling more only leaves more spare room
    while (cap < this.length + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.length));
    this.buf = nb;
    this.view = new DataView(nb.buffer);
  }
  bytes(b: Uint8Array, len?: number): this {
    if (len !== undefined && b.length !== len)
      throw new FormatError(`writer: expected ${len} bytes, got ${b.length}`, 'ERR_FIELD_LENGTH');
    this.grow(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }
  /** The buffer past `length` is always zero (nothing writes there first), so zeros only advance. */
  zeros(n: number): this {
    this.grow(n);
    this.length += n;
    return this;
  }
  u8(v: number): this {
    this.grow(1);
    this.view.setUint8(this.length, v);
    this.length += 1;
    return this;
  }
  u16(v: number): this {
    this.grow(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
    return this;
  }
  u32(v: number): this {
    this.grow(4);
    this.view.setUint32(this.length, v >>> 0, true);
    this.length += 4;
    return this;
  }
  u64(v: bigint): this {
    this.grow(8);
    this.view.setBigUint64(this.length, v, true);
    this.length += 8;
    return this;
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}
