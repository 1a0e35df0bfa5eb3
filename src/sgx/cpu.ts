import { abytes, equal, hex, isZero } from '../bytes/util.ts';
import { createHmac } from 'node:crypto';
import { AesCmac } from '../crypto/cmac.ts';
import { randomBytes } from '../crypto/random.ts';
import { ATTR, type Attributes } from '../formats/attributes.ts';
import { KEY_NAME, KEY_POLICY, KEYREQUEST_SIZE, parseKeyRequest } from '../formats/keyrequest.ts';
import { serializeReport, writeReportBody, type ReportBody } from '../formats/report.ts';
import { parseTargetInfo, serializeTargetInfo, TARGETINFO_SIZE } from '../formats/targetinfo.ts';
import { Writer } from '../bytes/cursor.ts';
import { deriveKey, emptyKeyDependencies, type KeyDependencies } from './key-derivation.ts';
import { SgxError } from './errors.ts';

/**
 * The emulated SGX CPU of one platform: it alone holds the platform's root secrets and the SECS of
 * every initialised enclave, and executes EINIT (identity fixing), EREPORT and EGETKEY.
 *
 * Enclave code never names itself: the CPU is handed an opaque EnclaveRef, minted by EINIT and
 * bound by the runtime to the enclave it belongs to (in the isolated runtime, to the worker whose
 * messages it answers). An EnclaveRef cannot be forged; its SECS lives in a private WeakMap here.
 *
 * Emulation gives no confidentiality against the host process: the secrets are in this process's
 * memory (and on disk under the platform's data directory). What the CPU guarantees is the SGX
 * *interface*: identities fixed by measurement, keys derived exactly as documented.
 */

/** The enclave identity the CPU fixed at EINIT (the SECS fields that REPORTs and keys use). */
export interface EnclaveIdentity {
  mrEnclave: Uint8Array;
  mrSigner: Uint8Array;
  isvProdId: number;
  isvSvn: number;
  /** SECS.ATTRIBUTES after EINIT (INIT set). */
  attributes: Attributes;
  miscSelect: number;
}

/** An initialised enclave as the CPU knows it. Opaque: only the CPU that minted it can use it. */
export class EnclaveRef {
  private constructor() {}
  /** @internal */
  static mint(): EnclaveRef {
    return new EnclaveRef();
  }
}

/** Size of the root secret blob: OWNEREPOCH ‖ report root ‖ seal root ‖ provisioning root, 16 bytes each. */
export const ROOT_SECRETS_SIZE = 64;

/** Flags EINIT accepts in a requested SECS.ATTRIBUTES (INIT is set by EINIT itself; EINITTOKEN_KEY and KSS are not emulated). */
const ALLOWED_FLAGS = ATTR.DEBUG | ATTR.MODE64BIT | ATTR.PROVISIONKEY;
const ALLOWED_POLICY = KEY_POLICY.MRENCLAVE | KEY_POLICY.MRSIGNER;
/** EGETKEY always includes INIT and DEBUG in the attribute mask (Intel SDM), so DEBUG enclaves never get production keys. */
const MANDATORY_MASK = ATTR.INIT | ATTR.DEBUG;
const REPORT_KEY_CACHE_MAX = 4096;

/** What the loader asks EINIT for, and what EINIT checks it against (SIGSTRUCT fields). */
export interface EinitRequest {
  mrEnclave: Uint8Array;
  /** SECS.ATTRIBUTES requested by the loader (INIT clear). */
  attributes: Attributes;
  miscSelect: number;
  sigstruct: {
    enclaveHash: Uint8Array;
    attributes: Attributes;
    attributeMask: Attributes;
    miscSelect: number;
    miscMask: number;
    isvProdId: number;
    isvSvn: number;
  };
  /** SIGSTRUCT signature and Q1/Q2 verified. */
  signatureOk: boolean;
  signatureFailures: string[];
  mrSigner: Uint8Array;
}

function cpuSvnAbove(requested: Uint8Array, current: Uint8Array): boolean {
  // Emulation rule: CPUSVN is 16 component SVNs; a request is "above" if any component is.
  for (let i = 0; i < 16; i++) if (requested[i] > current[i]) return true;
  return false;
}

const and = (a: Attributes, b: Attributes): Attributes => ({ flags: a.flags & b.flags, xfrm: a.xfrm & b.xfrm });
const sameAttrs = (a: Attributes, b: Attributes) => a.flags === b.flags && a.xfrm === b.xfrm;

export class Cpu {
  readonly #ownerEpoch: Uint8Array;
  readonly #reportRoot: AesCmac;
  readonly #sealRoot: AesCmac;
  readonly #provisionRoot: AesCmac;
  /** CR_REPORT_KEYID: random per boot (per Cpu instance), as on hardware. */
  readonly #reportKeyId = randomBytes(32);
  readonly #secs = new WeakMap<EnclaveRef, EnclaveIdentity>();
  readonly #reportKeys = new Map<string, { key: Uint8Array; cmac: AesCmac }>();
  #halted = false;
  #cpuSvn: Uint8Array;
  /** The platform's current CPUSVN. */
  get cpuSvn(): Uint8Array {
    return this.#cpuSvn;
  }

  /** Takes the 64-byte root secret blob and zeroes the caller's copy. */
  constructor(rootSecrets: Uint8Array, cpuSvn: Uint8Array) {
    abytes(rootSecrets, ROOT_SECRETS_SIZE, 'root secrets');
    this.#cpuSvn = abytes(cpuSvn, 16, 'cpu_svn').slice();
    this.#ownerEpoch = rootSecrets.slice(0, 16);
    this.#reportRoot = new AesCmac(rootSecrets.subarray(16, 32));
    this.#sealRoot = new AesCmac(rootSecrets.subarray(32, 48));
    this.#provisionRoot = new AesCmac(rootSecrets.subarray(48, 64));
    rootSecrets.fill(0);
  }

  /**
   * A microcode (TCB) update: the CPUSVN becomes `svn`. Never downwards on any component (keys of a
   * lower CPUSVN stay derivable, as EGETKEY allows; a higher one would not be).
   */
  updateCpuSvn(svn: Uint8Array): void {
    abytes(svn, 16, 'cpu_svn');
    for (let i = 0; i < 16; i++)
      if (svn[i] < this.#cpuSvn[i])
        throw new SgxError(
          'ERR_ARGUMENT',
          `a TCB update cannot lower CPUSVN component ${i} (${this.#cpuSvn[i]} → ${svn[i]})`,
        );
    this.#cpuSvn = svn.slice();
    this.#reportKeys.clear();
  }

  #live(ref: EnclaveRef): EnclaveIdentity {
    if (this.#halted) throw new SgxError('ERR_PLATFORM_CLOSED', 'the platform was closed');
    const secs = this.#secs.get(ref);
    if (!secs)
      throw new SgxError('ERR_ENCLAVE_DESTROYED', 'no such enclave on this CPU (destroyed, or from another platform)');
    return secs;
  }

  /**
   * EINIT: checks the SIGSTRUCT against the measured enclave and the requested SECS, then fixes the
   * enclave's identity. `launchAllowsProvisionKey` is the emulated launch-control policy.
   */
  einit(
    req: EinitRequest,
    launchAllowsProvisionKey: (mrSigner: Uint8Array) => boolean,
  ): { ref: EnclaveRef; identity: EnclaveIdentity } {
    if (this.#halted) throw new SgxError('ERR_PLATFORM_CLOSED', 'the platform was closed');
    const s = req.sigstruct;
    if (!req.signatureOk) {
      throw new SgxError(
        'ERR_EINIT_SIGNATURE',
        `SIGSTRUCT does not verify: ${req.signatureFailures.join('; ') || 'signature'}`,
      );
    }
    if ((req.attributes.flags & ~ALLOWED_FLAGS) !== 0n) {
      throw new SgxError(
        'ERR_EINIT_ATTRIBUTES',
        `requested ATTRIBUTES flags 0x${req.attributes.flags.toString(16)} use a bit the emulated CPU refuses (INIT, EINITTOKEN_KEY, KSS or reserved)`,
      );
    }
    const want = and(req.attributes, s.attributeMask);
    const signed = and(s.attributes, s.attributeMask);
    if (!sameAttrs(want, signed)) {
      const debugDiffers = ((want.flags ^ signed.flags) & ATTR.DEBUG) !== 0n;
      if (debugDiffers) {
        throw new SgxError(
          'ERR_EINIT_DEBUG',
          `DEBUG ${req.attributes.flags & ATTR.DEBUG ? 'requested' : 'not requested'} but SIGSTRUCT ${signed.flags & ATTR.DEBUG ? 'requires it' : 'forbids it'}`,
        );
      }
      throw new SgxError(
        'ERR_EINIT_ATTRIBUTES',
        `requested ATTRIBUTES ${fmt(req.attributes)} differ from SIGSTRUCT ${fmt(s.attributes)} under mask ${fmt(s.attributeMask)}`,
      );
    }
    if (((req.miscSelect ^ s.miscSelect) & s.miscMask) >>> 0 !== 0) {
      throw new SgxError(
        'ERR_EINIT_MISCSELECT',
        `requested MISCSELECT 0x${req.miscSelect.toString(16)} differs from SIGSTRUCT 0x${s.miscSelect.toString(16)} under mask 0x${s.miscMask.toString(16)}`,
      );
    }
    if ((req.attributes.flags & ATTR.PROVISIONKEY) !== 0n && !launchAllowsProvisionKey(req.mrSigner)) {
      throw new SgxError(
        'ERR_EINIT_PROVISIONKEY',
        `launch policy does not allow MRSIGNER ${hex(req.mrSigner)} the PROVISIONKEY attribute`,
      );
    }
    if (!equal(req.mrEnclave, s.enclaveHash)) {
      throw new SgxError(
        'ERR_EINIT_ENCLAVEHASH',
        `SIGSTRUCT ENCLAVEHASH ${hex(s.enclaveHash)} is not the measured MRENCLAVE ${hex(req.mrEnclave)}`,
      );
    }
    const identity: EnclaveIdentity = Object.freeze({
      mrEnclave: req.mrEnclave.slice(),
      mrSigner: req.mrSigner.slice(),
      isvProdId: s.isvProdId,
      isvSvn: s.isvSvn,
      attributes: Object.freeze({ flags: req.attributes.flags | ATTR.INIT, xfrm: req.attributes.xfrm }),
      miscSelect: req.miscSelect >>> 0,
    });
    const ref = EnclaveRef.mint();
    this.#secs.set(ref, identity);
    return { ref, identity };
  }

  /** The public SECS identity of a live enclave. */
  identityOf(ref: EnclaveRef): EnclaveIdentity {
    return this.#live(ref);
  }

  /** TARGETINFO (512) naming a live enclave, for others to EREPORT to. */
  targetInfoOf(ref: EnclaveRef): Uint8Array {
    const id = this.#live(ref);
    return serializeTargetInfo({
      mrEnclave: id.mrEnclave,
      attributes: id.attributes,
      configSvn: 0,
      miscSelect: id.miscSelect,
      configId: new Uint8Array(64),
    });
  }

  /** EREMOVE of the SECS: the ref stops working. */
  eremove(ref: EnclaveRef): void {
    this.#secs.delete(ref);
  }

  /** The REPORT key of an enclave identity under a KEYID (cached: report keys are hot in chain building). */
  #reportKey(
    mrEnclave: Uint8Array,
    attributes: Attributes,
    miscSelect: number,
    keyId: Uint8Array,
  ): { key: Uint8Array; cmac: AesCmac } {
    const cacheKey = `${hex(mrEnclave)}|${attributes.flags}|${attributes.xfrm}|${miscSelect}|${hex(keyId)}`;
    let k = this.#reportKeys.get(cacheKey);
    if (!k) {
      // REPORT key: KEYNAME, OWNEREPOCH, ATTRIBUTES, MRENCLAVE, KEYID, CPUSVN (current), MISCSELECT; all else zero.
      const d = emptyKeyDependencies(KEY_NAME.REPORT);
      d.ownerEpoch = this.#ownerEpoch;
      d.attributes = attributes;
      d.mrEnclave = mrEnclave;
      d.keyId = keyId;
      d.cpuSvn = this.cpuSvn;
      d.miscSelect = miscSelect;
      const key = deriveKey(this.#reportRoot, d);
      k = { key, cmac: new AesCmac(key) };
      if (this.#reportKeys.size >= REPORT_KEY_CACHE_MAX) this.#reportKeys.clear();
      this.#reportKeys.set(cacheKey, k);
    }
    return k;
  }

  /** EREPORT: the caller's REPORT for `targetInfo`, MACed under the target's REPORT key. */
  ereport(ref: EnclaveRef, targetInfo: Uint8Array, reportData: Uint8Array): Uint8Array {
    const id = this.#live(ref);
    if (!(targetInfo instanceof Uint8Array) || targetInfo.length !== TARGETINFO_SIZE) {
      throw new SgxError('ERR_EREPORT_INPUT', `TARGETINFO must be ${TARGETINFO_SIZE} bytes`);
    }
    if (!(reportData instanceof Uint8Array) || reportData.length !== 64)
      throw new SgxError('ERR_EREPORT_INPUT', 'REPORTDATA must be 64 bytes');
    const ti = parseTargetInfo(targetInfo);
    const body: ReportBody = {
      cpuSvn: this.cpuSvn,
      miscSelect: id.miscSelect,
      isvExtProdId: Z16,
      attributes: id.attributes,
      mrEnclave: id.mrEnclave,
      mrSigner: id.mrSigner,
      configId: Z64,
      isvProdId: id.isvProdId,
      isvSvn: id.isvSvn,
      configSvn: 0,
      isvFamilyId: Z16,
      reportData,
    };
    const w = new Writer();
    writeReportBody(w, body);
    const raw = w.finish();
    const mac = this.#reportKey(ti.mrEnclave, ti.attributes, ti.miscSelect, this.#reportKeyId).cmac.mac(raw);
    return serializeReport(raw, this.#reportKeyId, mac);
  }

  /**
   * The MAC of a TDREPORT's REPORTMACSTRUCT, made by the emulated TDX module (SEAM) on this CPU for the
   * enclave that will check it: HMAC-SHA-256 under that enclave's REPORT key (current KEYID). Real hardware
   * MACs with a platform key only EVERIFYREPORT2 uses; the emulation targets the TD quoting enclave instead,
   * so it checks the MAC with its own EGETKEY REPORT key (docs/formats-tdx.md).
   */
  seamReportMac(targetInfo: Uint8Array, maced: Uint8Array): { mac: Uint8Array; keyId: Uint8Array } {
    if (!(targetInfo instanceof Uint8Array) || targetInfo.length !== TARGETINFO_SIZE)
      throw new SgxError('ERR_EREPORT_INPUT', `TARGETINFO must be ${TARGETINFO_SIZE} bytes`);
    const ti = parseTargetInfo(targetInfo);
    const key = this.#reportKey(ti.mrEnclave, ti.attributes, ti.miscSelect, this.#reportKeyId).key;
    return {
      mac: new Uint8Array(createHmac('sha256', key).update(maced).digest()),
      keyId: this.#reportKeyId.slice(),
    };
  }

  /** EGETKEY: a 128-bit key for the calling enclave (see docs/emulated-platform.md for which fields each key binds). */
  egetkey(ref: EnclaveRef, keyRequest: Uint8Array): Uint8Array {
    const id = this.#live(ref);
    if (!(keyRequest instanceof Uint8Array) || keyRequest.length !== KEYREQUEST_SIZE) {
      throw new SgxError('ERR_EGETKEY_KEYREQUEST', `KEYREQUEST must be ${KEYREQUEST_SIZE} bytes`);
    }
    if (!isZero(keyRequest.subarray(6, 8)) || !isZero(keyRequest.subarray(78))) {
      throw new SgxError('ERR_EGETKEY_KEYREQUEST', 'KEYREQUEST reserved bytes are not zero');
    }
    const kr = parseKeyRequest(keyRequest);
    if (kr.keyName === KEY_NAME.REPORT) {
      // The REPORT key ignores every request field but KEYID (SDM).
      return this.#reportKey(id.mrEnclave, id.attributes, id.miscSelect, kr.keyId).key.slice();
    }
    if ((kr.keyPolicy & ~ALLOWED_POLICY) !== 0) {
      throw new SgxError(
        'ERR_EGETKEY_KEYREQUEST',
        `KEYPOLICY 0x${kr.keyPolicy.toString(16)} uses bits that need KSS, which is not emulated`,
      );
    }
    if (kr.configSvn !== 0) throw new SgxError('ERR_EGETKEY_KEYREQUEST', 'CONFIGSVN needs KSS, which is not emulated');
    let root: AesCmac;
    switch (kr.keyName) {
      case KEY_NAME.SEAL:
        root = this.#sealRoot;
        break;
      case KEY_NAME.PROVISION:
      case KEY_NAME.PROVISION_SEAL:
        if ((id.attributes.flags & ATTR.PROVISIONKEY) === 0n) {
          throw new SgxError('ERR_EGETKEY_ATTRIBUTE', 'PROVISION keys need the PROVISIONKEY attribute');
        }
        root = kr.keyName === KEY_NAME.PROVISION ? this.#provisionRoot : this.#sealRoot;
        break;
      case KEY_NAME.EINITTOKEN:
        // EINIT never grants EINITTOKEN_KEY (no launch enclave is emulated), so this always refuses.
        throw new SgxError('ERR_EGETKEY_ATTRIBUTE', 'EINITTOKEN key needs the EINITTOKEN_KEY attribute');
      default:
        throw new SgxError('ERR_EGETKEY_KEYREQUEST', `unknown KEYNAME ${kr.keyName}`);
    }
    if (kr.isvSvn > id.isvSvn)
      throw new SgxError('ERR_EGETKEY_ISVSVN', `requested ISVSVN ${kr.isvSvn} is above the enclave's ${id.isvSvn}`);
    if (cpuSvnAbove(kr.cpuSvn, this.cpuSvn)) {
      throw new SgxError(
        'ERR_EGETKEY_CPUSVN',
        `requested CPUSVN ${hex(kr.cpuSvn)} is above the platform's ${hex(this.cpuSvn)}`,
      );
    }
    const mask = { flags: kr.attributeMask.flags | MANDATORY_MASK, xfrm: kr.attributeMask.xfrm };
    const d: KeyDependencies = emptyKeyDependencies(kr.keyName);
    d.isvProdId = id.isvProdId;
    d.isvSvn = kr.isvSvn;
    d.attributes = and(id.attributes, mask);
    d.attributeMask = kr.attributeMask;
    d.cpuSvn = kr.cpuSvn;
    d.miscSelect = (id.miscSelect & kr.miscMask) >>> 0;
    d.miscMask = kr.miscMask;
    if (kr.keyName === KEY_NAME.SEAL) {
      d.ownerEpoch = this.#ownerEpoch;
      d.keyId = kr.keyId;
      d.keyPolicy = kr.keyPolicy;
      if (kr.keyPolicy & KEY_POLICY.MRENCLAVE) d.mrEnclave = id.mrEnclave;
      if (kr.keyPolicy & KEY_POLICY.MRSIGNER) d.mrSigner = id.mrSigner;
    } else {
      // PROVISION and PROVISION_SEAL: bound to the signer, not to the owner epoch nor a key id, so
      // they survive an owner change (the PCK key is derived from them).
      d.mrSigner = id.mrSigner;
    }
    return deriveKey(root, d);
  }

  /** Stops the CPU: every later instruction fails with ERR_PLATFORM_CLOSED. */
  halt(): void {
    this.#halted = true;
    this.#ownerEpoch.fill(0);
    for (const k of this.#reportKeys.values()) k.key.fill(0);
    this.#reportKeys.clear();
  }
}

const Z16 = new Uint8Array(16);
const Z64 = new Uint8Array(64);
const fmt = (a: Attributes) => `{flags 0x${a.flags.toString(16)}, xfrm 0x${a.xfrm.toString(16)}}`;
