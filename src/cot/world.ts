import type { KeyObject } from 'node:crypto';
import { hex } from '../bytes/util.ts';
import type { CollateralBlob } from '../chain/types.ts';
import { generateVendorKey } from '../crypto/rsa3072.ts';
import { collateralJson } from '../sgx/manufacturer/collateral.ts';
import { Manufacturer } from '../sgx/manufacturer/manufacturer.ts';
import { defaultTcbLevels } from '../sgx/manufacturer/tcb-levels.ts';
import { DEFAULT_FMSPC, DEFAULT_PCE_SVN, DEFAULT_TCB_COMPONENTS, Platform } from '../sgx/platform.ts';
import { MeasurementCache } from '../sgx/measurement-cache.ts';
import type { EnclaveImage } from '../sgx/build.ts';
import type { OcallTable, RuntimeKind } from '../sgx/enclave.ts';
import { buildQuotingImages, QuotingService, type QuotingImages } from '../sgx/qe/quoting-service.ts';
import type { QuoteSource } from './builder.ts';
import { buildElementImage, ElementHandle } from './element.ts';

export interface WorldPlatform {
  cloud: string;
  platform: Platform;
  quoting: QuotingService;
  /** Hex PPID: the platform's id in chains. */
  ppid: string;
}

export interface EmulatedWorldOptions {
  clouds?: number;
  platformsPerCloud?: number;
  /** Runtime of the QE/PCE and element enclaves. Default inline. */
  runtime?: RuntimeKind;
  /** TCB level of every platform: 0 = the manufacturer's UpToDate level, 1, 2… lower levels. Default 0. */
  tcbLevel?: number;
  /** Cloud names; default cloud-a, cloud-b, … */
  cloudNames?: string[];
  manufacturer?: Manufacturer;
  /**
   * QE/PCE images already signed by `manufacturer.enclaveSigningKey` (for the world's TCB level's PCESVN):
   * the manufacturer signs them once, offline; passing them keeps that out of a platform boot.
   */
  quotingImages?: QuotingImages;
}

const DEFAULT_TCB = { components: [...DEFAULT_TCB_COMPONENTS], pceSvn: DEFAULT_PCE_SVN };

// The manufacturer dates what it issues an hour back by default (ISSUE_BACKDATE_MS in manufacturer/defaults.ts).

/**
 * Emulated multi-cloud SGX in one process: one emulated manufacturer (root CA, PCK CAs, TCB info,
 * QE identity, CRLs), N clouds of M platforms, each with its own QE/PCE. Used by `catena chain build`,
 * the benchmarks, `catena emulate quote` and the tests.
 */
export class EmulatedWorld implements QuoteSource {
  private readonly collateralByFmspc = new Map<string, CollateralBlob>();
  private readonly elementImages = new Map<string, EnclaveImage>();
  private readonly byPpid = new Map<string, WorldPlatform>();
  private constructor(
    readonly manufacturer: Manufacturer,
    readonly platforms: WorldPlatform[],
    readonly quotingImages: QuotingImages,
    readonly runtime: RuntimeKind,
  ) {
    for (const p of platforms) this.byPpid.set(p.ppid, p);
  }

  static async create(opts: EmulatedWorldOptions = {}): Promise<EmulatedWorld> {
    const clouds = opts.clouds ?? 1;
    const perCloud = opts.platformsPerCloud ?? 1;
    const runtime = opts.runtime ?? 'inline';
    const manufacturer = opts.manufacturer ?? (await Manufacturer.create());
    const levels = defaultTcbLevels(DEFAULT_TCB, new Date());
    manufacturer.ensureFmspc(DEFAULT_FMSPC, DEFAULT_TCB);
    const level = levels[opts.tcbLevel ?? 0];
    if (!level) throw new RangeError(`tcbLevel must be below ${levels.length}`);
    const images = opts.quotingImages ?? buildQuotingImages(manufacturer.enclaveSigningKey, level.pceSvn);
    const platforms: WorldPlatform[] = [];
    // One launch cache for the world's platforms: they all launch the same QE, PCE and element images.
    const measurements = new MeasurementCache();
    try {
      for (let c = 0; c < clouds; c++) {
        const cloud =
          opts.cloudNames?.[c] ?? `cloud-${String.fromCharCode(97 + (c % 26))}${c >= 26 ? Math.floor(c / 26) : ''}`;
        for (let i = 0; i < perCloud; i++) {
          const platform = await Platform.open({
            name: `${cloud}/p${i}`,
            tcbComponents: [...level.components],
            pceSvn: level.pceSvn,
            measurements,
          });
          const quoting = await QuotingService.start(platform, {
            images,
            issuer: manufacturer.pckIssuer('processor'),
            runtime,
          });
          platforms.push({ cloud, platform, quoting, ppid: hex(platform.identity.ppid) });
        }
      }
    } catch (e) {
      for (const p of platforms) await p.platform.close();
      throw e;
    }
    return new EmulatedWorld(manufacturer, platforms, images, runtime);
  }

  /** The emulated root CA certificate (DER): trust it explicitly to accept this world's evidence. */
  get root(): Uint8Array {
    return this.manufacturer.root;
  }

  /** The dcap-qvl-format collateral for an FMSPC, built once per world (valid for the manufacturer's window). */
  async collateralFor(fmspc: Uint8Array = DEFAULT_FMSPC): Promise<CollateralBlob> {
    const k = hex(fmspc);
    let c = this.collateralByFmspc.get(k);
    if (!c) {
      c = { ...collateralJson(await this.manufacturer.collateral(fmspc, 'processor')) };
      this.collateralByFmspc.set(k, c);
    }
    return c;
  }

  /**
   * A platform takes a TCB update (microcode and PCE): its TCB becomes `target` — by default the top
   * level of the manufacturer's newest release for its FMSPC (the `early` one when a recovery is
   * staged) — and its quoting service restarts with a PCE of the new PCESVN, whose new PCK key gets a
   * new PCK certificate from the manufacturer. Element enclaves on it keep running (the emulation does
   * not reboot them); their next quote carries the new PCK certificate.
   */
  async updatePlatformTcb(
    index: number,
    target?: { components: number[]; pceSvn: number },
  ): Promise<{ ppid: string; tcbComponents: number[]; pceSvn: number; pck: Uint8Array }> {
    const p = this.platforms[index];
    if (!p) throw new RangeError(`no platform ${index}`);
    const tcb = target ?? this.manufacturer.tcbLevels(p.platform.identity.fmspc, 'early')[0];
    const images = buildQuotingImages(this.manufacturer.enclaveSigningKey, tcb.pceSvn);
    await p.platform.updateTcb({ tcbComponents: [...tcb.components], pceSvn: tcb.pceSvn });
    await p.quoting.stop();
    p.quoting = await QuotingService.start(p.platform, {
      images,
      issuer: this.manufacturer.pckIssuer('processor'),
      runtime: this.runtime,
    });
    // Collateral is reloaded, not just dropped: the agent serves it with every quote.
    this.refreshCollateral();
    await this.collateralFor();
    return { ppid: p.ppid, tcbComponents: [...tcb.components], pceSvn: tcb.pceSvn, pck: p.quoting.pckChain[0] };
  }

  /** Drops cached collateral (after a TCB recovery or a revocation). */
  refreshCollateral(): void {
    this.collateralByFmspc.clear();
  }

  elementImage(vendorKey: KeyObject, isvProdId = 1, isvSvn = 1, debug = false): EnclaveImage {
    const k = `${hex(Buffer.from(vendorKey.export({ format: 'der', type: 'pkcs1' })).subarray(0, 32))}/${isvProdId}/${isvSvn}/${debug}`;
    let img = this.elementImages.get(k);
    if (!img) {
      img = buildElementImage(vendorKey, { isvProdId, isvSvn, debug });
      this.elementImages.set(k, img);
    }
    return img;
  }

  /** Loads an element enclave on platform `index` (`ocalls`: extra host functions, e.g. an RA-TLS relay's). */
  loadElement(index: number, image: EnclaveImage, opts: { ocalls?: OcallTable } = {}): Promise<ElementHandle> {
    const p = this.platforms[index];
    if (!p) throw new RangeError(`no platform ${index}`);
    return ElementHandle.load(p.platform, image, {
      runtime: this.runtime,
      cloud: p.cloud,
      ...(opts.ocalls ? { ocalls: opts.ocalls } : {}),
    });
  }

  // QuoteSource
  private platformOf(child: ElementHandle): WorldPlatform {
    const p = this.byPpid.get(child.platformPpid);
    if (!p) throw new Error(`element on unknown platform ${child.platformPpid}`);
    return p;
  }
  qeTargetInfo(child: ElementHandle): Uint8Array {
    return this.platformOf(child).quoting.targetInfo();
  }
  quote(child: ElementHandle, report: Uint8Array): Promise<Uint8Array> {
    return this.platformOf(child).quoting.quote(report);
  }
  collateral(_child: ElementHandle): CollateralBlob {
    const c = this.collateralByFmspc.get(hex(DEFAULT_FMSPC));
    if (!c) throw new Error('collateral not loaded: await world.collateralFor() first');
    return c;
  }

  async close(): Promise<void> {
    for (const p of this.platforms) {
      await p.quoting.stop();
      await p.platform.close();
    }
  }
}

export { generateVendorKey };
