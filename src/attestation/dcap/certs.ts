import { X509Certificate, type KeyObject } from 'node:crypto';
import { equal } from '../../bytes/util.ts';
import {
  children,
  derTime,
  expectTag,
  integerHex,
  oidText,
  parseDer,
  TAG,
  type DerNode,
} from '../../formats/der-reader.ts';
import { FormatError } from '../../errors.ts';
import type { VerificationCache } from './cache.ts';

/**
 * X.509 handling for the PCK chain and the TCB signing chain: certificates parsed once (node:crypto
 * X509Certificate for signatures and keys, our strict DER reader for the exact issuer/subject names and
 * validity), chains built by issuer/subject name and signature — not by position — up to a pinned key.
 */
export interface Cert {
  der: Uint8Array;
  /** Unique within the cache that loaded it (certificates are memoised by content). */
  id: string;
  x509: X509Certificate;
  subject: Uint8Array;
  issuer: Uint8Array;
  subjectText: string;
  issuerText: string;
  /** The subject's CN (the subject text without one), for messages. */
  cn: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  /** X‖Y for P-256 keys, hex; '' for other key types. */
  publicKeyHex: string;
  isCa: boolean;
  selfIssued: boolean;
}

/** A pinned trust anchor: a P-256 public key (X‖Y hex), optionally with its certificate. */
export interface Anchor {
  publicKeyHex: string;
  isIntel: boolean;
  cert?: Cert;
}

const EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const PRIME256V1 = '1.2.840.10045.3.1.7';

/** X‖Y hex of an uncompressed P-256 SubjectPublicKeyInfo, '' for anything else. */
function spkiP256Hex(spki: DerNode[]): string {
  const alg = children(expectTag(spki[0], TAG.SEQUENCE, 'algorithm'), 'algorithm');
  if (
    oidText(alg[0], 'algorithm') !== EC_PUBLIC_KEY ||
    alg[1]?.tag !== TAG.OID ||
    oidText(alg[1], 'curve') !== PRIME256V1
  )
    return '';
  const bits = expectTag(spki[1], TAG.BIT_STRING, 'subjectPublicKey').value;
  if (bits.length !== 66 || bits[0] !== 0 || bits[1] !== 4) return '';
  return Buffer.from(bits.subarray(2)).toString('hex');
}

/** Parses one DER certificate (cached by content). Throws on malformed input. */
export function loadCert(der: Uint8Array, cache: VerificationCache): Cert {
  // Stryker disable next-line StringLiteral: the kind only has to differ from the other kinds (none is '')
  return cache.memoBytes('cert', der, () => {
    // Stryker disable next-line StringLiteral: ids come from one counter per cache, unique with any prefix
    const id = cache.nextId('cert#');
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(der);
    } catch (e) {
      // OpenSSL's error is not a Catena error: a certificate it cannot read is malformed input (found by fuzzing).
      throw new FormatError(`certificate: unreadable (${(e as Error).message})`, 'ERR_DER');
    }
    const tbs = children(
      expectTag(children(parseDer(der, 'certificate'), 'certificate')[0], TAG.SEQUENCE, 'tbsCertificate'),
      'tbsCertificate',
    );
    // Stryker disable next-line OptionalChaining: OpenSSL (above) refused a certificate with an empty tbsCertificate
    const o = tbs[0]?.tag === 0xa0 ? 1 : 0; // optional [0] version
    const serial = integerHex(tbs[o], 'serialNumber');
    const issuer = expectTag(tbs[o + 2], TAG.SEQUENCE, 'issuer').raw;
    const validity = children(expectTag(tbs[o + 3], TAG.SEQUENCE, 'validity'), 'validity');
    const subject = expectTag(tbs[o + 4], TAG.SEQUENCE, 'subject').raw;
    const spki = children(expectTag(tbs[o + 5], TAG.SEQUENCE, 'subjectPublicKeyInfo'), 'subjectPublicKeyInfo');
    let keyObject: KeyObject | undefined;
    const subjectText = x509.subject.replace(/\n/g, ', ');
    return {
      der,
      id,
      x509,
      subject,
      issuer,
      subjectText,
      issuerText: x509.issuer.replace(/\n/g, ', '),
      cn: /CN=([^,]*)/.exec(subjectText)?.[1] ?? subjectText,
      serial,
      notBefore: derTime(validity[0], 'notBefore'),
      notAfter: derTime(validity[1], 'notAfter'),
      // Created on first use: importing a key costs more than the rest of parsing, and a leaf whose
      // chain fails never needs its own.
      get publicKey() {
        return (keyObject ??= x509.publicKey);
      },
      publicKeyHex: spkiP256Hex(spki),
      isCa: x509.ca,
      selfIssued: equal(subject, issuer),
    };
  });
}

/** Does `issuer`'s key verify `child`'s signature? (cached by the pair) */
export function signedBy(child: Cert, issuer: Cert, cache: VerificationCache): boolean {
  return cache.memo('certsig', `${child.id}|${issuer.id}`, () => {
    try {
      return child.x509.verify(issuer.publicKey);
    } catch /* Stryker disable next-line BlockStatement: an empty catch returns undefined, which every caller reads as false */ {
      return false;
    }
  });
}

export type ChainResult = { ok: true; chain: Cert[]; anchor: Anchor } | { ok: false; reason: string; chain: Cert[] };

function cn(c: Cert): string {
  return c.cn;
}

/**
 * Builds the chain from `leaf` through `pool` by issuer name + signature, up to a self-signed root whose
 * key is one of `anchors`; every certificate valid at `at`, every issuer a CA. The pool may hold
 * unrelated certificates and be in any order.
 */
export function buildChain(
  leaf: Cert,
  pool: Cert[],
  anchors: Anchor[],
  at: Date,
  cache: VerificationCache,
): ChainResult {
  const chain: Cert[] = [leaf];
  let cur = leaf;
  // Ends: each pass returns or appends a certificate of `pool` not yet on the chain (the loop check below).
  for (;;) {
    if (cur.selfIssued) {
      const anchor = anchors.find((a) => a.publicKeyHex !== '' && a.publicKeyHex === cur.publicKeyHex);
      if (!anchor)
        return { ok: false, reason: `the chain ends at "${cn(cur)}", whose key is not a trusted root`, chain };
      if (!signedBy(cur, cur, cache))
        return { ok: false, reason: `root "${cn(cur)}": self-signature does not verify`, chain };
      for (const [i, c] of chain.entries()) {
        if (at < c.notBefore || at > c.notAfter) {
          return {
            ok: false,
            reason: `"${cn(c)}" is not valid at ${at.toISOString()} (valid ${c.notBefore.toISOString()} to ${c.notAfter.toISOString()})`,
            chain,
          };
        }
        if (i > 0 && !c.isCa) return { ok: false, reason: `"${cn(c)}" issues certificates but is not a CA`, chain };
      }
      return { ok: true, chain, anchor };
    }
    // Never cur itself: its subject is not its issuer (not self-issued, above).
    const issuer = pool.find((c) => equal(c.subject, cur.issuer) && signedBy(cur, c, cache));
    if (!issuer) return { ok: false, reason: `no certificate named "${cur.issuerText}" signs "${cn(cur)}"`, chain };
    if (chain.includes(issuer)) return { ok: false, reason: 'the certificates form a loop', chain };
    chain.push(issuer);
    cur = issuer;
  }
}

/** The certificate of `certs` that issues none of the others (the leaf), when there is exactly one. */
export function findLeaf(certs: Cert[]): Cert | undefined {
  const leaves = certs.filter(
    // o is never c: c's issuer is not its subject (not self-issued).
    (c) => !c.selfIssued && !certs.some((o) => equal(o.issuer, c.subject) && !o.selfIssued),
  );
  const unique = [...new Map(leaves.map((c) => [c.id, c])).values()];
  return unique.length === 1 ? unique[0] : undefined;
}

export function commonName(c: Cert): string {
  return cn(c);
}
