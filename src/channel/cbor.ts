import { FormatError } from '../errors.ts';

/**
 * The few CBOR (RFC 8949) items the TCG DICE evidence extension needs: unsigned integers, byte and
 * text strings, arrays, maps and tags — definite lengths only, shortest-form heads on output.
 * The decoder is strict: indefinite lengths, non-shortest heads, floats/simple values and
 * trailing bytes are errors.
 */
export type CborValue = number | Uint8Array | string | CborValue[] | CborMap | CborTag;
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
    0,
    0,
    (hi >>> 8) & 0xff,
    hi & 0xff,
    (lo >>> 24) & 0xff,
    (lo >>> 16) & 0xff,
    (lo >>> 8) & 0xff,
    lo & 0xff,
  ];
}

export function encodeCbor(v: CborValue): Uint8Array {
  const out: number[] = [];
  const chunks: Uint8Array[] = [];
  const flush = () => {
    if (out.length) chunks.push(Uint8Array.from(out.splice(0)));
  };
  const put = (x: CborValue): void => {
    if (typeof x === 'number') out.push(...head(0, x));
    else if (x instanceof Uint8Array) {
      out.push(...head(2, x.length));
      flush();
      chunks.push(x);
    } else if (typeof x === 'string') {
      const b = new TextEncoder().encode(x);
      out.push(...head(3, b.length));
      flush();
      chunks.push(b);
    } else if (Array.isArray(x)) {
      out.push(...head(4, x.length));
      x.forEach(put);
    } else if (x instanceof CborMap) {
      out.push(...head(5, x.entries.length));
      for (const [k, val] of x.entries) {
        put(k);
        put(val);
      }
    } else if (x instanceof CborTag) {
      out.push(...head(6, x.tag));
      put(x.value);
    } else throw new FormatError('cbor: unsupported value');
  };
  put(v);
  flush();
  const len = chunks.reduce((n, c) => n + c.length, 0);
  const r = new Uint8Array(len);
  let o = 0;
  for (const c of chunks) {
    r.set(c, o);
    o += c.length;
  }
  return r;
}

const MAX_DEPTH = 16;

/** Decodes exactly one CBOR item; anything after it is an error. */
export function decodeCbor(bytes: Uint8Array): CborValue {
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
        if (n > bytes.length - pos) throw new FormatError('cbor: array longer than its input', 'ERR_SHORT_INPUT');
        const a: CborValue[] = [];
        for (let i = 0; i < n; i++) a.push(item(depth + 1));
        return a;
      }
      case 5: {
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
