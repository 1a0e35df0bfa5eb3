import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeKind } from '../enclave.ts';
import type { Platform } from '../platform.ts';
import { buildQuotingImages, QuotingService } from '../qe/quoting-service.ts';
import { collateralJson } from './collateral.ts';
import { Manufacturer } from './manufacturer.ts';

/**
 * The emulated DCAP quoting side of one platform: an emulated manufacturer (kept in a state
 * directory, so its root and the QE's MRSIGNER stay the same across runs) certifies the platform's
 * PCE, and the platform's QE turns REPORTs into DCAP v3 quotes. Callers hand it to the channel
 * (`channelAttestation(issuer)` in src/channel): the channel never imports the manufacturer.
 */
export interface EmulatedDcapIssuer {
  /** The QE: TARGETINFO for application enclaves, REPORT → quote. */
  backend: QuotingService;
  /** The emulated root CA certificate (DER): the trust anchor relying parties pass explicitly. */
  rootDer: Uint8Array;
  /** The dcap-qvl collateral JSON (DcapQvlCollateral's fields) for this platform's FMSPC. */
  collateral: Record<string, string>;
  stop(): Promise<void>;
}

export interface EmulatedDcapIssuerOptions {
  /** The platform whose QE/PCE are started. */
  platform: Platform;
  /** Keeps the emulated manufacturer in `<stateDir>/manufacturer` (0700). Without it, a fresh one per call. */
  stateDir?: string;
  /** Runtime of the QE and PCE. Default inline. */
  runtime?: RuntimeKind;
}

/** The manufacturer's directory inside the state directory. */
export const MANUFACTURER_DIR = 'manufacturer';

export async function startEmulatedDcapIssuer(opts: EmulatedDcapIssuerOptions): Promise<EmulatedDcapIssuer> {
  const id = opts.platform.identity;
  const tcb = { components: [...id.tcbComponents], pceSvn: id.pceSvn };
  let manufacturer: Manufacturer;
  const dir = opts.stateDir ? join(opts.stateDir, MANUFACTURER_DIR) : undefined;
  if (dir && (await exists(join(dir, 'manufacturer.json')))) {
    manufacturer = await Manufacturer.load(dir); // dates what it issues an hour back by default
    if (manufacturer.ensureFmspc(id.fmspc, tcb, id.pceId)) await manufacturer.save(dir);
  } else {
    manufacturer = await Manufacturer.create();
    manufacturer.ensureFmspc(id.fmspc, tcb, id.pceId);
    void manufacturer.enclaveSigningKey; // created now so it is saved: the QE's MRSIGNER stays stable
    if (dir) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await manufacturer.save(dir);
    }
  }
  const images = buildQuotingImages(manufacturer.enclaveSigningKey, id.pceSvn);
  const quoting = await QuotingService.start(opts.platform, {
    images,
    issuer: manufacturer.pckIssuer('processor'),
    runtime: opts.runtime ?? 'inline',
  });
  return {
    backend: quoting,
    rootDer: manufacturer.root,
    collateral: { ...collateralJson(await manufacturer.collateral(id.fmspc, 'processor')) },
    stop: () => quoting.stop(),
  };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
