import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { equal, fromHex, hex } from '../../bytes/util.ts';
import { generateVendorKey, rsaModulusLE } from '../../crypto/rsa3072.ts';
import { sha256 } from '../../crypto/sha256.ts';
import { attributesBytes, ATTR, type Attributes } from '../../formats/attributes.ts';
import { argumentError, ManufacturerError } from './errors.ts';
import { issueCertificate, newSerial, wholeSeconds } from './issue-certificate.ts';
import { assertCrlReason, CRL_REASON, issueCrl, type RevokedEntry } from './issue-crl.ts';
import { certificatePem, generateCaKey, isP256Public, keyFromPem, pemCertificates, privateKeyPem, type CaKey } from './keys.ts';
import { CERT_NAMES, CRL_PATHS } from './names.ts';
import { encodeSgxExtension, SGX_TYPE } from './sgx-extension.ts';
import { signQeIdentity, signTcbInfo, type QeLevelSpec, type SignedCollateral } from './sign-collateral.ts';
import {
  checkLevels,
  checkPlatformTcb,
  defaultTcbLevels,
  isoDay,
  matchTcbLevel,
  recoverTcb,
  tcbAtLeast,
  type PlatformTcb,
  type TcbLevelSpec,
  type TcbRecoveryOptions,
} from './tcb-levels.ts';

/**
 * Catena's emulated SGX manufacturer: the PKI Intel runs for SGX (Root CA → PCK Platform CA /
 * PCK Processor CA → PCK certificates; Root CA → TCB Signing), the signed TCB info and QE identity
 * per FMSPC, the Root CA CRL and the two PCK CRLs, TCB recoveries and revocations.
 *
 * Nothing here is trusted by default: a verifier accepts evidence under this root only when its
 * caller passes the root explicitly (design brief §1).
 *
 * Persisted layout (save/load):
 *   manufacturer.json           state: options, FMSPCs and their TCB levels, QE identity, issued PCKs, revocations
 *   keys/<name>.key.pem         PKCS#8 PEM, mode 0600 (root, platform-ca, processor-ca, tcb-signing, enclave-signing)
 *   certs/<name>.pem            the CA and TCB Signing certificates
 */
export type PckCa = 'processor' | 'platform';
export type CrlList = 'root' | PckCa;

/** What a PCK certificate says about a platform (the fields of Intel's SGX extension). */
export interface PlatformDescription {
  ppid: Uint8Array;
  fmspc: Uint8Array;
  pceId: number;
  pceSvn: number;
  cpuSvn: Uint8Array;
  tcbComponents: number[];
  /** Platform CA certificates only; default: derived from the PPID. */
  platformInstanceId?: Uint8Array;
  /** Platform CA certificates only; default all false. */
  configuration?: { dynamicPlatform: boolean; cachedKeys: boolean; smtEnabled: boolean };
}

/** The emulated QE as the QE identity describes it. */
export interface QeDescription {
  mrSigner: Uint8Array;
  isvProdId: number;
  isvSvn: number;
  /** MISCSELECT as a number, or its 4 bytes as in REPORT. */
  miscSelect: number | Uint8Array;
  /** ATTRIBUTES as {flags, xfrm}, or its 16 bytes as in REPORT. */
  attributes: Attributes | Uint8Array;
  /** Default FFFFFFFF. */
  miscSelectMask?: number | Uint8Array;
  /** Default Intel's: FBFFFFFFFFFFFFFF0000000000000000 (every flag but MODE64BIT, no XFRM bit). */
  attributesMask?: Attributes | Uint8Array;
  /** Default: isvSvn UpToDate, everything below OutOfDate (CATENA-SA-00003). */
  levels?: QeLevelSpec[];
}

export interface ManufacturerOptions {
  /** Base URL of the PCS that serves this manufacturer's CRLs (named in the certificates' CRL distribution points). */
  pcsUrl?: string;
  /** Time source, for tests; default the system clock one hour back (see ISSUE_BACKDATE_MS). */
  clock?: () => Date;
  /** nextUpdate − issueDate of TCB info, QE identity and CRLs. Default 30 days, as Intel. */
  collateralValidityDays?: number;
  /** The first tcbEvaluationDataNumber. Default 1. */
  tcbEvaluationDataNumber?: number;
  qe?: QeDescription;
}

/** One issued PCK certificate. */
export interface PckRecord {
  /** Lower-case hex, as in the certificate (no sign padding). */
  serial: string;
  ca: PckCa;
  ppid: Uint8Array;
  fmspc: Uint8Array;
  pceId: number;
  pceSvn: number;
  cpuSvn: Uint8Array;
  tcbComponents: number[];
  issued: Date;
  der: Uint8Array;
}

/** The shape the quoting service (src/sgx/qe) asks of the manufacturer. */
export interface PckChainIssuer {
  issuePck(
    platform: { ppid: Uint8Array; fmspc: Uint8Array; pceId: number; pceSvn: number; cpuSvn: Uint8Array; tcbComponents: number[] },
    pckPublicKey: KeyObject,
  ): Promise<{ pck: Uint8Array; chain: Uint8Array[] }>;
}

/** Everything a verifier needs besides the quote, for one FMSPC and PCK CA. */
export interface CollateralSet {
  fmspc: Uint8Array;
  ca: PckCa;
  tcbInfo: SignedCollateral;
  qeIdentity: SignedCollateral;
  /** [TCB Signing, root] (DER). */
  tcbSigningChain: Uint8Array[];
  pckCrl: Uint8Array;
  /** [PCK CA, root] (DER). */
  pckCrlIssuerChain: Uint8Array[];
  rootCaCrl: Uint8Array;
  root: Uint8Array;
}

interface FmspcState {
  pceId: number;
  levels: TcbLevelSpec[];
}

interface QeState {
  mrSigner: Uint8Array;
  isvProdId: number;
  miscSelect: Uint8Array;
  miscSelectMask: Uint8Array;
  attributes: Uint8Array;
  attributesMask: Uint8Array;
  levels: QeLevelSpec[];
}

const STATE_FILE = 'manufacturer.json';
const STATE_VERSION = 1;
const DAY = 86_400_000;
const YEAR = 365 * DAY;
/** Intel's root stays within UTCTime (RFC 5280: dates through 2049 are UTCTime). */
const UTCTIME_LIMIT = Date.parse('2049-12-31T23:59:59Z');
export const DEFAULT_PCS_URL = 'http://127.0.0.1:8081';
/** Intel QE3's ISVPRODID and the emulated QE's ISVSVN (src/sgx/qe); the defaults of the QE identity. */
export const DEFAULT_QE_ISVPRODID = 1;
export const DEFAULT_QE_ISVSVN = 8;
export const DEFAULT_ATTRIBUTES_MASK = fromHex('fbffffffffffffff0000000000000000');

const KEY_NAMES = ['root', 'platform-ca', 'processor-ca', 'tcb-signing'] as const;
type KeyName = (typeof KEY_NAMES)[number];

function fmspcKey(fmspc: Uint8Array | string): string {
  const h = typeof fmspc === 'string' ? fmspc.toLowerCase() : hex(fmspc);
  if (!/^[0-9a-f]{12}$/.test(h)) throw argumentError(`FMSPC must be 6 bytes (12 hex digits), got ${typeof fmspc === 'string' ? fmspc : `${fmspc.length} bytes`}`);
  return h;
}

/** A serial number as lower-case hex of its minimal unsigned bytes ("0a1b…", never "00"-padded). */
const notAfters = new WeakMap<Uint8Array, Date>();
/** A CA certificate's notAfter, parsed once per certificate (a PCK certificate is issued per platform boot). */
function notAfterOf(der: Uint8Array): Date {
  let d = notAfters.get(der);
  if (!d) notAfters.set(der, (d = new Date(new X509Certificate(der).validTo)));
  return new Date(d);
}

export function normalizeSerial(serial: string): string {
  let h = serial.toLowerCase().replace(/[\s:]/g, '');
  if (!/^[0-9a-f]+$/.test(h)) throw argumentError(`not a hex serial number: ${serial}`);
  if (h.length % 2) h = '0' + h;
  while (h.length > 2 && h.startsWith('00')) h = h.slice(2);
  return h;
}

function u32Bytes(v: number | Uint8Array, what: string): Uint8Array {
  if (v instanceof Uint8Array) {
    if (v.length !== 4) throw argumentError(`${what} must be 4 bytes`);
    return Uint8Array.from(v);
  }
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw argumentError(`${what} must be a u32`);
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}

function attrBytes(v: Attributes | Uint8Array, what: string): Uint8Array {
  if (v instanceof Uint8Array) {
    if (v.length !== 16) throw argumentError(`${what} must be 16 bytes`);
    return Uint8Array.from(v);
  }
  return attributesBytes(v);
}

function checkPlatform(p: PlatformDescription): void {
  const bytes = (v: unknown, n: number, what: string) => {
    if (!(v instanceof Uint8Array) || v.length !== n) throw argumentError(`platform.${what} must be ${n} bytes`);
  };
  bytes(p.ppid, 16, 'ppid');
  bytes(p.fmspc, 6, 'fmspc');
  bytes(p.cpuSvn, 16, 'cpuSvn');
  if (p.platformInstanceId !== undefined) bytes(p.platformInstanceId, 16, 'platformInstanceId');
  if (!Number.isInteger(p.pceId) || p.pceId < 0 || p.pceId > 0xffff) throw argumentError('platform.pceId must be a u16');
  checkPlatformTcb({ components: p.tcbComponents, pceSvn: p.pceSvn }, 'platform');
}

interface Cached<T> {
  generation: number;
  issued: number;
  value: T;
}

/**
 * By default the manufacturer dates what it issues (certificates, TCB info, QE identity, CRLs) one
 * hour in the past, as a real PCS serves collateral issued earlier: a verifier whose clock is slightly
 * behind, or that took its "now" just before the emulator booted, still finds everything current.
 */
export const ISSUE_BACKDATE_MS = 3_600_000;
const backdatedClock = (): Date => new Date(Date.now() - ISSUE_BACKDATE_MS);

export class Manufacturer {
  private readonly keys: Record<KeyName, CaKey>;
  private readonly certs: Record<KeyName, Uint8Array>;
  private vendorKey: KeyObject | undefined;
  private readonly fmspcState = new Map<string, FmspcState>();
  private qe: QeState | undefined;
  private readonly pcks: PckRecord[] = [];
  private readonly revokedLists: Record<CrlList, RevokedEntry[]> = { root: [], processor: [], platform: [] };
  private readonly crlNumbers: Record<CrlList, number> = { root: 1, processor: 1, platform: 1 };
  private evaluationNumber: number;
  private generation = 0;
  private readonly cache = new Map<string, Cached<unknown>>();
  readonly pcsUrl: string;
  readonly collateralValidityDays: number;
  private readonly clock: () => Date;

  private constructor(init: {
    keys: Record<KeyName, CaKey>;
    certs: Record<KeyName, Uint8Array>;
    pcsUrl: string;
    clock: () => Date;
    validityDays: number;
    evaluationNumber: number;
  }) {
    this.keys = init.keys;
    this.certs = init.certs;
    this.pcsUrl = init.pcsUrl;
    this.clock = init.clock;
    this.collateralValidityDays = init.validityDays;
    this.evaluationNumber = init.evaluationNumber;
  }

  /** A new manufacturer: fresh P-256 keys, the Root CA, both PCK CAs and the TCB Signing certificate. */
  static async create(opts: ManufacturerOptions = {}): Promise<Manufacturer> {
    const clock = opts.clock ?? backdatedClock;
    const pcsUrl = (opts.pcsUrl ?? DEFAULT_PCS_URL).replace(/\/+$/, '');
    const validityDays = opts.collateralValidityDays ?? 30;
    if (!(validityDays > 0)) throw argumentError('collateralValidityDays must be positive');
    const evaluationNumber = opts.tcbEvaluationDataNumber ?? 1;
    if (!Number.isInteger(evaluationNumber) || evaluationNumber < 0) throw argumentError('tcbEvaluationDataNumber must be a non-negative integer');
    const keys = { root: generateCaKey(), 'platform-ca': generateCaKey(), 'processor-ca': generateCaKey(), 'tcb-signing': generateCaKey() };
    const now = wholeSeconds(clock());
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
    const m = new Manufacturer({ keys, certs, pcsUrl, clock, validityDays, evaluationNumber });
    if (opts.qe) m.setQeIdentity(opts.qe);
    return m;
  }

  /** Reopens a manufacturer saved with save(dir): same keys, certificates, TCB levels, PCKs and revocations. */
  static async load(dir: string, opts: { clock?: () => Date } = {}): Promise<Manufacturer> {
    const fail = (message: string, cause?: unknown) => new ManufacturerError('ERR_MANUFACTURER_DATA', `${dir}: ${message}`, { cause });
    let state: PersistedState;
    try {
      state = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as PersistedState;
    } catch (e) {
      throw fail(`cannot read ${STATE_FILE}`, e);
    }
    if (state.version !== STATE_VERSION) throw fail(`unsupported state version ${String(state.version)}`);
    const keys = {} as Record<KeyName, CaKey>;
    const certs = {} as Record<KeyName, Uint8Array>;
    for (const name of KEY_NAMES) {
      try {
        keys[name] = keyFromPem(await readFile(join(dir, 'keys', `${name}.key.pem`), 'utf8'));
        const der = pemCertificates(await readFile(join(dir, 'certs', `${name}.pem`), 'utf8'))[0];
        if (!der) throw new Error('no certificate');
        certs[name] = der;
      } catch (e) {
        throw fail(`cannot read the ${name} key or certificate`, e);
      }
      const cert = new X509Certificate(certs[name]);
      if (!cert.publicKey.equals(keys[name].publicKey)) throw fail(`the ${name} certificate does not match its key`);
    }
    const m = new Manufacturer({
      keys,
      certs,
      pcsUrl: state.pcsUrl,
      clock: opts.clock ?? backdatedClock,
      validityDays: state.collateralValidityDays,
      evaluationNumber: state.tcbEvaluationDataNumber,
    });
    try {
      m.vendorKey = createPrivateKey(await readFile(join(dir, 'keys', 'enclave-signing.key.pem'), 'utf8'));
    } catch {
      // No enclave-signing key yet: it is created on first use.
    }
    for (const [fmspc, f] of Object.entries(state.fmspcs)) {
      checkLevels(f.levels);
      m.fmspcState.set(fmspcKey(fmspc), { pceId: f.pceId, levels: f.levels });
    }
    if (state.qe) {
      m.qe = {
        mrSigner: fromHex(state.qe.mrSigner),
        isvProdId: state.qe.isvProdId,
        miscSelect: fromHex(state.qe.miscSelect),
        miscSelectMask: fromHex(state.qe.miscSelectMask),
        attributes: fromHex(state.qe.attributes),
        attributesMask: fromHex(state.qe.attributesMask),
        levels: state.qe.levels,
      };
    }
    for (const p of state.pcks) {
      const der = pemCertificates(p.pem)[0];
      if (!der) throw fail(`PCK ${p.serial} has no certificate`);
      m.pcks.push({
        serial: p.serial,
        ca: p.ca,
        ppid: fromHex(p.ppid),
        fmspc: fromHex(p.fmspc),
        pceId: p.pceId,
        pceSvn: p.pceSvn,
        cpuSvn: fromHex(p.cpuSvn),
        tcbComponents: p.tcbComponents,
        issued: new Date(p.issued),
        der,
      });
    }
    for (const list of ['root', 'processor', 'platform'] as const) {
      m.revokedLists[list] = (state.revoked[list] ?? []).map((e) => ({ serial: e.serial, reason: e.reason, date: new Date(e.date) }));
      m.crlNumbers[list] = state.crlNumbers[list] ?? 1;
    }
    return m;
  }

  /** Writes the manufacturer to `dir` (keys mode 0600); load(dir) brings it back. */
  async save(dir: string): Promise<void> {
    await mkdir(join(dir, 'keys'), { recursive: true, mode: 0o700 });
    await mkdir(join(dir, 'certs'), { recursive: true });
    for (const name of KEY_NAMES) {
      await writeFile(join(dir, 'keys', `${name}.key.pem`), privateKeyPem(this.keys[name].privateKey), { mode: 0o600 });
      await writeFile(join(dir, 'certs', `${name}.pem`), certificatePem(this.certs[name]));
    }
    if (this.vendorKey) {
      await writeFile(join(dir, 'keys', 'enclave-signing.key.pem'), this.vendorKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
    }
    const state: PersistedState = {
      version: STATE_VERSION,
      pcsUrl: this.pcsUrl,
      collateralValidityDays: this.collateralValidityDays,
      tcbEvaluationDataNumber: this.evaluationNumber,
      fmspcs: Object.fromEntries([...this.fmspcState].map(([k, v]) => [k, { pceId: v.pceId, levels: v.levels }])),
      qe: this.qe && {
        mrSigner: hex(this.qe.mrSigner),
        isvProdId: this.qe.isvProdId,
        miscSelect: hex(this.qe.miscSelect),
        miscSelectMask: hex(this.qe.miscSelectMask),
        attributes: hex(this.qe.attributes),
        attributesMask: hex(this.qe.attributesMask),
        levels: this.qe.levels,
      },
      pcks: this.pcks.map((p) => ({
        serial: p.serial,
        ca: p.ca,
        ppid: hex(p.ppid),
        fmspc: hex(p.fmspc),
        pceId: p.pceId,
        pceSvn: p.pceSvn,
        cpuSvn: hex(p.cpuSvn),
        tcbComponents: p.tcbComponents,
        issued: p.issued.toISOString(),
        pem: certificatePem(p.der),
      })),
      revoked: {
        root: this.revokedLists.root.map((e) => ({ ...e, date: e.date.toISOString() })),
        processor: this.revokedLists.processor.map((e) => ({ ...e, date: e.date.toISOString() })),
        platform: this.revokedLists.platform.map((e) => ({ ...e, date: e.date.toISOString() })),
      },
      crlNumbers: { ...this.crlNumbers },
    };
    const tmp = join(dir, `${STATE_FILE}.tmp`);
    await writeFile(tmp, JSON.stringify(state, null, 2) + '\n');
    await rename(tmp, join(dir, STATE_FILE));
  }

  // ---- certificates ----

  /** The self-signed Root CA certificate (DER): the anchor a verifier must be given explicitly. */
  get root(): Uint8Array {
    return this.certs.root;
  }
  get tcbSigningCertificate(): Uint8Array {
    return this.certs['tcb-signing'];
  }
  caCertificate(ca: PckCa): Uint8Array {
    return this.certs[ca === 'processor' ? 'processor-ca' : 'platform-ca'];
  }
  /** The chain above a PCK certificate: [PCK CA, root]. */
  pckIssuerChain(ca: PckCa): Uint8Array[] {
    return [this.caCertificate(ca), this.root];
  }
  /** The chain of TCB info and QE identity signatures: [TCB Signing, root]. */
  tcbSigningChain(): Uint8Array[] {
    return [this.tcbSigningCertificate, this.root];
  }
  /** Public keys of the CA and signing certificates (for tests and diagnostics). */
  publicKey(which: 'root' | PckCa | 'tcb-signing'): KeyObject {
    const name: KeyName = which === 'processor' ? 'processor-ca' : which === 'platform' ? 'platform-ca' : which;
    return this.keys[name].publicKey;
  }

  /**
   * Issues a PCK certificate for a platform whose PCE holds the private key (the caller brings only
   * the public key). Processor CA certificates are SGX type Standard; Platform CA certificates are
   * Scalable and carry PlatformInstanceID and Configuration, as Intel's do. The first PCK of an
   * FMSPC also defines that FMSPC's TCB levels (defaultTcbLevels around the platform's TCB) unless
   * setTcbLevels was called before.
   */
  async issuePck(platform: PlatformDescription, pckPublicKey: KeyObject, ca: PckCa = 'processor'): Promise<Uint8Array> {
    checkPlatform(platform);
    if (ca !== 'processor' && ca !== 'platform') throw argumentError(`ca must be processor or platform, got ${String(ca)}`);
    if (!isP256Public(pckPublicKey)) throw argumentError('the PCK public key must be an ECDSA P-256 public key');
    const now = wholeSeconds(this.clock());
    const caName: KeyName = ca === 'processor' ? 'processor-ca' : 'platform-ca';
    const caNotAfter = notAfterOf(this.certs[caName]);
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
            platformInstanceId: platform.platformInstanceId ?? sha256(new TextEncoder().encode(`catena platform instance ${hex(platform.ppid)}`)).slice(0, 16),
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
      publicKey: pckPublicKey,
      notBefore: now,
      notAfter: new Date(Math.min(now.getTime() + 7 * YEAR, caNotAfter.getTime())),
      crlUrl: this.pcsUrl + CRL_PATHS[ca],
      sgxExtension,
    });
    const key = fmspcKey(platform.fmspc);
    if (!this.fmspcState.has(key)) {
      this.fmspcState.set(key, { pceId: platform.pceId, levels: defaultTcbLevels({ components: platform.tcbComponents, pceSvn: platform.pceSvn }, now) });
      this.changed();
    }
    this.pcks.push({
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
    });
    return der;
  }

  /** The adapter the quoting service (src/sgx/qe QuotingService) takes as its `issuer`. */
  pckIssuer(ca: PckCa = 'processor'): PckChainIssuer {
    return {
      issuePck: async (platform, key) => ({ pck: await this.issuePck(platform, key, ca), chain: this.pckIssuerChain(ca) }),
    };
  }

  /** Every PCK certificate issued, oldest first. */
  listPcks(): readonly PckRecord[] {
    return this.pcks;
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
        (q.cpuSvn === undefined || p.cpuSvn.every((b, i) => q.cpuSvn![i]! >= b)) &&
        (q.pceSvn === undefined || q.pceSvn >= p.pceSvn),
    );
    let best: PckRecord | undefined;
    for (const p of candidates) {
      const t = { components: [...p.cpuSvn], pceSvn: p.pceSvn };
      if (!best || tcbAtLeast(t, { components: [...best.cpuSvn], pceSvn: best.pceSvn })) best = p;
    }
    return best;
  }

  // ---- TCB levels, TCB info, QE identity ----

  get tcbEvaluationDataNumber(): number {
    return this.evaluationNumber;
  }

  /** FMSPCs with TCB info, lower-case hex. */
  fmspcs(): string[] {
    return [...this.fmspcState.keys()];
  }

  /** Sets (replaces) an FMSPC's TCB levels, highest first (Intel's matching takes the first level reached). */
  setTcbLevels(fmspc: Uint8Array | string, levels: TcbLevelSpec[], pceId = 0): void {
    checkLevels(levels);
    this.fmspcState.set(fmspcKey(fmspc), { pceId, levels: levels.map((l) => ({ ...l, components: [...l.components], advisoryIds: [...l.advisoryIds] })) });
    this.changed();
  }

  /**
   * Gives an FMSPC the default TCB levels around `current` (defaultTcbLevels) unless it already has
   * TCB info; returns whether it was added. Lets a PCS serve an FMSPC before its first PCK is issued.
   */
  ensureFmspc(fmspc: Uint8Array | string, current: PlatformTcb, pceId = 0): boolean {
    const key = fmspcKey(fmspc);
    if (this.fmspcState.has(key)) return false;
    this.setTcbLevels(key, defaultTcbLevels(current, this.clock()), pceId);
    return true;
  }

  /** An FMSPC's current TCB levels (copies). ERR_MANUFACTURER_UNKNOWN for an FMSPC without TCB info. */
  tcbLevels(fmspc: Uint8Array | string): TcbLevelSpec[] {
    return this.fmspc(fmspc).levels.map((l) => ({ ...l, components: [...l.components], advisoryIds: [...l.advisoryIds] }));
  }

  /** The level a platform's TCB falls into under the current TCB info (undefined: below every level). */
  tcbLevelOf(fmspc: Uint8Array | string, platform: PlatformTcb): TcbLevelSpec | undefined {
    return matchTcbLevel(this.fmspc(fmspc).levels, platform);
  }

  /**
   * Publishes a TCB recovery for an FMSPC: the tcbEvaluationDataNumber goes up (for every FMSPC and
   * the QE identity, as Intel's does), a new UpToDate level is added on top, former UpToDate levels
   * are downgraded (OutOfDate by default) and every lower level gains the recovery's advisory.
   */
  publishTcbRecovery(fmspc: Uint8Array | string, opts: TcbRecoveryOptions = {}): { tcbEvaluationDataNumber: number; levels: TcbLevelSpec[] } {
    const state = this.fmspc(fmspc);
    const top = state.levels[0]!;
    const upToDate = opts.upToDate ?? { components: top.components.map((c, i) => (i < 2 ? Math.min(c + 1, 255) : c)), pceSvn: top.pceSvn };
    const next = this.evaluationNumber + 1;
    const levels = recoverTcb(state.levels, {
      upToDate,
      advisoryId: opts.advisoryId ?? `CATENA-SA-${String(next).padStart(5, '0')}`,
      downgradeTo: opts.downgradeTo ?? 'OutOfDate',
      tcbDate: opts.tcbDate ?? this.clock(),
    });
    this.evaluationNumber = next;
    state.levels = levels;
    this.changed();
    return { tcbEvaluationDataNumber: next, levels: this.tcbLevels(fmspc) };
  }

  /** Describes the emulated QE (its MRSIGNER, ISVPRODID, ISVSVN, MISCSELECT, ATTRIBUTES) for the QE identity. */
  setQeIdentity(qe: QeDescription): void {
    if (!(qe.mrSigner instanceof Uint8Array) || qe.mrSigner.length !== 32) throw argumentError('qe.mrSigner must be 32 bytes');
    if (!Number.isInteger(qe.isvProdId) || qe.isvProdId < 0 || qe.isvProdId > 0xffff) throw argumentError('qe.isvProdId must be a u16');
    if (!Number.isInteger(qe.isvSvn) || qe.isvSvn < 0 || qe.isvSvn > 0xffff) throw argumentError('qe.isvSvn must be a u16');
    const today = isoDay(this.clock());
    const levels =
      qe.levels ??
      (qe.isvSvn > 0
        ? [
            { isvSvn: qe.isvSvn, tcbDate: today, status: 'UpToDate' as const, advisoryIds: [] },
            { isvSvn: 0, tcbDate: isoDay(new Date(this.clock().getTime() - 180 * DAY)), status: 'OutOfDate' as const, advisoryIds: ['CATENA-SA-00003'] },
          ]
        : [{ isvSvn: 0, tcbDate: today, status: 'UpToDate' as const, advisoryIds: [] }]);
    if (levels.length === 0) throw argumentError('qe.levels must not be empty');
    const attributesMask = qe.attributesMask === undefined ? Uint8Array.from(DEFAULT_ATTRIBUTES_MASK) : attrBytes(qe.attributesMask, 'qe.attributesMask');
    const miscSelectMask = u32Bytes(qe.miscSelectMask ?? 0xffffffff, 'qe.miscSelectMask');
    this.qe = {
      mrSigner: Uint8Array.from(qe.mrSigner),
      isvProdId: qe.isvProdId,
      miscSelect: u32Bytes(qe.miscSelect, 'qe.miscSelect').map((b, i) => b & miscSelectMask[i]!),
      miscSelectMask,
      // Intel publishes the attributes already masked (its QE3 identity says 11…, not 15…): so do we.
      attributes: attrBytes(qe.attributes, 'qe.attributes').map((b, i) => b & attributesMask[i]!),
      attributesMask,
      levels: levels.map((l) => ({ ...l, advisoryIds: [...l.advisoryIds] })),
    };
    this.changed();
  }

  /**
   * The manufacturer's enclave-signing key (RSA-3072, e = 3) for the QE and PCE SIGSTRUCTs; created
   * on first use and persisted by save(). Its MRSIGNER is the QE identity's default mrsigner.
   */
  get enclaveSigningKey(): KeyObject {
    this.vendorKey ??= generateVendorKey();
    return this.vendorKey;
  }

  /** MRSIGNER of enclaves signed with enclaveSigningKey. */
  get enclaveSignerMeasurement(): Uint8Array {
    return sha256(rsaModulusLE(this.enclaveSigningKey));
  }

  /** The signed TCB info v3 of an FMSPC (reissued with fresh dates once half its validity has passed). */
  tcbInfo(fmspc: Uint8Array | string): SignedCollateral {
    const key = fmspcKey(fmspc);
    const state = this.fmspc(key);
    return this.cached(`tcb:${key}`, (now) =>
      signTcbInfo(
        { fmspc: fromHex(key), pceId: state.pceId, issueDate: now, nextUpdate: this.nextUpdate(now), tcbEvaluationDataNumber: this.evaluationNumber, levels: state.levels },
        this.keys['tcb-signing'].privateKey,
      ),
    );
  }

  /** The signed QE identity v2. Without setQeIdentity, it describes a QE signed with enclaveSigningKey (ISVPRODID 1, ISVSVN 8). */
  qeIdentity(): SignedCollateral {
    if (!this.qe) {
      this.setQeIdentity({
        mrSigner: this.enclaveSignerMeasurement,
        isvProdId: DEFAULT_QE_ISVPRODID,
        isvSvn: DEFAULT_QE_ISVSVN,
        miscSelect: 0,
        attributes: { flags: ATTR.INIT | ATTR.MODE64BIT | ATTR.PROVISIONKEY, xfrm: 0n },
      });
    }
    const qe = this.qe!;
    return this.cached('qe', (now) =>
      signQeIdentity({ ...qe, issueDate: now, nextUpdate: this.nextUpdate(now), tcbEvaluationDataNumber: this.evaluationNumber }, this.keys['tcb-signing'].privateKey),
    );
  }

  // ---- CRLs and revocation ----

  /** The Root CA CRL (DER): revoked PCK CAs and TCB Signing certificates. */
  rootCaCrl(): Promise<Uint8Array> {
    return this.crl('root');
  }

  /** A PCK CA's CRL (DER): revoked PCK certificates. */
  pckCrl(ca: PckCa): Promise<Uint8Array> {
    if (ca !== 'processor' && ca !== 'platform') return Promise.reject(argumentError(`ca must be processor or platform, got ${String(ca)}`));
    return this.crl(ca);
  }

  /** Revoked entries of a CRL (copies). */
  revoked(list: CrlList): RevokedEntry[] {
    return this.revokedLists[list].map((e) => ({ ...e }));
  }

  /** Revokes a PCK certificate (by serial hex or DER) in its CA's CRL; the CRL is reissued with the next CRL number. Default reason keyCompromise. */
  revokePck(pck: string | Uint8Array, reason: number = CRL_REASON.keyCompromise): void {
    assertCrlReason(reason);
    const serial = normalizeSerial(typeof pck === 'string' ? pck : new X509Certificate(pck).serialNumber);
    const rec = this.pcks.find((p) => p.serial === serial);
    if (!rec) throw new ManufacturerError('ERR_MANUFACTURER_UNKNOWN', `no PCK certificate with serial ${serial} was issued here`);
    this.addRevoked(rec.ca, serial, reason);
  }

  /** Revokes a PCK CA or the TCB Signing certificate in the Root CA CRL. Default reason cACompromise. */
  revokeCa(which: PckCa | 'tcb-signing', reason: number = CRL_REASON.cACompromise): void {
    assertCrlReason(reason);
    const names: Record<string, KeyName> = { processor: 'processor-ca', platform: 'platform-ca', 'tcb-signing': 'tcb-signing' };
    const name = names[which];
    if (!name) throw new ManufacturerError('ERR_MANUFACTURER_UNKNOWN', `no CA named ${String(which)}`);
    this.addRevoked('root', normalizeSerial(new X509Certificate(this.certs[name]).serialNumber), reason);
  }

  /** The full collateral for an FMSPC and PCK CA, current at the manufacturer's clock. */
  async collateral(fmspc: Uint8Array | string, ca: PckCa = 'processor'): Promise<CollateralSet> {
    const key = fmspcKey(fmspc);
    return {
      fmspc: fromHex(key),
      ca,
      tcbInfo: this.tcbInfo(key),
      qeIdentity: this.qeIdentity(),
      tcbSigningChain: this.tcbSigningChain(),
      pckCrl: await this.pckCrl(ca),
      pckCrlIssuerChain: this.pckIssuerChain(ca),
      rootCaCrl: await this.rootCaCrl(),
      root: this.root,
    };
  }

  // ---- internals ----

  private fmspc(fmspc: Uint8Array | string): FmspcState {
    const key = fmspcKey(fmspc);
    const s = this.fmspcState.get(key);
    if (!s) throw new ManufacturerError('ERR_MANUFACTURER_UNKNOWN', `no TCB info for FMSPC ${key.toUpperCase()}`);
    return s;
  }

  private addRevoked(list: CrlList, serial: string, reason: number): void {
    const existing = this.revokedLists[list].find((e) => e.serial === serial);
    if (existing) existing.reason = reason;
    else this.revokedLists[list].push({ serial, reason, date: wholeSeconds(this.clock()) });
    this.crlNumbers[list] += 1;
    this.changed();
  }

  private crl(list: CrlList): Promise<Uint8Array> {
    const issuer: KeyName = list === 'root' ? 'root' : list === 'processor' ? 'processor-ca' : 'platform-ca';
    const name = list === 'root' ? CERT_NAMES.root : list === 'processor' ? CERT_NAMES.processor : CERT_NAMES.platform;
    return this.cached(`crl:${list}`, (now) =>
      issueCrl({
        issuer: name,
        issuerKey: this.keys[issuer].privateKey,
        thisUpdate: now,
        nextUpdate: this.nextUpdate(now),
        crlNumber: this.crlNumbers[list],
        entries: this.revokedLists[list],
      }),
    );
  }

  private nextUpdate(now: Date): Date {
    return new Date(now.getTime() + this.collateralValidityDays * DAY);
  }

  private changed(): void {
    this.generation += 1;
  }

  /**
   * Signed artefacts are reused until the state changes or half their validity has passed (then
   * reissued with fresh dates, as a PCS refreshes collateral before nextUpdate).
   */
  private cached<T>(key: string, produce: (now: Date) => T): T {
    const now = wholeSeconds(this.clock());
    const hit = this.cache.get(key) as Cached<T> | undefined;
    const half = (this.collateralValidityDays * DAY) / 2;
    if (hit && hit.generation === this.generation && now.getTime() >= hit.issued && now.getTime() - hit.issued < half) return hit.value;
    const value = produce(now);
    this.cache.set(key, { generation: this.generation, issued: now.getTime(), value });
    return value;
  }
}

interface PersistedState {
  version: number;
  pcsUrl: string;
  collateralValidityDays: number;
  tcbEvaluationDataNumber: number;
  fmspcs: Record<string, { pceId: number; levels: TcbLevelSpec[] }>;
  qe?: { mrSigner: string; isvProdId: number; miscSelect: string; miscSelectMask: string; attributes: string; attributesMask: string; levels: QeLevelSpec[] };
  pcks: Array<{
    serial: string;
    ca: PckCa;
    ppid: string;
    fmspc: string;
    pceId: number;
    pceSvn: number;
    cpuSvn: string;
    tcbComponents: number[];
    issued: string;
    pem: string;
  }>;
  revoked: Record<CrlList, Array<{ serial: string; reason: number; date: string }>>;
  crlNumbers: Record<CrlList, number>;
}
