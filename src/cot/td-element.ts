import { fromHex, hex } from '../bytes/util.ts';
import { elementReportData } from '../chain/signing.ts';
import type { ChainPolicy, CollateralBlob, Link, LinkAppraisal } from '../chain/types.ts';
import { workloadEventData } from '../chain/layers.ts';
import type { TdEvent } from '../formats/tdx-event-log.ts';
import { writeEventLog } from '../formats/write-tdx-event-log.ts';
import { collateralJson } from '../sgx/manufacturer/collateral.ts';
import type { Manufacturer } from '../sgx/manufacturer/manufacturer.ts';
import { DEFAULT_FMSPC, DEFAULT_PCE_SVN, DEFAULT_TCB_COMPONENTS, Platform } from '../sgx/platform.ts';
import { QuotingService } from '../sgx/qe/quoting-service.ts';
import { bootEvents } from '../tdx/measured-boot.ts';
import { buildTdImage } from '../tdx/td-image.ts';
import { buildTdQuotingImages } from '../tdx/td-quoting.ts';
import { TdxModule, type TrustDomain } from '../tdx/tdx-module.ts';
import { admitMeasured, admitRemote, createElementKey, type ElementKey } from './element-core.ts';

/**
 * Cross-layer elements (issue 16): an emulated TDX host (platform, TDX module, TD QE), the TDs it runs
 * and the workloads each TD measured into its RTMR3. A TD's and a workload's element key is created in
 * the guest (here: this object, standing for the TD's memory) and never leaves it; both admit children
 * with the same admission code as an element enclave (element-core.ts), so an SGX enclave, a TD or a
 * workload signs a link after the very checks a verifier repeats.
 */
export class TdxHost {
  private collateralBlob?: CollateralBlob;
  private constructor(
    readonly manufacturer: Manufacturer,
    readonly platform: Platform,
    readonly module: TdxModule,
    readonly quoting: QuotingService,
    readonly cloud: string,
  ) {}

  /** Boots a TDX platform of `manufacturer` (its DEFAULT_FMSPC levels must exist) with its TD QE. */
  static async open(manufacturer: Manufacturer, name: string, cloud: string): Promise<TdxHost> {
    const platform = await Platform.open({
      name,
      tcbComponents: [...DEFAULT_TCB_COMPONENTS],
      pceSvn: DEFAULT_PCE_SVN,
    });
    try {
      const quoting = await QuotingService.start(platform, {
        images: buildTdQuotingImages(manufacturer.enclaveSigningKey, DEFAULT_PCE_SVN),
        issuer: manufacturer.pckIssuer('processor'),
        runtime: 'inline',
      });
      return new TdxHost(manufacturer, platform, new TdxModule(platform), quoting, cloud);
    } catch (e) {
      await platform.close();
      throw e;
    }
  }

  get ppid(): string {
    return hex(this.platform.identity.ppid);
  }

  /** The TDX collateral (TCB info id TDX, TD_QE identity) in dcap-qvl JSON form, built once. */
  async collateral(): Promise<CollateralBlob> {
    this.collateralBlob ??= { ...collateralJson(await this.manufacturer.tdxCollateral(DEFAULT_FMSPC)) };
    return this.collateralBlob;
  }

  /** Builds, boots (measured boot, workloads into RTMR3) and starts a TD; `debug` sets TD_ATTRIBUTES.DEBUG. */
  launchTd(opts: { workloads?: string[]; debug?: boolean } = {}): TdElement {
    const td = this.module.createTd(buildTdImage({ debug: opts.debug ?? false }));
    for (const e of bootEvents({ workloads: opts.workloads ?? [] })) td.extend(e);
    return new TdElement(this, td);
  }

  async close(): Promise<void> {
    await this.quoting.stop();
    await this.platform.close();
  }
}

/** What admits children: an element enclave's handle, a TD or a workload. */
export interface Admitter {
  readonly elementKey: Uint8Array;
  readonly platformPpid: string;
  admitRemote(
    draft: Omit<Link, 'signature' | 'appraisal'>,
    quote: Uint8Array,
    collateral: CollateralBlob,
    at: string,
    root: Uint8Array,
    policy: ChainPolicy,
    depth: number,
  ): Promise<{ appraisal: LinkAppraisal; signature: string }>;
}

/** A running TD with its element key. */
export class TdElement implements Admitter {
  private readonly key: ElementKey = createElementKey();
  /** The event log the TD hands out; a test may alter it (a log that does not replay). */
  events: TdEvent[];
  constructor(
    readonly host: TdxHost,
    readonly td: TrustDomain,
  ) {
    this.events = td.events.map((e) => ({ ...e }));
  }
  get elementKey(): Uint8Array {
    return this.key.publicRaw;
  }
  get platformPpid(): string {
    return this.host.ppid;
  }
  get cloud(): string {
    return this.host.cloud;
  }

  /** A TD quote (v4) whose REPORTDATA binds the element key to the chain and the parent's nonce, and the event log. */
  async evidence(chainId: string, nonceHex: string): Promise<{ quote: Uint8Array; eventLog: Uint8Array }> {
    const rd = elementReportData(chainId, this.key.publicRaw, fromHex(nonceHex, 32, 'nonce'));
    const report = this.td.report(this.host.quoting.targetInfo(), rd);
    return { quote: await this.host.quoting.quoteTd(report, 4), eventLog: writeEventLog(this.events) };
  }

  /** As parent: checks a remote child's quote with the DCAP verifier and signs the link with its key. */
  readonly admitRemote: Admitter['admitRemote'] = (...args) => admitRemote(this.key, ...args);

  /** Signs the measured link of one of its workloads (checked against its own event log). */
  admitMeasured(draft: Omit<Link, 'signature'>, policy: ChainPolicy, depth: number): string {
    return admitMeasured(this.key, draft, this.td.events, policy, depth);
  }

  /** The workload the TD measured with this image digest (its first RTMR3 event naming it), with a fresh key. */
  workload(imageDigest: string): WorkloadElement {
    const data = workloadEventData(imageDigest);
    const i = this.td.events.findIndex((e) => e.mrIndex === 4 && new TextDecoder().decode(e.data) === data);
    return new WorkloadElement(this, imageDigest, i);
  }
}

/** A workload inside a TD: its element key, its image digest and the index of the event that measured it (-1: none). */
export class WorkloadElement implements Admitter {
  private readonly key: ElementKey = createElementKey();
  constructor(
    readonly td: TdElement,
    readonly imageDigest: string,
    readonly event: number,
  ) {}
  get elementKey(): Uint8Array {
    return this.key.publicRaw;
  }
  get platformPpid(): string {
    return this.td.platformPpid;
  }
  get cloud(): string {
    return this.td.cloud;
  }
  /** As parent: checks a remote child's quote with the DCAP verifier and signs the link with its key. */
  readonly admitRemote: Admitter['admitRemote'] = (...args) => admitRemote(this.key, ...args);
}
