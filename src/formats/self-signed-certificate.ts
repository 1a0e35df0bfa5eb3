import { sign, type KeyObject } from 'node:crypto';
import { randomBytes } from '../crypto/random.ts';
import { signedX509, simpleName, tbsCertificate } from './x509-writer.ts';

export interface SelfSignedSpec {
  /** Subject and issuer: CN=commonName, O=organization. */
  commonName: string;
  organization: string;
  notBefore: Date;
  notAfter: Date;
  /** SubjectPublicKeyInfo (DER) of `privateKey`'s public half. */
  spki: Uint8Array;
  privateKey: KeyObject;
  /** Each from extension() in x509-writer.ts. */
  extensions: Uint8Array[];
}

/**
 * A self-signed ECDSA P-256 / SHA-256 certificate (RA-TLS, mock roots, the agent listener) with a
 * fresh positive 16-byte serial, written with Catena's one DER writer.
 */
export function selfSignedCertificate(spec: SelfSignedSpec): Uint8Array {
  const serial = randomBytes(16);
  serial[0] = (serial[0] & 0x7f) | 0x01; // positive, no padding byte, never a leading zero to strip
  const name = simpleName(spec.commonName, spec.organization);
  const tbs = tbsCertificate({
    serial,
    issuer: name,
    subject: name,
    notBefore: spec.notBefore,
    notAfter: spec.notAfter,
    spki: spec.spki,
    extensions: spec.extensions,
  });
  return signedX509(tbs, new Uint8Array(sign('sha256', tbs, spec.privateKey)));
}
