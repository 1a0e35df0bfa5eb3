import { FormatError } from '../errors.ts';

/**
 * PEM and "any encoding" helpers for certificates and CRLs as they arrive from quotes, files and PCS
 * headers. Strict about content (base64 that decodes, nothing between blocks but whitespace), liberal
 * about transport (DER, PEM, or hex text of DER).
 */
const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\s]*?)-----END \1-----/g;

/**
 * Every `label` block of a PEM text, in order, as DER. The base64 must be canonical (re-encoding the
 * bytes gives it back: no ignored padding bits). `strict` (used for a quote's PCK chain, whose bytes no
 * signature covers) allows only CR/LF as separators and one terminating NUL, so that no change to the
 * text can leave the decoded certificates the same; otherwise any whitespace and NULs between blocks.
 */
export function pemBlocks(text: string, label: string, opts: { strict?: boolean } = {}): Uint8Array[] {
  const out: Uint8Array[] = [];
  const gap = opts.strict ? /^(\r?\n)*$/ : /^[\s\0]*$/;
  const tail = opts.strict ? /^(\r?\n)*\0?$/ : /^[\s\0]*$/;
  let last = 0;
  for (const m of text.matchAll(BLOCK)) {
    if (!gap.test(text.slice(last, m.index))) throw new FormatError('PEM: unexpected text between blocks', 'ERR_PEM');
    last = m.index + m[0].length;
    if (m[1] !== label) throw new FormatError(`PEM: unexpected ${m[1]} block (expected ${label})`, 'ERR_PEM');
    const body = m[2];
    if (opts.strict && !/^(\r?\n)([A-Za-z0-9+/=]+\r?\n)+$/.test(body))
      throw new FormatError('PEM: malformed lines', 'ERR_PEM');
    const b64 = body.replace(/\s/g, '');
    const der = Buffer.from(b64, 'base64');
    if (b64.length === 0 || der.toString('base64') !== b64)
      throw new FormatError('PEM: base64 is not canonical', 'ERR_PEM');
    out.push(new Uint8Array(der));
  }
  if (!tail.test(text.slice(last))) throw new FormatError('PEM: unexpected trailing text', 'ERR_PEM');
  return out;
}

export function pemCertificates(text: string, opts: { strict?: boolean } = {}): Uint8Array[] {
  return pemBlocks(text, 'CERTIFICATE', opts);
}

export function toPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${b64.replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

/**
 * DER from bytes that may be DER, PEM (one block of `label`) or hex text of DER (as PCCS serves the root CA CRL).
 * Garbage stays garbage: the DER parser rejects it later, so CRL checks still fail closed.
 */
export function derFromAny(bytes: Uint8Array, label: string): Uint8Array {
  if (bytes[0] === 0x30) return bytes; // (undefined for no bytes)
  const text = Buffer.from(bytes).toString('latin1').trim();
  if (text.startsWith('-----BEGIN')) {
    const blocks = pemBlocks(text, label);
    if (blocks.length !== 1) throw new FormatError(`PEM: expected one ${label}, got ${blocks.length}`, 'ERR_PEM');
    return blocks[0];
  }
  if (/^([0-9a-fA-F]{2})+$/.test(text)) return new Uint8Array(Buffer.from(text, 'hex'));
  return bytes;
}

/** Certificates from DER (one) or PEM (one or more). */
export function certificatesFromAny(bytes: Uint8Array): Uint8Array[] {
  if (bytes[0] === 0x30) return [bytes];
  return pemCertificates(Buffer.from(bytes).toString('latin1'));
}
