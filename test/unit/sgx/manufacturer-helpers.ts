import * as asn1js from 'asn1js';

/**
 * Test-side readers written independently of src/sgx/manufacturer: an ASN.1 "shape" walker (tags,
 * OIDs, nesting — values left out), a PEM splitter, a PCS-body slicer and an SGX-extension decoder.
 */
export type Shape = string | { tag: string; oid?: string; children?: Shape[] };

function tagName(b: asn1js.BaseBlock): string {
  const { tagClass, tagNumber } = b.idBlock;
  return tagClass === 1 ? `U${tagNumber}` : `C${tagClass}:${tagNumber}`;
}

export function shapeOf(b: asn1js.BaseBlock): Shape {
  if (b instanceof asn1js.ObjectIdentifier) return { tag: 'OID', oid: b.valueBlock.toString() };
  const children = (b.valueBlock as { value?: unknown }).value;
  if (b.idBlock.isConstructed && Array.isArray(children))
    return { tag: tagName(b), children: (children as asn1js.BaseBlock[]).map(shapeOf) };
  return tagName(b);
}

export function parseBer(der: Uint8Array): asn1js.BaseBlock {
  const r = asn1js.fromBER(Uint8Array.from(der));
  if (r.offset === -1 || r.offset !== der.length) throw new Error(`not one DER value: ${r.result.error}`);
  return r.result;
}

export function pemBlocks(text: string, label = 'CERTIFICATE'): Uint8Array[] {
  const re = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`, 'g');
  return [...text.matchAll(re)].map((m) => new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ''), 'base64')));
}

/** The certificate's extensions as [{ oid, critical, value }], in order (RFC 5280 TBSCertificate [3]). */
export function certExtensions(der: Uint8Array): Array<{ oid: string; critical: boolean; value: Uint8Array }> {
  const cert = parseBer(der) as asn1js.Sequence;
  const tbs = cert.valueBlock.value[0] as asn1js.Sequence;
  const wrapper = tbs.valueBlock.value.find(
    (b) => b.idBlock.tagClass === 3 && b.idBlock.tagNumber === 3,
  ) as asn1js.Constructed;
  const exts = wrapper.valueBlock.value[0] as asn1js.Sequence;
  return exts.valueBlock.value.map((e) => {
    const parts = (e as asn1js.Sequence).valueBlock.value;
    const critical = parts.length === 3 ? (parts[1] as asn1js.Boolean).valueBlock.value : false;
    const value = new Uint8Array((parts[parts.length - 1] as asn1js.OctetString).valueBlock.valueHexView);
    return { oid: (parts[0] as asn1js.ObjectIdentifier).valueBlock.toString(), critical, value };
  });
}

/** The CRL's extensions OIDs in order, and its revoked entries (serial hex, reason code). */
export function crlContents(der: Uint8Array): {
  extensions: string[];
  revoked: Array<{ serial: string; reason?: number }>;
} {
  const crl = parseBer(der) as asn1js.Sequence;
  const tbs = (crl.valueBlock.value[0] as asn1js.Sequence).valueBlock.value;
  const revokedSeq = tbs.find((b, i) => i > 2 && b instanceof asn1js.Sequence) as asn1js.Sequence | undefined;
  const extWrapper = tbs.find((b) => b.idBlock.tagClass === 3 && b.idBlock.tagNumber === 0) as
    asn1js.Constructed | undefined;
  const extensions = extWrapper
    ? (extWrapper.valueBlock.value[0] as asn1js.Sequence).valueBlock.value.map((e) =>
        ((e as asn1js.Sequence).valueBlock.value[0] as asn1js.ObjectIdentifier).valueBlock.toString(),
      )
    : [];
  const revoked = (revokedSeq?.valueBlock.value ?? []).map((entry) => {
    const parts = (entry as asn1js.Sequence).valueBlock.value;
    const serial = Buffer.from((parts[0] as asn1js.Integer).valueBlock.valueHexView)
      .toString('hex')
      .replace(/^(00)+(?=..)/, '');
    let reason: number | undefined;
    const exts = parts[2] as asn1js.Sequence | undefined;
    for (const e of exts?.valueBlock.value ?? []) {
      const p = (e as asn1js.Sequence).valueBlock.value;
      if ((p[0] as asn1js.ObjectIdentifier).valueBlock.toString() === '2.5.29.21') {
        const inner = parseBer(
          new Uint8Array((p[p.length - 1] as asn1js.OctetString).valueBlock.valueHexView),
        ) as asn1js.Enumerated;
        reason = inner.valueBlock.valueDec;
      }
    }
    return { serial, reason };
  });
  return { extensions, revoked };
}

/** Decodes Intel's SGX extension value into plain fields (independent of src/formats/pck-extension.ts). */
export function decodeSgxExtension(value: Uint8Array): Record<string, unknown> {
  const top = parseBer(value) as asn1js.Sequence;
  const out: Record<string, unknown> = {};
  const PREFIX = '1.2.840.113741.1.13.1.';
  for (const item of top.valueBlock.value) {
    const [oidB, v] = (item as asn1js.Sequence).valueBlock.value as [asn1js.ObjectIdentifier, asn1js.BaseBlock];
    const arc = oidB.valueBlock.toString().slice(PREFIX.length);
    if (arc === '2') {
      const comps: number[] = [];
      for (const c of (v as asn1js.Sequence).valueBlock.value) {
        const [o, x] = (c as asn1js.Sequence).valueBlock.value as [asn1js.ObjectIdentifier, asn1js.BaseBlock];
        const sub = Number(o.valueBlock.toString().split('.').pop());
        if (sub <= 16) comps.push((x as asn1js.Integer).valueBlock.valueDec);
        else if (sub === 17) out.pceSvn = (x as asn1js.Integer).valueBlock.valueDec;
        else out.cpuSvn = Buffer.from((x as asn1js.OctetString).valueBlock.valueHexView).toString('hex');
      }
      out.tcbComponents = comps;
    } else if (arc === '5') out.sgxType = (v as asn1js.Enumerated).valueBlock.valueDec;
    else if (arc === '7') {
      out.configuration = (v as asn1js.Sequence).valueBlock.value.map(
        (c) => ((c as asn1js.Sequence).valueBlock.value[1] as asn1js.Boolean).valueBlock.value,
      );
    } else
      out[{ '1': 'ppid', '3': 'pceId', '4': 'fmspc', '6': 'platformInstanceId' }[arc] ?? arc] = Buffer.from(
        (v as asn1js.OctetString).valueBlock.valueHexView,
      ).toString('hex');
  }
  return out;
}

/** Slices the exact text of body[key] (a top-level object member) by brace matching, honouring strings. */
export function sliceMember(body: string, key: string): string {
  const marker = `"${key}"`;
  let i = body.indexOf(marker);
  if (i < 0) throw new Error(`no ${key}`);
  i = body.indexOf('{', i + marker.length);
  let depth = 0;
  let inString = false;
  for (let j = i; j < body.length; j++) {
    const c = body[j];
    if (inString) {
      if (c === '\\') j++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return body.slice(i, j + 1);
    }
  }
  throw new Error('unterminated');
}

/** Object keys in order, recursively for the given path of nested members (for comparing field order). */
export function keyOrder(o: Record<string, unknown>): string[] {
  return Object.keys(o);
}
