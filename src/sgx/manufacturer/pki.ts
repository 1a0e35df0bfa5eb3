import { X509Certificate, type KeyObject } from 'node:crypto';
import { equal, hex } from '../../bytes/util.ts';
import { sha256 } from '../../crypto/sha256.ts';
import { YEAR } from './defaults.ts';
import { argumentError, ManufacturerError } from './errors.ts';
import { issueCertificate, keyIdentifier, newSerial, wholeSeconds } from './issue-certificate.ts';
import { generateCaKey, isP256Public, type CaKey } from './keys.ts';
import { CERT_NAMES, CRL_PATHS } from './names.ts';
import { encodeSgxExtension, SGX_TYPE } from './sgx-extension.ts';
import { checkPlatformTcb, tcbAtLeast } from './tcb-levels.ts';
import type { PckCa, PckRecord, PlatformDescription } from './types.ts';

/**
 * The manufacturer's PKI, as Intel runs it for SGX: Root CA → PCK Platform CA / PCK Processor CA →
 * PCK certificates; Root CA → TCB Signing. Holds the CA keys and certificates and every PCK issued.
 */
export const KEY_NAMES = ['root', 'platform-ca', 'processor-ca', 'tcb-signing'] as const;
export type KeyName = (typeof KEY_NAMES)[number];

/** Intel's root stays within UTCTime (RFC 5280: dates through 2049 are UTCTime). */
const UTCTIME_LIMIT = Date.parse('2049-12-31T23:59:59Z');

/** A serial number as lower-case hex of its minimal unsigned bytes ("0a1b…", never "00"-padded). */
export function normalizeSerial(serial: string): string {
  let h = serial.toLowerCase().replace(/[\s:]/g, '');
  if (!/^[0-9a-f]+$/.test(h)) throw argumentError(`not a hex serial number: ${serial}`);
  if (h.length % 2) h = '0' + h;
  while (h.length > 2 && h.startsWith('00')) h = h.slice(2);
  return h;
}

export const caKeyName = (ca: PckCa): KeyName => (ca === 'processor' ? 'processor-ca' : 'platform-ca');

function checkPlatform(p: PlatformDescription): void {
  const bytes = (v: unknown, n: number, what: string) => {
    if (!(v instanceof Uint8Array) || v.length !== n) throw argumentError(`platform.${what} must be ${n} bytes`);
  };
  bytes(p.ppid, 16, 'ppid');
  bytes(p.fmspc, 6, 'fmspc');
  bytes(p.cpuSvn, 16, 'cpuSvn');
  if (p.platformInstanceId !== undefined) bytes(p.platformInstanceId, 16, 'platformInstanceId');
  if (!Number.isInteger(p.pceId) || p.pceId < 0 || p.pceId > 0xffff)
    throw argumentError('platform.pceId must be a u16');
  checkPlatformTcb({ components: p.tcbComponents, pceSvn: p.pceSvn }, 'platform');
}

export class Pki {
  readonly keys: Record<KeyName, CaKey>;
  readonly certs: Record<KeyName, Uint8Array>;
  readonly pcks: PckRecord[] = [];
  /** The CA certificates' notAfter and key identifiers, computed once (a PCK certificate is issued per platform boot). */
  private readonly notAfters = new Map<KeyName, Date>();
  private readonly keyIds = new Map<KeyName, Uint8Array>();

  constructor(keys: Record<KeyName, CaKey>, certs: Record<KeyName, Uint8Array>) {
    this.keys = keys;
    this.certs = certs;
  }

  /** Fresh P-256 keys, the Root CA, both PCK CAs and the TCB Signing certificate, dated `at`. */
  static async create(at: Date, pcsUrl: string): Promise<Pki> {
    const keys = {
      root: generateCaKey(),
      'platform-ca': generateCaKey(),
      'processor-ca': generateCaKey(),
      'tcb-signing': generateCaKey(),
    };
    const now = wholeSeconds(at);
    const rootUrl = pcsUrl + CRL_PATHS.root;
    const rootNotAfter = new Date(Math.min(now.getTime() + 30 * YEAR, UTCTIME_LIMIT));
    const capped = (years: number) => new Date(Math.min(now.getTime() + years * YEAR, rootNotAfter.getTime()));
    const root = await issueCertificate({
      subject: CERT_NAMES.root,
      issuer: CERT_NAMES.root,
      issuerKey: keys.root.privateKey,
      publicKey: keys.root.publicKey,
      notBefore: now,
      notAfter: rootNotAfter,
      ca: { pathLength: 1 },
      crlUrl: rootUrl,
    });
    const intermediate = (name: string, key: CaKey) =>
      issueCertificate({
        subject: name,
        issuer: CERT_NAMES.root,
        issuerKey: keys.root.privateKey,
        publicKey: key.publicKey,
        notBefore: now,
        notAfter: capped(15),
        ca: { pathLength: 0 },
        crlUrl: rootUrl,
      });
    const certs = {
      root,
      'platform-ca': await intermediate(CERT_NAMES.platform, keys['platform-ca']),
      'processor-ca': await intermediate(CERT_NAMES.processor, keys['processor-ca']),
      'tcb-signing': await issueCertificate({
        subject: CERT_NAMES.tcbSigning,
        issuer: CERT_NAMES.root,
        issuerKey: keys.root.privateKey,
        publicKey: keys['tcb-signing'].publicKey,
        notBefore: now,
        notAfter: capped(7),
        crlUrl: rootUrl,
      }),
    };
    return new Pki(keys, certs);
  }

  caCertificate(ca: PckCa): Uint8Array {
    return this.certs[caKeyName(ca)];
  }

  /** The serial (normalised hex) of a CA or the TCB Signing certificate. */
  serialOf(name: KeyName): string {
    return normalizeSerial(new X509Certificate(this.certs[name]).serialNumber);
  }

  private keyIdOf(name: KeyName): Uint8Array {
    let id = this.keyIds.get(name);
    if (!id) this.keyIds.set(name, (id = keyIdentifier(this.keys[name].publicKey)));
    return id;
  }

  private notAfterOf(name: KeyName): Date {
    let d = this.notAfters.get(name);
    if (!d) this.notAfters.set(name, (d = new Date(new X509Certificate(this.certs[name]).validTo)));
    return new Date(d);
  }

  /**
   * Issues a PCK certificate for a platform whose PCE holds the private key (the caller brings only
   * the public key) and records it. Processor CA certificates are SGX type Standard; Platform CA
   * certificates are Scalable and carry PlatformInstanceID and Configuration, as Intel's do.
   */
  async issuePck(
    platform: PlatformDescription,
    pckPublicKey: KeyObject,
    ca: PckCa,
    at: Date,
    pcsUrl: string,
  ): Promise<PckRecord> {
    checkPlatform(platform);
    if (ca !== 'processor' && ca !== 'platform')
      throw argumentError(`ca must be processor or platform, got ${String(ca)}`);
    if (!isP256Public(pckPublicKey)) throw argumentError('the PCK public key must be an ECDSA P-256 public key');
    const now = wholeSeconds(at);
    const caName = caKeyName(ca);
    const sgxExtension = encodeSgxExtension({
      ppid: platform.ppid,
      tcbComponents: platform.tcbComponents,
      pceSvn: platform.pceSvn,
      cpuSvn: platform.cpuSvn,
      pceId: platform.pceId,
      fmspc: platform.fmspc,
      sgxType: ca === 'processor' ? SGX_TYPE.STANDARD : SGX_TYPE.SCALABLE,
      ...(ca === 'platform'
        ? {
            platformInstanceId:
              platform.platformInstanceId ??
              sha256(new TextEncoder().encode(`catena platform instance ${hex(platform.ppid)}`)).slice(0, 16),
            configuration: platform.configuration ?? { dynamicPlatform: false, cachedKeys: false, smtEnabled: false },
          }
        : {}),
    });
    const serial = newSerial();
    const der = await issueCertificate({
      serial,
      subject: CERT_NAMES.pck,
      issuer: ca === 'processor' ? CERT_NAMES.processor : CERT_NAMES.platform,
      issuerKey: this.keys[caName].privateKey,
      issuerKeyId: this.keyIdOf(caName),
      publicKey: pckPublicKey,
      notBefore: now,
      notAfter: new Date(Math.min(now.getTime() + 7 * YEAR, this.notAfterOf(caName).getTime())),
      crlUrl: pcsUrl + CRL_PATHS[ca],
      sgxExtension,
    });
    const record: PckRecord = {
      serial: normalizeSerial(hex(serial)),
      ca,
      ppid: Uint8Array.from(platform.ppid),
      fmspc: Uint8Array.from(platform.fmspc),
      pceId: platform.pceId,
      pceSvn: platform.pceSvn,
      cpuSvn: Uint8Array.from(platform.cpuSvn),
      tcbComponents: [...platform.tcbComponents],
      issued: now,
      der,
    };
    this.pcks.push(record);
    return record;
  }

  /** The PCK record with this serial (normalised hex); ERR_MANUFACTURER_UNKNOWN if none was issued here. */
  pckBySerial(serial: string): PckRecord {
    const rec = this.pcks.find((p) => p.serial === serial);
    if (!rec)
      throw new ManufacturerError(
        'ERR_MANUFACTURER_UNKNOWN',
        `no PCK certificate with serial ${serial} was issued here`,
      );
    return rec;
  }

  /**
   * The PCK certificate Intel's PCS would return for a platform: same PPID (and PCE-ID when given),
   * and the highest issued TCB the given raw TCB reaches (CPUSVN byte by byte and PCESVN); the most
   * recently issued one when no TCB is given.
   */
  findPck(q: { ppid: Uint8Array; pceId?: number; cpuSvn?: Uint8Array; pceSvn?: number }): PckRecord | undefined {
    const candidates = this.pcks.filter(
      (p) =>
        equal(p.ppid, q.ppid) &&
        (q.pceId === undefined || p.pceId === q.pceId) &&
        (q.cpuSvn === undefined || p.cpuSvn.every((b, i) => q.cpuSvn![i] >= b)) &&
        (q.pceSvn === undefined || q.pceSvn >= p.pceSvn),
    );
    let best: PckRecord | undefined;
    for (const p of candidates) {
      const t = { components: [...p.cpuSvn], pceSvn: p.pceSvn };
      if (!best || tcbAtLeast(t, { components: [...best.cpuSvn], pceSvn: best.pceSvn })) best = p;
    }
    return best;
  }
}
