import { verify } from 'node:crypto';
import { equal } from '../../bytes/util.ts';
import { FormatError } from '../../errors.ts';
import {
  children,
  derTime,
  expectTag,
  integerHex,
  oidText,
  parseDer,
  smallUint,
  TAG,
} from '../../formats/der-reader.ts';
import type { VerificationCache } from './cache.ts';
import type { Cert } from './certs.ts';

/**
 * X.509 CRLs (RFC 5280 §5.1): CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue }
 *   tbsCertList ::= SEQUENCE { version INTEGER OPTIONAL (v2 = 1), signature AlgorithmIdentifier, issuer Name,
 *                              thisUpdate Time, nextUpdate Time OPTIONAL,
 *                              revokedCertificates SEQUENCE OF SEQUENCE { userCertificate INTEGER, revocationDate Time, crlEntryExtensions OPTIONAL } OPTIONAL,
 *                              crlExtensions [0] OPTIONAL }
 * Intel's CRLs are ECDSA-with-SHA256 (1.2.840.10045.4.3.2). Parsed strictly with our DER reader; a CRL
 * without nextUpdate is refused (it could never be judged stale).
 */
export interface Crl {
  id: string;
  tbs: Uint8Array;
  signature: Uint8Array;
  issuer: Uint8Array;
  thisUpdate: Date;
  nextUpdate: Date;
  /** Revoked serial numbers, lowercase hex without leading zeros. */
  revoked: Set<string>;
}

const ECDSA_SHA256 = '1.2.840.10045.4.3.2';

function bad(message: string): FormatError {
  return new FormatError(message, 'ERR_CRL_FORMAT');
}

export function parseCrl(der: Uint8Array, cache: VerificationCache): Crl {
  // Stryker disable next-line StringLiteral: the kind only has to differ from the other kinds (none is '')
  return cache.memoBytes('crl', der, () => {
    // Stryker disable next-line StringLiteral: ids come from one counter per cache, unique with any prefix
    const id = cache.nextId('crl#');
    const top = children(expectTag(parseDer(der, 'CRL'), TAG.SEQUENCE, 'CRL'), 'CRL');
    if (top.length !== 3) throw bad(`CRL: ${top.length} top-level elements, expected 3`);
    const [tbsNode, algNode, sigNode] = top as [(typeof top)[0], (typeof top)[0], (typeof top)[0]];
    const outerAlg = oidText(
      children(expectTag(algNode, TAG.SEQUENCE, 'signatureAlgorithm'), 'signatureAlgorithm')[0],
      'signatureAlgorithm',
    );
    if (outerAlg !== ECDSA_SHA256) throw bad(`CRL: signature algorithm ${outerAlg} is not ecdsa-with-SHA256`);
    expectTag(sigNode, TAG.BIT_STRING, 'signatureValue');
    if (sigNode.value[0] !== 0) throw bad('CRL: signature BIT STRING has unused bits');
    const tbs = children(expectTag(tbsNode, TAG.SEQUENCE, 'tbsCertList'), 'tbsCertList');
    let i = 0;
    if (tbs[i]?.tag === TAG.INTEGER) {
      if (smallUint(tbs[i], TAG.INTEGER, 'version') !== 1) throw bad('CRL: version is not v2');
      i++;
    }
    const innerAlg = oidText(children(expectTag(tbs[i++], TAG.SEQUENCE, 'signature'), 'signature')[0], 'signature');
    if (innerAlg !== outerAlg) throw bad('CRL: inner and outer signature algorithms differ');
    const issuer = expectTag(tbs[i++], TAG.SEQUENCE, 'issuer').raw;
    const thisUpdate = derTime(tbs[i++], 'thisUpdate');
    const nu = tbs[i];
    if (!nu || (nu.tag !== TAG.UTCTime && nu.tag !== TAG.GeneralizedTime)) throw bad('CRL: no nextUpdate');
    const nextUpdate = derTime(nu, 'nextUpdate');
    i++;
    const revoked = new Set<string>();
    if (tbs[i]?.tag === TAG.SEQUENCE) {
      for (const entry of children(tbs[i], 'revokedCertificates')) {
        const parts = children(expectTag(entry, TAG.SEQUENCE, 'revoked entry'), 'revoked entry');
        revoked.add(integerHex(parts[0], 'userCertificate'));
        derTime(parts[1], 'revocationDate');
      }
      i++;
    }
    if (tbs[i]?.tag === 0xa0) i++;
    if (i !== tbs.length) throw bad('CRL: unexpected elements in tbsCertList');
    return { id, tbs: tbsNode.raw, signature: sigNode.value.subarray(1), issuer, thisUpdate, nextUpdate, revoked };
  });
}

/** Checks issuer name, signature by `issuer`'s key, and thisUpdate ≤ at ≤ nextUpdate. Returns a reason or undefined. */
// [mutation scope `checks`] begin
export function checkCrl(crl: Crl, issuer: Cert, at: Date, cache: VerificationCache): string | undefined {
  if (!equal(crl.issuer, issuer.subject)) return `issued by someone other than "${issuer.subjectText}"`;
  const ok = cache.memo('crlsig', `${crl.id}|${issuer.id}`, () => {
    try {
      return verify('sha256', crl.tbs, issuer.publicKey, crl.signature);
    } catch /* Stryker disable next-line BlockStatement: an empty catch returns undefined, which fails `if (!ok)` below as `false` does */ {
      return false;
    }
  });
  if (!ok) return `signature does not verify with the key of "${issuer.subjectText}"`;
  if (at < crl.thisUpdate) return `not yet valid at ${at.toISOString()} (thisUpdate ${crl.thisUpdate.toISOString()})`;
  if (at > crl.nextUpdate) return `stale at ${at.toISOString()} (nextUpdate ${crl.nextUpdate.toISOString()})`;
  return undefined;
}
// [mutation scope `checks`] end
