import { X509Certificate } from 'node:crypto';
import { ServerError } from './errors.ts';

/**
 * A chain root must be an X.509 CA certificate with a P-256 key (Intel's SGX root is; so is the
 * emulated manufacturer's): anything else could never anchor a verifiable chain. ERR_BAD_ROOT.
 */
export function checkRootCertificate(der: Uint8Array): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch (e) {
    throw new ServerError('ERR_BAD_ROOT', `root: not a DER X.509 certificate (${(e as Error).message})`);
  }
  if (!cert.ca) throw new ServerError('ERR_BAD_ROOT', 'root: not a CA certificate (basicConstraints cA is not set)');
  const k = cert.publicKey;
  if (k.asymmetricKeyType !== 'ec' || k.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new ServerError(
      'ERR_BAD_ROOT',
      `root: the key is ${k.asymmetricKeyType}${k.asymmetricKeyDetails?.namedCurve ? ` ${k.asymmetricKeyDetails.namedCurve}` : ''}, not P-256`,
    );
  }
}
