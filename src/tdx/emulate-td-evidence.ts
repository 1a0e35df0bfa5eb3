import { sha384 } from '../crypto/sha384.ts';
import { writeEventLog } from '../formats/write-tdx-event-log.ts';
import { replayRtmrs } from '../formats/replay-rtmrs.ts';
import { Manufacturer, type CollateralSet } from '../sgx/manufacturer/index.ts';
import { DEFAULT_FMSPC, DEFAULT_PCE_SVN, DEFAULT_TCB_COMPONENTS, Platform } from '../sgx/platform.ts';
import { QuotingService } from '../sgx/qe/quoting-service.ts';
import { bootEvents } from './measured-boot.ts';
import { measureMrtd } from './mrtd.ts';
import { buildTdImage } from './td-image.ts';
import { tdPolicyOf } from './td-policy-of.ts';
import { buildTdQuotingImages } from './td-quoting.ts';
import { tdEvidenceVariant } from './td-variants.ts';
import { TdxModule, defaultTdxModule } from './tdx-module.ts';
import { TDINFO_OFFSET } from '../formats/tdreport.ts';

export interface EmulatedTdEvidence {
  variant?: string;
  /** Undefined when the TD QE refused the TDREPORT (tampered-tdreport): `refusal` says why. */
  quote?: Uint8Array;
  refusal?: { code: string; message: string };
  collateral: CollateralSet;
  root: Uint8Array;
  eventLog: Uint8Array;
  /** The policy JSON the good TD satisfies. */
  policy: Record<string, unknown>;
  mrTd: Uint8Array;
  rtmrs: Uint8Array[];
  version: 4 | 5;
}

export interface EmulateTdOptions {
  variant?: string;
  version?: 4 | 5;
  reportData?: Uint8Array;
  /** Workload image digests measured into RTMR3. */
  workloads?: string[];
  /** Quote on a platform of this manufacturer (its DEFAULT_FMSPC levels must exist), e.g. one behind a PCS; default a fresh one. */
  manufacturer?: Manufacturer;
}

const BACKDATE_MS = 3_600_000;

/**
 * Boots an emulated manufacturer, one platform with its PCE, TD QE and TDX module, builds and boots a
 * TD (MRTD from its image, RTMR0–3 from its measured boot), and quotes its TDREPORT; then applies the
 * variant (td-variants.ts). The good evidence verifies at the time of emulation under the emulated root.
 */
export async function emulateTdEvidence(opts: EmulateTdOptions = {}): Promise<EmulatedTdEvidence> {
  const variant = opts.variant === undefined ? undefined : tdEvidenceVariant(opts.variant).name;
  const v = (n: string) => variant === n;
  const version = v('service-td-bound') ? 5 : (opts.version ?? 4);
  const current = { components: [...DEFAULT_TCB_COMPONENTS], pceSvn: DEFAULT_PCE_SVN };
  let m = opts.manufacturer;
  if (!m) {
    m = await Manufacturer.create({ clock: () => new Date(Date.now() - BACKDATE_MS) });
    m.ensureFmspc(DEFAULT_FMSPC, current);
  }

  const goodImage = buildTdImage();
  const image = buildTdImage({
    debug: v('debug-td'),
    ...(v('wrong-mrtd') ? { firmware: 'catena-tdvf-1.0-patched' } : {}),
  });
  const workloads = opts.workloads ?? ['sha256:5b0d5a3c1f1e2d4c6b8a9e7f0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a69788796'];
  const platform = await Platform.open({
    name: 'emulated/td0',
    tcbComponents: current.components,
    pceSvn: current.pceSvn,
  });
  let quote: Uint8Array | undefined;
  let refusal: EmulatedTdEvidence['refusal'];
  let events;
  let mrTd: Uint8Array;
  try {
    const module = new TdxModule(platform, {
      ...defaultTdxModule(),
      ...(v('tdx-module-mismatch') ? { mrSignerSeam: sha384(new TextEncoder().encode('another module signer')) } : {}),
    });
    const td = module.createTd(
      image,
      v('service-td-bound') ? { servTdHash: sha384(new TextEncoder().encode('a migration service TD')) } : {},
    );
    mrTd = td.mrTd;
    for (const e of bootEvents({ workloads })) td.extend(e);
    events = td.events.map((e) => ({ ...e }));
    const quoting = await QuotingService.start(platform, {
      images: buildTdQuotingImages(m.enclaveSigningKey, current.pceSvn),
      issuer: m.pckIssuer('processor'),
      runtime: 'inline',
    });
    try {
      const rd = new Uint8Array(64);
      if (opts.reportData) rd.set(opts.reportData.subarray(0, 64));
      const report = td.report(quoting.targetInfo(), rd);
      // MRTD's first byte, in TDINFO after ATTRIBUTES and XFAM.
      if (v('tampered-tdreport')) report[TDINFO_OFFSET + 16] ^= 0x01;
      try {
        quote = await quoting.quoteTd(report, version);
      } catch (e) {
        const err = e as { code?: string; message: string };
        refusal = { code: err.code ?? 'ERR_TDREPORT_MAC', message: err.message };
      }
    } finally {
      await quoting.stop();
    }
  } finally {
    await platform.close();
  }
  // The event log the TD hands out; the mismatch variant names another kernel than the one extended.
  if (v('rtmr-event-log-mismatch')) {
    const i = events.findIndex((e) => e.mrIndex === 2);
    events[i] = { ...events[i], digest: sha384(new TextEncoder().encode('vmlinuz-6.8-evil')) };
  }
  const goodRtmrs = replayRtmrs(bootEvents({ workloads }));
  const collateral = await m.tdxCollateral(DEFAULT_FMSPC);
  const policy = tdPolicyOf(v('wrong-mrtd') ? measureMrtd(goodImage) : mrTd, goodImage.config, goodRtmrs);
  return {
    ...(variant ? { variant } : {}),
    ...(quote ? { quote } : {}),
    ...(refusal ? { refusal } : {}),
    collateral,
    root: m.root,
    eventLog: writeEventLog(events),
    policy,
    mrTd,
    rtmrs: [...goodRtmrs],
    version,
  };
}
