import { X509Certificate, type KeyObject } from 'node:crypto';
import { fromHex } from '../../bytes/util.ts';
import { generateVendorKey, rsaModulusLE } from '../../crypto/rsa3072.ts';
import { sha256 } from '../../crypto/sha256.ts';
import { ATTR } from '../../formats/attributes.ts';
import { backdatedClock, DEFAULT_PCS_URL, DEFAULT_QE_ISVPRODID, DEFAULT_QE_ISVSVN } from './defaults.ts';
import { argumentError, ManufacturerError } from './errors.ts';
import { wholeSeconds } from './issue-certificate.ts';
import { assertCrlReason, CRL_REASON, issueCrl, type RevokedEntry } from './issue-crl.ts';
import { CERT_NAMES } from './names.ts';
import { readManufacturerState, writeManufacturerState } from './persistence.ts';
import { caKeyName, normalizeSerial, Pki, type KeyName } from './pki.ts';
import { Revocations } from './revocation.ts';
import { tdQeIdentityFields, tdxTcbInfoFields, tdxTcbInfoText } from './tdx-collateral.ts';
import {
  qeIdentityText,
  sign,
  signQeIdentity,
  signTcbEvaluationDataNumbers,
  signTcbInfo,
  type SignedCollateral,
} from './sign-collateral.ts';
import { SignedArtefacts } from './signed-artefacts.ts';
import type { PlatformTcb, TcbLevelSpec, TcbRecoveryOptions } from './tcb-levels.ts';
import type { TdxRecoveryOptions } from './tcb-state.ts';
import type { TdxRecoveryComponent } from './tdx-tcb-state.ts';
import { fmspcKey, TcbState, type ReleaseSelector } from './tcb-state.ts';
import type {
  CollateralSet,
  CrlList,
  ManufacturerOptions,
  PckCa,
  PckChainIssuer,
  PckRecord,
  PlatformDescription,
  QeDescription,
} from './types.ts';

export {
  DEFAULT_ATTRIBUTES_MASK,
  DEFAULT_PCS_URL,
  DEFAULT_QE_ISVPRODID,
  DEFAULT_QE_ISVSVN,
  ISSUE_BACKDATE_MS,
} from './defaults.ts';
export { normalizeSerial } from './pki.ts';
export type {
  CollateralSet,
  CrlList,
  ManufacturerOptions,
  PckCa,
  PckChainIssuer,
  PckRecord,
  PlatformDescription,
  QeDescription,
} from './types.ts';

/**
 * Catena's emulated SGX manufacturer: the PKI Intel runs for SGX (pki.ts), the signed TCB info and
 * QE identity per FMSPC (tcb-state.ts, signed-artefacts.ts), the Root CA CRL and the two PCK CRLs
 * (revocation.ts), TCB recoveries and revocations; saved and loaded by persistence.ts. This class
 * composes them behind one public API.
 *
 * Nothing here is trusted by default: a verifier accepts evidence under this root only when its
 * caller passes the root explicitly (design brief §1).
 */
export class Manufacturer {
  private readonly pki: Pki;
  private readonly tcb: TcbState;
  private readonly revocations = new Revocations();
  private readonly artefacts: SignedArtefacts;
  private vendorKey: KeyObject | undefined;
  readonly pcsUrl: string;
  readonly collateralValidityDays: number;
  private readonly clock: () => Date;

  private constructor(init: {
    pki: Pki;
    pcsUrl: string;
    clock: () => Date;
    validityDays: number;
    evaluationNumber: number;
  }) {
    this.pki = init.pki;
    this.pcsUrl = init.pcsUrl;
    this.clock = init.clock;
    this.collateralValidityDays = init.validityDays;
    this.artefacts = new SignedArtefacts(init.clock, init.validityDays);
    this.tcb = new TcbState(init.evaluationNumber, init.clock, () => this.artefacts.changed());
  }

  /** A new manufacturer: fresh P-256 keys, the Root CA, both PCK CAs and the TCB Signing certificate. */
  static async create(opts: ManufacturerOptions = {}): Promise<Manufacturer> {
    const clock = opts.clock ?? backdatedClock;
    const pcsUrl = (opts.pcsUrl ?? DEFAULT_PCS_URL).replace(/\/+$/, '');
    const validityDays = opts.collateralValidityDays ?? 30;
    if (!(validityDays > 0)) throw argumentError('collateralValidityDays must be positive');
    const evaluationNumber = opts.tcbEvaluationDataNumber ?? 1;
    if (!Number.isInteger(evaluationNumber) || evaluationNumber < 0)
      throw argumentError('tcbEvaluationDataNumber must be a non-negative integer');
    const pki = await Pki.create(clock(), pcsUrl);
    const m = new Manufacturer({ pki, pcsUrl, clock, validityDays, evaluationNumber });
    if (opts.qe) m.setQeIdentity(opts.qe);
    return m;
  }

  /**
   * Reopens a manufacturer saved with save(dir): same keys, certificates, TCB levels, PCKs and
   * revocations. A key file that exists but cannot be read or parsed is ERR_KEY_FILE_UNREADABLE (its path and why).
   */
  static async load(dir: string, opts: { clock?: () => Date } = {}): Promise<Manufacturer> {
    const s = await readManufacturerState(dir);
    const pki = new Pki(s.keys, s.certs);
    pki.pcks.push(...s.pcks);
    const m = new Manufacturer({
      pki,
      pcsUrl: s.pcsUrl,
      clock: opts.clock ?? backdatedClock,
      validityDays: s.collateralValidityDays,
      evaluationNumber: s.tcbEvaluationDataNumber,
    });
    m.vendorKey = s.vendorKey;
    for (const [k, v] of s.fmspcs) m.tcb.fmspcs.set(k, v);
    m.tcb.qe = s.qe;
    if (s.release) {
      m.tcb.recoveryEventDate = s.release.recoveryEventDate;
      m.tcb.tcbDate = s.release.tcbDate;
    }
    m.tcb.early = s.early;
    if (s.tdx) m.tcb.tdx = s.tdx;
    for (const list of ['root', 'processor', 'platform'] as const) {
      m.revocations.lists[list] = s.revoked[list];
      m.revocations.crlNumbers[list] = s.crlNumbers[list];
    }
    return m;
  }

  /** Writes the manufacturer to `dir` (keys 0600 in a 0700 directory, never overwritten: ERR_KEY_FILE_EXISTS); load(dir) brings it back. */
  async save(dir: string): Promise<void> {
    await writeManufacturerState(dir, {
      keys: this.pki.keys,
      certs: this.pki.certs,
      vendorKey: this.vendorKey,
      pcsUrl: this.pcsUrl,
      collateralValidityDays: this.collateralValidityDays,
      tcbEvaluationDataNumber: this.tcb.evaluationNumber,
      fmspcs: this.tcb.fmspcs,
      qe: this.tcb.qe,
      pcks: this.pki.pcks,
      revoked: this.revocations.lists,
      crlNumbers: this.revocations.crlNumbers,
      release: { recoveryEventDate: this.tcb.recoveryEventDate, tcbDate: this.tcb.tcbDate },
      ...(this.tcb.early ? { early: this.tcb.early } : {}),
      tdx: this.tcb.tdx,
    });
  }

  // ---- certificates ----

  /** The self-signed Root CA certificate (DER): the anchor a verifier must be given explicitly. */
  get root(): Uint8Array {
    return this.pki.certs.root;
  }
  get tcbSigningCertificate(): Uint8Array {
    return this.pki.certs['tcb-signing'];
  }
  caCertificate(ca: PckCa): Uint8Array {
    return this.pki.caCertificate(ca);
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
    const name: KeyName = which === 'processor' || which === 'platform' ? caKeyName(which) : which;
    return this.pki.keys[name].publicKey;
  }

  /**
   * Issues a PCK certificate for a platform whose PCE holds the private key (the caller brings only
   * the public key). Processor CA certificates are SGX type Standard; Platform CA certificates are
   * Scalable and carry PlatformInstanceID and Configuration, as Intel's do. The first PCK of an
   * FMSPC also defines that FMSPC's TCB levels (defaultTcbLevels around the platform's TCB) unless
   * setTcbLevels was called before.
   */
  async issuePck(platform: PlatformDescription, pckPublicKey: KeyObject, ca: PckCa = 'processor'): Promise<Uint8Array> {
    const now = wholeSeconds(this.clock());
    const record = await this.pki.issuePck(platform, pckPublicKey, ca, now, this.pcsUrl);
    this.tcb.ensureFmspc(
      platform.fmspc,
      { components: platform.tcbComponents, pceSvn: platform.pceSvn },
      platform.pceId,
      now,
    );
    return record.der;
  }

  /** The adapter the quoting service (src/sgx/qe QuotingService) takes as its `issuer`. */
  pckIssuer(ca: PckCa = 'processor'): PckChainIssuer {
    return {
      issuePck: async (platform, key) => ({
        pck: await this.issuePck(platform, key, ca),
        chain: this.pckIssuerChain(ca),
      }),
    };
  }

  /** Every PCK certificate issued, oldest first. */
  listPcks(): readonly PckRecord[] {
    return this.pki.pcks;
  }

  /**
   * The PCK certificate Intel's PCS would return for a platform: same PPID (and PCE-ID when given),
   * and the highest issued TCB the given raw TCB reaches (CPUSVN byte by byte and PCESVN); the most
   * recently issued one when no TCB is given.
   */
  findPck(q: { ppid: Uint8Array; pceId?: number; cpuSvn?: Uint8Array; pceSvn?: number }): PckRecord | undefined {
    return this.pki.findPck(q);
  }

  // ---- TCB levels, TCB info, QE identity ----

  get tcbEvaluationDataNumber(): number {
    return this.tcb.evaluationNumber;
  }

  /** FMSPCs with TCB info, lower-case hex. */
  fmspcs(): string[] {
    return [...this.tcb.fmspcs.keys()];
  }

  /** Sets (replaces) an FMSPC's TCB levels, highest first (Intel's matching takes the first level reached). */
  setTcbLevels(fmspc: Uint8Array | string, levels: TcbLevelSpec[], pceId = 0): void {
    this.tcb.setTcbLevels(fmspc, levels, pceId);
  }

  /**
   * Gives an FMSPC the default TCB levels around `current` (defaultTcbLevels) unless it already has
   * TCB info; returns whether it was added. Lets a PCS serve an FMSPC before its first PCK is issued.
   */
  ensureFmspc(fmspc: Uint8Array | string, current: PlatformTcb, pceId = 0): boolean {
    return this.tcb.ensureFmspc(fmspc, current, pceId);
  }

  /** An FMSPC's TCB levels (copies) in a release (default standard). ERR_MANUFACTURER_UNKNOWN for an FMSPC without TCB info. */
  tcbLevels(fmspc: Uint8Array | string, update: ReleaseSelector = 'standard'): TcbLevelSpec[] {
    return this.tcb.tcbLevels(fmspc, update);
  }

  /** The level a platform's TCB falls into under the current TCB info (undefined: below every level). */
  tcbLevelOf(fmspc: Uint8Array | string, platform: PlatformTcb): TcbLevelSpec | undefined {
    return this.tcb.tcbLevelOf(fmspc, platform);
  }

  /**
   * Publishes a TCB recovery for an FMSPC: the tcbEvaluationDataNumber goes up (for every FMSPC and
   * the QE identity, as Intel's does), a new UpToDate level is added on top, former UpToDate levels
   * are downgraded (OutOfDate by default) and every lower level gains the recovery's advisory.
   */
  publishTcbRecovery(
    fmspc: Uint8Array | string,
    opts: TcbRecoveryOptions = {},
  ): { tcbEvaluationDataNumber: number; levels: TcbLevelSpec[] } {
    return this.tcb.publishTcbRecovery(fmspc, opts);
  }

  /**
   * Stages a TCB recovery at `update=early` (Intel's early release): the next tcbEvaluationDataNumber
   * for every FMSPC and the QE identity, a new UpToDate level on top of the FMSPC given (every FMSPC
   * when left out), former UpToDate levels downgraded. `update=standard` keeps serving the current
   * release until promoteTcbRecovery(). ERR_MANUFACTURER_STATE while another recovery is staged.
   */
  stageTcbRecovery(
    fmspc?: Uint8Array | string,
    opts: TcbRecoveryOptions & { tdx?: TdxRecoveryOptions } = {},
  ): { tcbEvaluationDataNumber: number; fmspcs: string[] } {
    const r = this.tcb.stageRecovery(fmspc, opts);
    return {
      tcbEvaluationDataNumber: r.evaluationNumber,
      fmspcs: fmspc === undefined || opts.tdx ? [...r.fmspcs.keys()] : [fmspcKey(fmspc)],
    };
  }

  /**
   * Stages a TDX TCB recovery at `update=early`: the next tcbEvaluationDataNumber (SGX and TDX
   * collateral alike), the TDX TCB of every FMSPC raised — `module`: a new UpToDate TDX_01 level one
   * ISVSVN up, the former UpToDate module levels `downgradeTo` (OutOfDate by default, or Revoked);
   * `tee-tcb-svn`: the UpToDate TDX level needs the next TDX late microcode SVN (TEE_TCB_SVN[2]), the
   * former requirement a `downgradeTo` level —, the SGX levels unchanged. promoteTcbRecovery() promotes it.
   */
  stageTdxTcbRecovery(
    component: TdxRecoveryComponent = 'module',
    opts: Pick<TcbRecoveryOptions, 'advisoryId' | 'downgradeTo' | 'tcbDate'> = {},
  ): { tcbEvaluationDataNumber: number; fmspcs: string[] } {
    return this.stageTcbRecovery(undefined, { ...opts, tdx: { component } });
  }

  /** Promotes the staged recovery to `update=standard`. ERR_MANUFACTURER_STATE when none is staged. */
  promoteTcbRecovery(): { tcbEvaluationDataNumber: number } {
    return { tcbEvaluationDataNumber: this.tcb.promote().evaluationNumber };
  }

  /**
   * The admin API's one verb: `early` stages a recovery; `standard` promotes the staged one, or — when
   * none is staged — stages and promotes one at once. An FMSPC given with `standard` must be the one staged.
   */
  tcbRecovery(
    stage: 'early' | 'standard',
    fmspc?: string,
    opts: TcbRecoveryOptions & { tdx?: TdxRecoveryOptions } = {},
  ): { stage: 'early' | 'standard'; tcbEvaluationDataNumber: number; standard: number; early: number } {
    if (stage === 'early') this.stageTcbRecovery(fmspc, opts);
    else {
      if (!this.tcb.early) this.stageTcbRecovery(fmspc, opts);
      this.promoteTcbRecovery();
    }
    return {
      stage,
      tcbEvaluationDataNumber: this.earlyTcbEvaluationDataNumber,
      standard: this.tcbEvaluationDataNumber,
      early: this.earlyTcbEvaluationDataNumber,
    };
  }

  /** The tcbEvaluationDataNumber served at `update=early` (the standard one when nothing is staged). */
  get earlyTcbEvaluationDataNumber(): number {
    return this.tcb.release('early').evaluationNumber;
  }

  /** The signed TCB evaluation data numbers list (PCS v4 `tcbevaluationdatanumbers`), newest first. */
  tcbEvaluationDataNumbers(): SignedCollateral {
    return this.artefacts.get('tcb-eval-numbers', (now) =>
      signTcbEvaluationDataNumbers(
        {
          issueDate: now,
          nextUpdate: this.artefacts.nextUpdate(now),
          numbers: this.tcb.releases().map((r) => ({
            tcbEvaluationDataNumber: r.evaluationNumber,
            tcbRecoveryEventDate: r.recoveryEventDate,
            tcbDate: r.tcbDate,
          })),
        },
        this.pki.keys['tcb-signing'].privateKey,
      ),
    );
  }

  /** Describes the emulated QE (its MRSIGNER, ISVPRODID, ISVSVN, MISCSELECT, ATTRIBUTES) for the QE identity. */
  setQeIdentity(qe: QeDescription): void {
    this.tcb.setQeIdentity(qe);
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

  /**
   * The signed TCB info v3 of an FMSPC (reissued with fresh dates once half its validity has passed),
   * of the release asked for: `standard` (default), `early`, or a tcbEvaluationDataNumber.
   */
  tcbInfo(fmspc: Uint8Array | string, update: ReleaseSelector = 'standard'): SignedCollateral {
    const key = fmspcKey(fmspc);
    const release = this.tcb.release(update);
    const state = release.fmspcs.get(key);
    if (!state)
      throw new ManufacturerError(
        'ERR_MANUFACTURER_UNKNOWN',
        `no TCB info for FMSPC ${key.toUpperCase()} with tcbEvaluationDataNumber ${release.evaluationNumber}`,
      );
    return this.artefacts.get(`tcb:${key}:${release.evaluationNumber}`, (now) =>
      signTcbInfo(
        {
          fmspc: fromHex(key),
          pceId: state.pceId,
          issueDate: now,
          nextUpdate: this.artefacts.nextUpdate(now),
          tcbEvaluationDataNumber: release.evaluationNumber,
          levels: state.levels,
        },
        this.pki.keys['tcb-signing'].privateKey,
      ),
    );
  }

  /** The signed QE identity v2 of a release (default standard). Without setQeIdentity, it describes a QE signed with enclaveSigningKey (ISVPRODID 1, ISVSVN 8). */
  qeIdentity(update: ReleaseSelector = 'standard'): SignedCollateral {
    if (!this.tcb.qe) {
      this.setQeIdentity({
        mrSigner: this.enclaveSignerMeasurement,
        isvProdId: DEFAULT_QE_ISVPRODID,
        isvSvn: DEFAULT_QE_ISVSVN,
        miscSelect: 0,
        attributes: { flags: ATTR.INIT | ATTR.MODE64BIT | ATTR.PROVISIONKEY, xfrm: 0n },
      });
    }
    const release = this.tcb.release(update);
    // A release superseded before the QE was described has none: it was served with today's description.
    const qe = release.qe ?? this.tcb.qe!;
    return this.artefacts.get(`qe:${release.evaluationNumber}`, (now) =>
      signQeIdentity(
        {
          ...qe,
          issueDate: now,
          nextUpdate: this.artefacts.nextUpdate(now),
          tcbEvaluationDataNumber: release.evaluationNumber,
        },
        this.pki.keys['tcb-signing'].privateKey,
      ),
    );
  }

  /**
   * The signed TDX TCB info v3 (id TDX) of an FMSPC: its SGX levels, each with tdxtcbcomponents, the
   * tdxModule and tdxModuleIdentities (tdx-collateral.ts; PCS GET /tdx/certification/v4/tcb), of the
   * release asked for: `standard` (default), `early`, or a tcbEvaluationDataNumber.
   */
  tdxTcbInfo(fmspc: Uint8Array | string, update: ReleaseSelector = 'standard'): SignedCollateral {
    const key = fmspcKey(fmspc);
    const release = this.tcb.release(update);
    const state = release.fmspcs.get(key);
    if (!state)
      throw new ManufacturerError(
        'ERR_MANUFACTURER_UNKNOWN',
        `no TCB info for FMSPC ${key.toUpperCase()} with tcbEvaluationDataNumber ${release.evaluationNumber}`,
      );
    const tdx = this.tcb.tdxOf(release);
    return this.artefacts.get(`tdx-tcb:${key}:${release.evaluationNumber}`, (now) =>
      sign(
        'tcbInfo',
        tdxTcbInfoText(
          tdxTcbInfoFields(
            fromHex(key),
            state.pceId,
            state.levels,
            {
              issueDate: now,
              nextUpdate: this.artefacts.nextUpdate(now),
              tcbEvaluationDataNumber: release.evaluationNumber,
            },
            tdx,
          ),
        ),
        this.pki.keys['tcb-signing'].privateKey,
      ),
    );
  }

  /** The signed TD_QE identity of the TD quoting enclave signed with enclaveSigningKey (PCS GET /tdx/certification/v4/qe/identity), of a release. */
  tdQeIdentity(update: ReleaseSelector = 'standard'): SignedCollateral {
    const release = this.tcb.release(update);
    return this.artefacts.get(`td-qe:${release.evaluationNumber}`, (now) =>
      sign(
        'enclaveIdentity',
        qeIdentityText(
          tdQeIdentityFields(this.enclaveSignerMeasurement, {
            issueDate: now,
            nextUpdate: this.artefacts.nextUpdate(now),
            tcbEvaluationDataNumber: release.evaluationNumber,
          }),
        ),
        this.pki.keys['tcb-signing'].privateKey,
      ),
    );
  }

  /** The TDX collateral of an FMSPC and PCK CA (of a release): collateral() with the TDX TCB info and the TD_QE identity. */
  async tdxCollateral(
    fmspc: Uint8Array | string,
    ca: PckCa = 'processor',
    update: ReleaseSelector = 'standard',
  ): Promise<CollateralSet> {
    return {
      ...(await this.collateral(fmspc, ca, update)),
      tcbInfo: this.tdxTcbInfo(fmspc, update),
      qeIdentity: this.tdQeIdentity(update),
    };
  }

  /** The signed TCB evaluation data numbers list of TDX (id TDX; PCS v4 /tdx/…/tcbevaluationdatanumbers), newest first. */
  tdxTcbEvaluationDataNumbers(): SignedCollateral {
    return this.artefacts.get('tdx-tcb-eval-numbers', (now) =>
      signTcbEvaluationDataNumbers(
        {
          id: 'TDX',
          issueDate: now,
          nextUpdate: this.artefacts.nextUpdate(now),
          numbers: this.tcb.releases().map((r) => ({
            tcbEvaluationDataNumber: r.evaluationNumber,
            tcbRecoveryEventDate: r.recoveryEventDate,
            tcbDate: r.tcbDate,
          })),
        },
        this.pki.keys['tcb-signing'].privateKey,
      ),
    );
  }

  // ---- CRLs and revocation ----

  /** The Root CA CRL (DER): revoked PCK CAs and TCB Signing certificates. */
  rootCaCrl(): Promise<Uint8Array> {
    return this.crl('root');
  }

  /** A PCK CA's CRL (DER): revoked PCK certificates. */
  pckCrl(ca: PckCa): Promise<Uint8Array> {
    if (ca !== 'processor' && ca !== 'platform')
      return Promise.reject(argumentError(`ca must be processor or platform, got ${String(ca)}`));
    return this.crl(ca);
  }

  /** Revoked entries of a CRL (copies). */
  revoked(list: CrlList): RevokedEntry[] {
    return this.revocations.entries(list);
  }

  /** Revokes a PCK certificate (by serial hex or DER) in its CA's CRL; the CRL is reissued with the next CRL number. Default reason keyCompromise. */
  revokePck(pck: string | Uint8Array, reason: number = CRL_REASON.keyCompromise): void {
    assertCrlReason(reason);
    const serial = normalizeSerial(typeof pck === 'string' ? pck : new X509Certificate(pck).serialNumber);
    const known = this.pki.pcks.find((p) => p.serial === serial);
    // A certificate this process did not record (issued by a copy of this manufacturer, e.g. an agent's
    // world) is revoked when one of our PCK CAs signed it.
    const ca = known?.ca ?? (typeof pck === 'string' ? this.pki.pckBySerial(serial).ca : this.pckCaOf(pck));
    this.revoke(ca, serial, reason);
  }

  private pckCaOf(der: Uint8Array): PckCa {
    const cert = new X509Certificate(der);
    for (const ca of ['processor', 'platform'] as const) if (cert.verify(this.publicKey(ca))) return ca;
    throw new ManufacturerError(
      'ERR_MANUFACTURER_UNKNOWN',
      `certificate ${cert.serialNumber} is no PCK certificate of this manufacturer`,
    );
  }

  /** Revokes every PCK certificate issued to a platform (its PPID, hex); returns their serials. ERR_MANUFACTURER_UNKNOWN if none was issued. */
  revokePlatform(ppid: string, reason: number = CRL_REASON.keyCompromise): string[] {
    assertCrlReason(reason);
    const id = ppid.toLowerCase();
    const pcks = this.pki.pcks.filter((p) => Buffer.from(p.ppid).toString('hex') === id);
    if (pcks.length === 0)
      throw new ManufacturerError('ERR_MANUFACTURER_UNKNOWN', `no PCK certificate was issued to platform ${id}`);
    for (const p of pcks) this.revocations.add(p.ca, p.serial, reason, this.clock());
    this.artefacts.changed();
    return pcks.map((p) => p.serial);
  }

  /** Revokes a PCK CA or the TCB Signing certificate in the Root CA CRL. Default reason cACompromise. */
  revokeCa(which: PckCa | 'tcb-signing', reason: number = CRL_REASON.cACompromise): void {
    assertCrlReason(reason);
    const names: Record<string, KeyName> = {
      processor: 'processor-ca',
      platform: 'platform-ca',
      'tcb-signing': 'tcb-signing',
    };
    const name = names[which];
    if (!name) throw new ManufacturerError('ERR_MANUFACTURER_UNKNOWN', `no CA named ${String(which)}`);
    this.revoke('root', this.pki.serialOf(name), reason);
  }

  /** The full collateral for an FMSPC and PCK CA, current at the manufacturer's clock, of a release (default standard). */
  async collateral(
    fmspc: Uint8Array | string,
    ca: PckCa = 'processor',
    update: ReleaseSelector = 'standard',
  ): Promise<CollateralSet> {
    const key = fmspcKey(fmspc);
    return {
      fmspc: fromHex(key),
      ca,
      tcbInfo: this.tcbInfo(key, update),
      qeIdentity: this.qeIdentity(update),
      tcbSigningChain: this.tcbSigningChain(),
      pckCrl: await this.pckCrl(ca),
      pckCrlIssuerChain: this.pckIssuerChain(ca),
      rootCaCrl: await this.rootCaCrl(),
      root: this.root,
    };
  }

  // ---- internals ----

  private revoke(list: CrlList, serial: string, reason: number): void {
    this.revocations.add(list, serial, reason, this.clock());
    this.artefacts.changed();
  }

  private crl(list: CrlList): Promise<Uint8Array> {
    const issuer: KeyName = list === 'root' ? 'root' : caKeyName(list);
    const name = list === 'root' ? CERT_NAMES.root : list === 'processor' ? CERT_NAMES.processor : CERT_NAMES.platform;
    return this.artefacts.get(`crl:${list}`, (now) =>
      issueCrl({
        issuer: name,
        issuerKey: this.pki.keys[issuer].privateKey,
        thisUpdate: now,
        nextUpdate: this.artefacts.nextUpdate(now),
        crlNumber: this.revocations.crlNumbers[list],
        entries: this.revocations.lists[list],
      }),
    );
  }
}
