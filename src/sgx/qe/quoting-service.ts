import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KeyObject } from 'node:crypto';
import { hex } from '../../bytes/util.ts';
import { p256PublicFromRaw } from '../../crypto/ecdsa.ts';
import { sha256 } from '../../crypto/sha256.ts';
import { buildEnclave, type EnclaveImage } from '../build.ts';
import type { EnclaveHandle, RuntimeKind } from '../enclave.ts';
import type { Platform } from '../platform.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const QE_SOURCE = readFileSync(join(HERE, 'qe-enclave.js'), 'utf8');
const PCE_SOURCE = readFileSync(join(HERE, 'pce-enclave.js'), 'utf8');

/** Intel's QE3 and PCE product ids; the emulated ones keep them so QE identities look familiar. */
export const QE_ISVPRODID = 1;
export const PCE_ISVPRODID = 0;
export const QE_ISVSVN = 8;

/** What the QE/PCE need from the manufacturer: a PCK certificate for the PCE's public key. */
export interface PckIssuer {
  issuePck(
    platform: {
      ppid: Uint8Array;
      fmspc: Uint8Array;
      pceId: number;
      pceSvn: number;
      cpuSvn: Uint8Array;
      tcbComponents: number[];
    },
    pckPublicKey: KeyObject,
  ): Promise<{ pck: Uint8Array; chain: Uint8Array[] }>; // leaf DER; issuer chain DERs up to the root
}

/** The QE and PCE images, signed once by the manufacturer's enclave-signing key. */
export interface QuotingImages {
  qe: EnclaveImage;
  pce: EnclaveImage;
}

export function buildQuotingImages(vendorKey: KeyObject, pceSvn: number): QuotingImages {
  return {
    qe: buildEnclave(QE_SOURCE, { isvProdId: QE_ISVPRODID, isvSvn: QE_ISVSVN, provisionKey: true }, vendorKey, {
      date: '20260101',
    }),
    pce: buildEnclave(PCE_SOURCE, { isvProdId: PCE_ISVPRODID, isvSvn: pceSvn, provisionKey: true }, vendorKey, {
      date: '20260101',
    }),
  };
}

const pem = (der: Uint8Array) =>
  `-----BEGIN CERTIFICATE-----\n${Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;

/**
 * A platform's quoting service: the PCE (PCK key inside), the QE (attestation key inside, certified
 * by the PCE), and the PCK certificate the manufacturer issued for the PCE's key. Quotes come out
 * in Intel's DCAP v3 format with certification data type 5.
 */
export class QuotingService {
  private constructor(
    private readonly qe: EnclaveHandle,
    private readonly pce: EnclaveHandle,
    readonly pckChain: Uint8Array[],
    readonly attestationKey: Uint8Array,
  ) {}

  /**
   * Starts QE and PCE on `platform`. With `stateDir`, the QE's sealed attestation key is kept there,
   * so a restarted platform keeps its attestation key (sealing works across restarts).
   */
  static async start(
    platform: Platform,
    opts: { images: QuotingImages; issuer: PckIssuer; runtime?: RuntimeKind; stateDir?: string },
  ): Promise<QuotingService> {
    platform.allowProvisionKey(opts.images.qe.mrSigner);
    const runtime = opts.runtime ?? 'inline';
    const pce = await platform.loadEnclave(opts.images.pce, { runtime });
    const qe = await platform.loadEnclave(opts.images.qe, { runtime });
    try {
      const { pckPublicKey, pceSvn } = (await pce.ecall('init')) as { pckPublicKey: Uint8Array; pceSvn: number };
      const id = platform.identity;
      const issued = await opts.issuer.issuePck(
        { ppid: id.ppid, fmspc: id.fmspc, pceId: id.pceId, pceSvn, cpuSvn: id.cpuSvn, tcbComponents: id.tcbComponents },
        p256PublicFromRaw(pckPublicKey),
      );
      const sealedPath = opts.stateDir
        ? join(opts.stateDir, `qe-attestation-key-${hex(sha256(opts.images.qe.mrEnclave)).slice(0, 16)}.sealed`)
        : undefined;
      let sealed: Uint8Array | undefined;
      if (sealedPath)
        sealed = await readFile(sealedPath).then(
          (b) => new Uint8Array(b),
          () => undefined,
        );
      const init = (await qe.ecall('init', pce.targetInfo(), sealed)) as {
        sealedKey: Uint8Array;
        qeReport: Uint8Array;
        attestationKey: Uint8Array;
      };
      if (sealedPath && !sealed) {
        await mkdir(dirname(sealedPath), { recursive: true });
        await writeFile(sealedPath, init.sealedKey, { mode: 0o600 });
      }
      const cert = (await pce.ecall('certifyQe', init.qeReport)) as { qeReportBody: Uint8Array; signature: Uint8Array };
      const chain = [issued.pck, ...issued.chain];
      await qe.ecall('setCertification', cert.qeReportBody, cert.signature, chain.map(pem).join(''), pceSvn);
      return new QuotingService(qe, pce, chain, init.attestationKey);
    } catch (e) {
      await qe.destroy();
      await pce.destroy();
      throw e;
    }
  }

  /** TARGETINFO of the QE: application enclaves EREPORT to it. */
  targetInfo(): Uint8Array {
    return this.qe.targetInfo();
  }

  /** Turns an application REPORT (targeted at the QE) into a DCAP v3 quote. */
  async quote(appReport: Uint8Array): Promise<Uint8Array> {
    return (await this.qe.ecall('quote', appReport)) as Uint8Array;
  }

  /** Turns a TDREPORT into a DCAP v4/v5 TD quote: for a service started with the TD QE image (src/tdx/td-quoting.ts). */
  async quoteTd(tdReport: Uint8Array, version: 4 | 5): Promise<Uint8Array> {
    return (await this.qe.ecall('quoteTd', tdReport, version)) as Uint8Array;
  }

  async stop(): Promise<void> {
    await this.qe.destroy();
    await this.pce.destroy();
  }
}
