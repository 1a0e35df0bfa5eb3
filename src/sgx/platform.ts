import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { equal, fromHex, hex } from '../bytes/util.ts';
import { randomBytes } from '../crypto/random.ts';
import { sha256Parts } from '../crypto/sha256.ts';
import { ATTR, type Attributes } from '../formats/attributes.ts';
import type { EnclaveImage } from './build.ts';
import { Cpu, ROOT_SECRETS_SIZE, type EnclaveIdentity } from './cpu.ts';
import type { EnclaveHandle, OcallTable, RuntimeKind } from './enclave.ts';
import { SgxError } from './errors.ts';
import { MeasurementCache } from './measurement-cache.ts';
import { startInline } from './runtime/inline.ts';
import { startIsolated } from './runtime/isolated.ts';
import { DEFAULT_MODULE_DIR, materializeModule } from './runtime/module-store.ts';

/**
 * An emulated SGX platform: identity fields (those a PCK certificate carries), a CPU holding the
 * root secrets, and the loader that runs EINIT and starts enclaves in a runtime.
 *
 * With `dataDir`, the platform persists `platform.json` (public identity) and `root-secrets.bin`
 * (mode 0600: magic ‖ OWNEREPOCH ‖ report root ‖ seal root ‖ provisioning root): reopening the
 * same directory gives the same identity and the same keys. Without it the platform is ephemeral.
 * The secrets are plain bytes on the host's disk: emulation protects nothing from the host.
 */
export interface PlatformOptions {
  dataDir?: string;
  name?: string;
  /** Current CPUSVN (16 bytes). Default: the 16 TCB components as bytes. On reopen, a new value is a TCB update and is persisted. */
  cpuSvn?: Uint8Array;
  pceSvn?: number;
  pceId?: number;
  fmspc?: Uint8Array;
  /** The 16 SGX TCB component SVNs. */
  tcbComponents?: number[];
  /** Emulated launch control: MRSIGNERs allowed the PROVISIONKEY attribute (see allowProvisionKey). */
  provisionKeySigners?: Uint8Array[];
  /** Where measured module text is written to be imported (default `<package>/.catena/enclave-modules`). */
  moduleDir?: string;
  /** Launch caches (parsed images and SIGSTRUCTs); share one between the platforms of a world. Default: the platform's own. */
  measurements?: MeasurementCache;
}

export interface PlatformIdentity {
  id: string;
  name: string;
  ppid: Uint8Array;
  fmspc: Uint8Array;
  pceId: number;
  pceSvn: number;
  cpuSvn: Uint8Array;
  tcbComponents: number[];
}

export interface LoadOptions {
  /** Default 'isolated'. */
  runtime?: RuntimeKind;
  /** Host functions the enclave may call with ctx.ocall(name, ...args). */
  ocalls?: OcallTable;
  /** Request (or refuse) the DEBUG attribute; default: what the SIGSTRUCT says. A mismatch fails EINIT. */
  debug?: boolean;
  /** Isolated runtime: how long the worker may take to load the module (default 60 s, or $CATENA_ENCLAVE_LAUNCH_TIMEOUT_MS). */
  launchTimeoutMs?: number;
}

export const DEFAULT_FMSPC = fromHex('00ca7e4a0000');
export const DEFAULT_PCE_ID = 0;
export const DEFAULT_PCE_SVN = 13;
export const DEFAULT_TCB_COMPONENTS: readonly number[] = [2, 2, 2, 2, 3, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0];

const SECRETS_MAGIC = new TextEncoder().encode('CATENA-ROOTS\0\0\0\x01');
const IDENTITY_FILE = 'platform.json';
const SECRETS_FILE = 'root-secrets.bin';
function dataErr(msg: string): SgxError {
  return new SgxError('ERR_PLATFORM_DATA', msg);
}

function checkComponents(c: unknown): number[] {
  if (!Array.isArray(c) || c.length !== 16 || !c.every((x) => Number.isInteger(x) && x >= 0 && x <= 255)) {
    throw new SgxError('ERR_ARGUMENT', 'tcbComponents must be 16 integers in [0, 255]');
  }
  return [...(c as number[])];
}
function checkU16(v: unknown, name: string): number {
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0xffff)
    throw new SgxError('ERR_ARGUMENT', `${name} must be an integer in [0, 65535]`);
  return v as number;
}
function checkBytes(v: unknown, len: number, name: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== len)
    throw new SgxError('ERR_ARGUMENT', `${name} must be ${len} bytes`);
  return v.slice();
}

interface StoredIdentity {
  version: 1;
  id: string;
  name: string;
  ppid: string;
  fmspc: string;
  pceId: number;
  pceSvn: number;
  cpuSvn: string;
  tcbComponents: number[];
}

function freshIdentity(opts: PlatformOptions): PlatformIdentity {
  const ppid = randomBytes(16);
  const tcbComponents = checkComponents(
    opts.tcbComponents ?? (opts.cpuSvn ? Array.from(opts.cpuSvn) : DEFAULT_TCB_COMPONENTS),
  );
  const id = hex(sha256Parts(new TextEncoder().encode('catena platform id'), ppid)).slice(0, 16);
  return {
    id,
    name: opts.name ?? `platform-${id.slice(0, 8)}`,
    ppid,
    fmspc: opts.fmspc ? checkBytes(opts.fmspc, 6, 'fmspc') : DEFAULT_FMSPC.slice(),
    pceId: checkU16(opts.pceId ?? DEFAULT_PCE_ID, 'pceId'),
    pceSvn: checkU16(opts.pceSvn ?? DEFAULT_PCE_SVN, 'pceSvn'),
    cpuSvn: opts.cpuSvn ? checkBytes(opts.cpuSvn, 16, 'cpuSvn') : Uint8Array.from(tcbComponents),
    tcbComponents,
  };
}

function toStored(i: PlatformIdentity): StoredIdentity {
  return {
    version: 1,
    id: i.id,
    name: i.name,
    ppid: hex(i.ppid),
    fmspc: hex(i.fmspc),
    pceId: i.pceId,
    pceSvn: i.pceSvn,
    cpuSvn: hex(i.cpuSvn),
    tcbComponents: i.tcbComponents,
  };
}

function fromStored(j: StoredIdentity): PlatformIdentity {
  if (j?.version !== 1) throw dataErr(`${IDENTITY_FILE}: unsupported version`);
  try {
    return {
      id: String(j.id),
      name: String(j.name),
      ppid: fromHex(j.ppid, 16, 'ppid'),
      fmspc: fromHex(j.fmspc, 6, 'fmspc'),
      pceId: checkU16(j.pceId, 'pceId'),
      pceSvn: checkU16(j.pceSvn, 'pceSvn'),
      cpuSvn: fromHex(j.cpuSvn, 16, 'cpuSvn'),
      tcbComponents: checkComponents(j.tcbComponents),
    };
  } catch (e) {
    throw dataErr(`${IDENTITY_FILE}: ${(e as Error).message}`);
  }
}

async function writeAtomic(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const tmp = `${path}.${hex(randomBytes(6))}.tmp`;
  await writeFile(tmp, data, { mode });
  await rename(tmp, path);
}

/** Reads the root secrets, creating them (exclusively, so two racing opens agree) if absent. */
async function rootSecrets(dir: string): Promise<Uint8Array> {
  const path = join(dir, SECRETS_FILE);
  const fresh = new Uint8Array(SECRETS_MAGIC.length + ROOT_SECRETS_SIZE);
  fresh.set(SECRETS_MAGIC);
  fresh.set(randomBytes(ROOT_SECRETS_SIZE), SECRETS_MAGIC.length);
  try {
    const fh = await open(path, 'wx', 0o600);
    try {
      await fh.writeFile(fresh);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  fresh.fill(0);
  const b = new Uint8Array(await readFile(path));
  if (
    b.length !== SECRETS_MAGIC.length + ROOT_SECRETS_SIZE ||
    !equal(b.subarray(0, SECRETS_MAGIC.length), SECRETS_MAGIC)
  ) {
    throw dataErr(`${SECRETS_FILE}: not a Catena root secret file`);
  }
  const secrets = b.slice(SECRETS_MAGIC.length);
  b.fill(0);
  return secrets;
}

export class Platform {
  readonly #cpu: Cpu;
  readonly #handles = new Set<EnclaveHandle>();
  readonly #provisionSigners = new Set<string>();
  readonly #moduleDir: string;
  readonly #measurements: MeasurementCache;
  #closed = false;
  #identity: Readonly<PlatformIdentity>;
  readonly #dataDir: string | undefined;

  private constructor(identity: PlatformIdentity, secrets: Uint8Array, opts: PlatformOptions) {
    this.#identity = Object.freeze(identity);
    this.#dataDir = opts.dataDir;
    this.#cpu = new Cpu(secrets, identity.cpuSvn); // zeroes `secrets`
    for (const s of opts.provisionKeySigners ?? []) this.allowProvisionKey(s);
    this.#moduleDir = opts.moduleDir ?? DEFAULT_MODULE_DIR;
    this.#measurements = opts.measurements ?? new MeasurementCache();
  }

  /** Boots a platform: fresh and ephemeral, or the one persisted under `dataDir` (created on first use). */
  static async open(opts: PlatformOptions = {}): Promise<Platform> {
    if (!opts.dataDir) return new Platform(freshIdentity(opts), randomBytes(ROOT_SECRETS_SIZE), opts);
    const dir = opts.dataDir;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const secrets = await rootSecrets(dir);
    const idPath = join(dir, IDENTITY_FILE);
    let identity: PlatformIdentity;
    try {
      identity = fromStored(JSON.parse(await readFile(idPath, 'utf8')) as StoredIdentity);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        secrets.fill(0);
        throw e instanceof SgxError ? e : dataErr(`${IDENTITY_FILE}: ${(e as Error).message}`);
      }
      identity = freshIdentity(opts);
      try {
        const fh = await open(idPath, 'wx', 0o644);
        await fh.writeFile(JSON.stringify(toStored(identity), null, 2) + '\n');
        await fh.close();
      } catch (e2) {
        if ((e2 as NodeJS.ErrnoException).code !== 'EEXIST') throw e2;
        identity = fromStored(JSON.parse(await readFile(idPath, 'utf8')) as StoredIdentity);
      }
    }
    // Fixed at manufacture: a different FMSPC or PCE-ID means the wrong data directory.
    if (opts.fmspc && !equal(opts.fmspc, identity.fmspc)) {
      secrets.fill(0);
      throw dataErr(`platform in ${dir} has FMSPC ${hex(identity.fmspc)}, not ${hex(opts.fmspc)}`);
    }
    if (opts.pceId !== undefined && opts.pceId !== identity.pceId) {
      secrets.fill(0);
      throw dataErr(`platform in ${dir} has PCE-ID ${identity.pceId}, not ${opts.pceId}`);
    }
    // TCB updates (microcode / PCE): new SVNs given on reopen replace the stored ones.
    const updated: PlatformIdentity = {
      ...identity,
      tcbComponents: opts.tcbComponents ? checkComponents(opts.tcbComponents) : identity.tcbComponents,
      pceSvn: opts.pceSvn !== undefined ? checkU16(opts.pceSvn, 'pceSvn') : identity.pceSvn,
      cpuSvn: opts.cpuSvn
        ? checkBytes(opts.cpuSvn, 16, 'cpuSvn')
        : opts.tcbComponents
          ? Uint8Array.from(opts.tcbComponents)
          : identity.cpuSvn,
    };
    if (JSON.stringify(toStored(updated)) !== JSON.stringify(toStored(identity))) {
      await writeAtomic(idPath, JSON.stringify(toStored(updated), null, 2) + '\n', 0o644);
    }
    return new Platform(updated, secrets, opts);
  }

  get identity(): Readonly<PlatformIdentity> {
    return this.#identity;
  }

  /**
   * Takes a TCB update (microcode and/or PCE): new SGX TCB component SVNs (and CPUSVN, by default the
   * components as bytes) and PCESVN, never below the current ones. Persisted with `dataDir`. The PCE's
   * ISVSVN is its image's: the quoting service must be restarted with a PCE image of the new PCESVN,
   * which derives a new PCK key the manufacturer certifies (EmulatedWorld.updatePlatformTcb does both).
   */
  async updateTcb(tcb: {
    tcbComponents: number[];
    pceSvn?: number;
    cpuSvn?: Uint8Array;
  }): Promise<Readonly<PlatformIdentity>> {
    const components = checkComponents(tcb.tcbComponents);
    const pceSvn = checkU16(tcb.pceSvn ?? this.#identity.pceSvn, 'pceSvn');
    const cpuSvn = tcb.cpuSvn ? checkBytes(tcb.cpuSvn, 16, 'cpuSvn') : Uint8Array.from(components);
    const cur = this.#identity;
    if (components.some((c, i) => c < cur.tcbComponents[i]) || pceSvn < cur.pceSvn)
      throw new SgxError('ERR_ARGUMENT', 'a TCB update cannot lower a TCB component or the PCESVN');
    this.#cpu.updateCpuSvn(cpuSvn);
    const next: PlatformIdentity = { ...cur, tcbComponents: components, pceSvn, cpuSvn };
    if (this.#dataDir)
      await writeAtomic(join(this.#dataDir, IDENTITY_FILE), JSON.stringify(toStored(next), null, 2) + '\n', 0o644);
    this.#identity = Object.freeze(next);
    return this.#identity;
  }

  /** Emulated launch control: allow enclaves signed by `mrSigner` the PROVISIONKEY attribute (as Intel's launch policy does for its QE/PCE). */
  allowProvisionKey(mrSigner: Uint8Array): void {
    this.#provisionSigners.add(hex(checkBytes(mrSigner, 32, 'mrSigner')));
  }

  /** The emulated TDX module's REPORTMACSTRUCT MAC for a target enclave on this platform (see Cpu.seamReportMac). */
  seamReportMac(targetInfo: Uint8Array, maced: Uint8Array): { mac: Uint8Array; keyId: Uint8Array } {
    return this.#cpu.seamReportMac(targetInfo, maced);
  }

  /** Live enclaves on this platform. */
  get enclaveCount(): number {
    return this.#handles.size;
  }

  /**
   * Loads an enclave: the CPU measures the SGXS stream, EINIT checks the SIGSTRUCT against it and
   * fixes the identity, then the runtime starts the measured module text.
   */
  async loadEnclave(image: Pick<EnclaveImage, 'sgxs' | 'sigstruct'>, opts: LoadOptions = {}): Promise<EnclaveHandle> {
    if (this.#closed) throw new SgxError('ERR_PLATFORM_CLOSED', 'the platform was closed');
    const runtime = opts.runtime ?? 'isolated';
    if (runtime !== 'isolated' && runtime !== 'inline')
      throw new SgxError('ERR_ARGUMENT', `unknown runtime ${String(runtime)}`);
    if (!(image?.sgxs instanceof Uint8Array) || !(image.sigstruct instanceof Uint8Array)) {
      throw new SgxError('ERR_ARGUMENT', 'image must carry sgxs and sigstruct bytes');
    }
    // Measurement: hashing the stream is MRENCLAVE; parsing and module extraction are cached per hash.
    const mrEnclave = this.#measurements.measure(image.sgxs);
    const loaded = this.#measurements.image(hex(mrEnclave), image.sgxs);
    const sig = this.#measurements.sigstruct(image.sigstruct);
    const requested: Attributes = { flags: sig.s.attributes.flags & ~ATTR.INIT, xfrm: sig.s.attributes.xfrm };
    if (opts.debug !== undefined)
      requested.flags = opts.debug ? requested.flags | ATTR.DEBUG : requested.flags & ~ATTR.DEBUG;
    const { ref, identity } = this.#cpu.einit(
      {
        mrEnclave: loaded.mrEnclave,
        attributes: requested,
        miscSelect: sig.s.miscSelect,
        sigstruct: sig.s,
        signatureOk: sig.ok,
        signatureFailures: sig.failures,
        mrSigner: sig.mrSigner,
      },
      (mrSigner) => this.#provisionSigners.has(hex(mrSigner)),
    );
    let handle: EnclaveHandle | undefined;
    const onDestroy = () => {
      this.#cpu.eremove(ref);
      if (handle) this.#handles.delete(handle);
    };
    try {
      const url = materializeModule(
        loaded.moduleText,
        loaded.moduleHash,
        this.#moduleDir,
        this.#measurements.moduleFiles,
      );
      handle =
        runtime === 'inline'
          ? await startInline(this.#cpu, ref, identity, url, this.identity.id, opts.ocalls ?? {}, onDestroy)
          : await startIsolated(
              this.#cpu,
              ref,
              identity,
              url,
              this.identity.id,
              opts.ocalls ?? {},
              onDestroy,
              opts.launchTimeoutMs,
            );
    } catch (e) {
      this.#cpu.eremove(ref);
      throw e;
    }
    if (this.#closed) {
      await handle.destroy();
      throw new SgxError('ERR_PLATFORM_CLOSED', 'the platform was closed');
    }
    this.#handles.add(handle);
    return handle;
  }

  /** Destroys every enclave and halts the CPU. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#handles].map((h) => h.destroy()));
    this.#handles.clear();
    this.#cpu.halt();
  }
}

export type { EnclaveIdentity };
