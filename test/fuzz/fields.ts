/**
 * Where the length, count and type fields of a seed are, so mutations can aim at them (structure-aware
 * fuzzing: a flipped bit in a length field reaches far more parser paths than one in a hash).
 * A field is `size` bytes at `at`; `le` fields are little-endian integers, `der` ones a DER length.
 */
export interface Field {
  at: number;
  size: number;
  kind: 'le' | 'be' | 'der';
}

/** DER: every TLV's tag and length octets (best effort: stops where the bytes stop being DER). */
export function derFields(b: Uint8Array): Field[] {
  const out: Field[] = [];
  const walk = (start: number, end: number, depth: number): void => {
    let p = start;
    while (p + 2 <= end && depth < 24) {
      const tag = b[p];
      let len = b[p + 1];
      let hdr = 2;
      if (len & 0x80) {
        const n = len & 0x7f;
        if (n === 0 || n > 4 || p + 2 + n > end) return;
        len = 0;
        for (let i = 0; i < n; i++) len = len * 256 + b[p + 2 + i];
        hdr = 2 + n;
      }
      if (p + hdr + len > end) return;
      out.push({ at: p, size: 1, kind: 'be' }); // the tag
      out.push({ at: p + 1, size: hdr - 1, kind: 'der' });
      // Constructed, or an OCTET/BIT STRING that may wrap DER (extnValue, the SGX extension).
      if (tag & 0x20) walk(p + hdr, p + hdr + len, depth + 1);
      else if ((tag === 0x04 || tag === 0x03) && len > 2) {
        const inner = tag === 0x03 ? p + hdr + 1 : p + hdr;
        if (b[inner] === 0x30) walk(inner, p + hdr + len, depth + 1);
      }
      p += hdr + len;
    }
  };
  walk(0, b.length, 0);
  return out;
}

/** CBOR: every item head (major type and argument). */
export function cborFields(b: Uint8Array): Field[] {
  const out: Field[] = [];
  let p = 0;
  const item = (depth: number): void => {
    if (p >= b.length || depth > 16) throw new Error('stop');
    const ib = b[p];
    const info = ib & 0x1f;
    const size = info < 24 ? 0 : info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : -1;
    if (size < 0) throw new Error('stop');
    out.push({ at: p, size: 1 + size, kind: 'be' });
    let n = info < 24 ? info : 0;
    for (let i = 0; i < size; i++) n = n * 256 + b[p + 1 + i];
    p += 1 + size;
    const major = ib >> 5;
    if (major === 2 || major === 3) p += n;
    else if (major === 4) for (let i = 0; i < n; i++) item(depth + 1);
    else if (major === 5) for (let i = 0; i < 2 * n; i++) item(depth + 1);
    else if (major === 6) item(depth + 1);
  };
  try {
    item(0);
  } catch {
    /* a partial list is still useful */
  }
  return out;
}

/** DCAP quote v3/v4 (layout in src/formats/quote.ts): header fields, sig_data_len and the inner sizes and types. */
export function quoteFields(b: Uint8Array): Field[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const le = (at: number, size: number): Field => ({ at, size, kind: 'le' });
  const out: Field[] = [le(0, 2), le(2, 2), le(4, 4), le(8, 2), le(10, 2)];
  if (b.length < 48) return out;
  const version = dv.getUint16(0, true);
  const body = version === 4 && dv.getUint32(4, true) === 0x81 ? 584 : 384;
  const sigLenAt = 48 + body;
  if (b.length < sigLenAt + 4) return out;
  out.push(le(sigLenAt, 4));
  const s0 = sigLenAt + 4;
  let qe = s0 + 128;
  if (version === 4) {
    out.push(le(s0 + 128, 2), le(s0 + 130, 4));
    qe = s0 + 134;
  }
  const authAt = qe + 384 + 64;
  if (b.length < authAt + 2) return out;
  out.push(le(authAt, 2));
  const n = dv.getUint16(authAt, true);
  const certAt = authAt + 2 + n;
  if (b.length >= certAt + 6) out.push(le(certAt, 2), le(certAt + 2, 4));
  // Report body fields the verifier branches on: attributes, isv_prod_id, isv_svn.
  out.push(le(48 + 48, 8), le(48 + 256, 2), le(48 + 258, 2));
  return out;
}

/** SGXS: each record's tag (8 bytes) and first argument. */
export function sgxsFields(b: Uint8Array): Field[] {
  const out: Field[] = [];
  let p = 0;
  while (p + 64 <= b.length && out.length < 4096) {
    out.push({ at: p, size: 8, kind: 'le' }, { at: p + 8, size: 8, kind: 'le' });
    const tag = String.fromCharCode(...b.subarray(p, p + 8));
    p += tag.startsWith('EEXTEND') || tag.startsWith('UNMEASRD') ? 320 : 64;
  }
  return out;
}
