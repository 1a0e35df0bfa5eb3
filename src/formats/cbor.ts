import { FormatError } from '../errors.ts';

/**
 * The few CBOR (RFC 8949) items Catena needs: unsigned integers, byte and text strings, arrays, maps
 * and tags (the TCG DICE evidence extension), and the simple values false, true and null (the proof
 * bundle v2, docs/chain.md) — definite lengths only, shortest-form heads on output.
 * The decoder is strict: indefinite lengths, non-shortest heads, floats and trailing bytes are
 * errors; simple values too unless the caller asks for them (`{ simple: true }`).
 */
export type CborValue = number | Uint8Array | string | boolean | null | CborValue[] | CborMap | CborTag;
export class CborMap {
  constructor(readonly entries: Array<[CborValue, CborValue]>) {}
  get(key: string): CborValue | undefined {
    return this.entries.find(([k]) => k === key)?.[1];
  }
}
export class CborTag {
  constructor(
    readonly tag: number,
    readonly value: CborValue,
  ) {}
}

function head(major: number, n: number): number[] {
  if (!Number.isSafeInteger(n) || n < 0) throw new FormatError(`cbor: cannot encode length/value ${n}`);
  const m = major << 5;
  if (n < 24) return [m | n];
  if (n < 0x100) return [m | 24, n];
  if (n < 0x10000) return [m | 25, n >> 8, n & 0xff];
  if (n < 0x100000000) return [m | 26, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  const hi = Math.floor(n / 0x100000000);
  const lo = n >>> 0;
  return [
    m | 27,
    (hi >>> 24) & 0xff,
    (hi >>> 16) & 0xff,
    (hi >>> 8) & 0xff,
    hi & 0xff,
    (lo >>> 24) & 0xff,
    (lo >>> 16) & 0xff,
    (lo >>> 8) & 0xff,
    lo & 0xff,
  ];
}

/** The head of a CBOR item (major type, argument), shortest form: e.g. the length prefix of a byte string. */
export function encodeCborHead(major: number, n: number): Uint8Array {
  return Uint8Array.from(head(major, n));
}

/**
 * Encodes into one growing buffer: heads written in place, strings encoded straight into it (a proof
 * bundle v2 encodes a record per link: the encoder is on the build's path).
 */
export function encodeCbor(v: CborValue): Uint8Array {
  let buf = Buffer.allocUnsafe(1024);
  let pos = 0;
  const ensure = (n: number) => {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: growing when the bytes already fit only copies early
    if (pos + n <= buf.length) return;
    // Stryker disable next-line ArithmeticOperator: halving the old size still allocates pos + n (the max below): growth speed only
    const doubled = buf.length * 2;
    const b = Buffer.allocUnsafe(Math.max(doubled, pos + n));
    buf.copy(b, 0, 0, pos);
    buf = b;
  };
  const putHead = (major: number, n: number) => {
    // Stryker disable next-line BlockStatement: the fast path writes what head() below gives; skipping it only costs time
    if (n < 0x10000 && Number.isSafeInteger(n) && n >= 0) {
      ensure(3);
      const m = major << 5;
      if (n < 24) buf[pos++] = m | n;
      else if (n < 0x100) {
        buf[pos++] = m | 24;
        buf[pos++] = n;
      } else {
        buf[pos++] = m | 25;
        buf[pos++] = n >> 8;
        buf[pos++] = n & 0xff;
      }
      return;
    }
    const h = head(major, n);
    ensure(h.length);
    for (const x of h) buf[pos++] = x;
  };
  const put = (x: CborValue): void => {
    if (typeof x === 'number') putHead(0, x);
    else if (x === false || x === true || x === null) {
      ensure(1);
      buf[pos++] = x === null ? 0xf6 : x ? 0xf5 : 0xf4;
    } else if (x instanceof Uint8Array) {
      putHead(2, x.length);
      ensure(x.length);
      buf.set(x, pos);
      pos += x.length;
    } else if (typeof x === 'string') {
      // Stryker disable next-line StringLiteral: Buffer reads an empty encoding name as 'utf8'
      const len = Buffer.byteLength(x, 'utf8');
      putHead(3, len);
      ensure(len);
      // Stryker disable next-line StringLiteral: Buffer reads an empty encoding name as 'utf8'
      pos += buf.write(x, pos, len, 'utf8');
    } else if (Array.isArray(x)) {
      putHead(4, x.length);
      for (const e of x) put(e);
    } else if (x instanceof CborMap) {
      putHead(5, x.entries.length);
      for (const [k, val] of x.entries) {
        put(k);
        put(val);
      }
    } else if (x instanceof CborTag) {
      putHead(6, x.tag);
      put(x.value);
    } else throw new FormatError('cbor: unsupported value');
  };
  put(v);
  return new Uint8Array(buf.buffer, buf.byteOffset, pos).slice();
}

const MAX_DEPTH = 16;

/** Decodes exactly one CBOR item; anything after it is an error. */
export function decodeCbor(bytes: Uint8Array, opts: { simple?: boolean } = {}): CborValue {
  let pos = 0;
  const need = (n: number) => {
    if (pos + n > bytes.length) throw new FormatError('cbor: input ended inside an item', 'ERR_SHORT_INPUT');
  };
  const readArg = (info: number): number => {
    if (info < 24) return info;
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (size === 0) throw new FormatError(`cbor: unsupported additional info ${info} (indefinite lengths are refused)`);
    need(size);
    let n = 0;
    for (let i = 0; i < size; i++) n = n * 256 + bytes[pos + i];
    pos += size;
    if (!Number.isSafeInteger(n)) throw new FormatError('cbor: integer too large');
    const min = size === 1 ? 24 : size === 2 ? 0x100 : size === 4 ? 0x10000 : 0x100000000;
    if (n < min) throw new FormatError('cbor: non-shortest integer encoding');
    return n;
  };
  const item = (depth: number): CborValue => {
    if (depth > MAX_DEPTH) throw new FormatError('cbor: nested too deeply');
    need(1);
    const ib = bytes[pos++];
    // 0xf4 … 0xf6 (major type 7): false, true, null.
    if (opts.simple && ib >= 0xf4 && ib <= 0xf6) return ib === 0xf6 ? null : ib === 0xf5;
    const major = ib >> 5;
    const n = readArg(ib & 0x1f);
    switch (major) {
      case 0:
        return n;
      case 2:
        need(n);
        pos += n;
        return bytes.slice(pos - n, pos);
      case 3: {
        need(n);
        pos += n;
        try {
          return new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(pos - n, pos));
        } catch {
          // The decoder's TypeError is not a Catena error: bad text is bad input (found by fuzzing).
          throw new FormatError('cbor: text string is not valid UTF-8');
        }
      }
      case 4: {
        // Stryker disable next-line ConditionalExpression,ArithmeticOperator: a fast refusal; every item takes a byte, so the loop runs out of input with the same ERR_SHORT_INPUT
        if (n > bytes.length - pos) throw new FormatError('cbor: array longer than its input', 'ERR_SHORT_INPUT');
        const a: CborValue[] = [];
        for (let i = 0; i < n; i++) a.push(item(depth + 1));
        return a;
      }
      case 5: {
        // Stryker disable next-line ConditionalExpression,ArithmeticOperator: a fast refusal; every item takes a byte, so the loop runs out of input with the same ERR_SHORT_INPUT
        if (n > bytes.length - pos) throw new FormatError('cbor: map longer than its input', 'ERR_SHORT_INPUT');
        const e: Array<[CborValue, CborValue]> = [];
        for (let i = 0; i < n; i++) e.push([item(depth + 1), item(depth + 1)]);
        return new CborMap(e);
      }
      case 6:
        return new CborTag(n, item(depth + 1));
      default:
        throw new FormatError(`cbor: unsupported major type ${major}`);
    }
  };
  const v = item(0);
  if (pos !== bytes.length) throw new FormatError(`cbor: ${bytes.length - pos} trailing bytes`, 'ERR_TRAILING_BYTES');
  return v;
}
