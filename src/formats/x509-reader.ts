import { FormatError } from '../errors.ts';
import { children, derTime, expectTag, oidText, parseDer, TAG, type DerNode } from './der-reader.ts';

const bad = (message: string) => new FormatError(message, 'ERR_DER');

/**
 * The parts of an X.509 certificate (RFC 5280 §4.1) a relying party reads from a self-signed RA-TLS
 * certificate: the SubjectPublicKeyInfo (DER), the validity window and every extension, read with the
 * strict DER reader (no general ASN.1 library on the handshake path). Structure errors are
 * FormatError ERR_DER; signatures are not checked here.
 */
export interface CertificateParts {
  spki: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  extensions: Array<{ oid: string; critical: boolean; value: Uint8Array }>;
}

export function readCertificateParts(der: Uint8Array): CertificateParts {
  const cert = children(expectTag(parseDer(der, 'certificate'), TAG.SEQUENCE, 'certificate'), 'certificate');
  if (cert.length !== 3) throw bad('certificate: expected tbsCertificate, signatureAlgorithm, signature');
  const tbs = children(expectTag(cert[0], TAG.SEQUENCE, 'tbsCertificate'), 'tbsCertificate');
  let i = tbs[0]?.tag === 0xa0 ? 1 : 0; // [0] EXPLICIT version
  i += 3; // serialNumber, signature, issuer
  const validity = children(expectTag(tbs[i++], TAG.SEQUENCE, 'validity'), 'validity');
  if (validity.length !== 2) throw bad('validity: expected notBefore and notAfter');
  i++; // subject
  // Stryker disable next-line UpdateOperator: stepping back only revisits the SPKI, which the loop below skips (not [3])
  const spki = expectTag(tbs[i++], TAG.SEQUENCE, 'subjectPublicKeyInfo').raw;
  const extensions: CertificateParts['extensions'] = [];
  for (; i < tbs.length; i++) {
    const n = tbs[i];
    if (n.tag !== 0xa3) continue; // [1] issuerUniqueID, [2] subjectUniqueID
    const wrapped = children(n, 'extensions');
    if (wrapped.length !== 1) throw bad('extensions: [3] must hold one SEQUENCE');
    for (const e of children(expectTag(wrapped[0], TAG.SEQUENCE, 'extensions'), 'extensions'))
      extensions.push(extension(e));
  }
  return { spki, notBefore: derTime(validity[0], 'notBefore'), notAfter: derTime(validity[1], 'notAfter'), extensions };
}

function extension(e: DerNode): CertificateParts['extensions'][number] {
  const parts = children(expectTag(e, TAG.SEQUENCE, 'extension'), 'extension');
  // Fewer than two fields: the one field is read below as both the OID and the OCTET STRING (ERR_DER), or
  // none is there (ERR_DER, missing).
  if (parts.length > 3) throw bad(`extension: expected 2 or 3 fields, got ${parts.length}`);
  const oid = oidText(parts[0], 'extension id');
  const critical = parts.length === 3 ? expectTag(parts[1], TAG.BOOLEAN, 'extension critical').value[0] !== 0 : false;
  const value = expectTag(parts[parts.length - 1], TAG.OCTET_STRING, 'extension value').value;
  return { oid, critical, value };
}
