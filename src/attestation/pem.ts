import { FormatError } from '../errors.ts';

/**
 * PEM and "any encoding" helpers for certificates and CRLs as they arrive from quotes, files and PCS
 * headers. Strict about content (base64 that decodes, nothing between blocks but whitespace), liberal
 * about transport (DER, PEM, or hex text of DER).
 */
const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\s]*?)-----END \1-----/g;

/** Every `label` block of a PEM text, in order, as DER. Rejects text outside the blocks (other than whitespace and NULs). */
export function pemBlocks(text: string, label: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  let last = 0;
  for (const m of text.matchAll(BLOCK)) {
    if (text.slice(last, m.index).replace(/[\s\0]/g, '') !== '') throw new FormatError('PEM: unexpected text between blocks', 'ERR_PEM');
    last = m.index + m[0].length;
    if (m[1] !== label) throw new FormatError(`PEM: unexpected ${m[1]} block (expected ${label})`, 'ERR_PEM');
    const b64 = m[2]!.replace(/\s/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new FormatError('PEM: bad base64', 'ERR_PEM');
    out.push(new Uint8Array(Buffer.from(b64, 'base64')));
  }
  if (text.slice(last).replace(/[\s\0]/g, '') !== '') throw new FormatError('PEM: unexpected trailing text', 'ERR_PEM');
  return out;
}

export function pemCertificates(text: string): Uint8Array[] {
  return pemBlocks(text, 'CERTIFICATE');
}

export function toPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${b64.replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

/**
 * DER from bytes that may be DER, PEM (one block of `label`) or hex text of DER (as PCCS serves the root CA CRL).
 * Garbage stays garbage: the DER parser rejects it later, so CRL checks still fail closed.
 */
export function derFromAny(bytes: Uint8Array, label: string): Uint8Array {
  if (bytes.length > 0 && bytes[0] === 0x30) return bytes;
  const text = Buffer.from(bytes).toString('latin1').trim();
  if (text.startsWith('-----BEGIN')) {
    const blocks = pemBlocks(text, label);
    if (blocks.length !== 1) throw new FormatError(`PEM: expected one ${label}, got ${blocks.length}`, 'ERR_PEM');
    return blocks[0]!;
  }
  if (/^([0-9a-fA-F]{2})+$/.test(text)) return new Uint8Array(Buffer.from(text, 'hex'));
  return bytes;
}

/** Certificates from DER (one) or PEM (one or more). */
export function certificatesFromAny(bytes: Uint8Array): Uint8Array[] {
  if (bytes.length > 0 && bytes[0] === 0x30) return [bytes];
  return pemCertificates(Buffer.from(bytes).toString('latin1'));
}
