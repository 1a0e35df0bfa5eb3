import { join } from 'node:path';
import { equal } from '../../bytes/util.ts';
import { parseQuote } from '../../formats/quote.ts';
import { parseReport, REPORT_SIZE, type ReportBody } from '../../formats/report.ts';
import { parseTargetInfo, TARGETINFO_SIZE } from '../../formats/targetinfo.ts';
import type { LocalAttester } from '../local/protocol.ts';
import { AttesterError } from './errors.ts';
import { nodeFileOps, type FileOps } from './file-ops.ts';

/**
 * The hardware attester: SGX instructions and quotes through Gramine's `/dev/attestation` pseudo-files
 * (Gramine docs, "Attestation and Secret Provisioning"; LibOS `libos/src/fs/dev/attestation.c`):
 *
 *   file                 access  size  meaning
 *   attestation_type     r       text  "none" | "epid" | "dcap" (the manifest's sgx.remote_attestation)
 *   my_target_info       r       512   sgx_target_info_t of this enclave
 *   target_info          rw      512   sgx_target_info_t the next `report` is made for
 *   user_report_data     rw       64   REPORTDATA of the next `report` / `quote`
 *   report               r       432   sgx_report_t: EREPORT(target_info, user_report_data)
 *   quote                r       var   a quote (DCAP ECDSA v3 when type is dcap) over user_report_data
 *   keys/_sgx_mrenclave  r        16   EGETKEY seal key, MRENCLAVE policy
 *   keys/_sgx_mrsigner   r        16   EGETKEY seal key, MRSIGNER policy
 *
 * The rw files are per-process state: a write followed by a read is one operation, so every
 * write-then-read here runs under one lock (a second caller in this process waits its turn).
 *
 * What Gramine does NOT offer: EGETKEY with an arbitrary KEYREQUEST, in particular the REPORT key.
 * So a Gramine enclave cannot check a REPORT's MAC from JavaScript (inside Gramine that is done by
 * the runtime's own `sgx_verify_report`, not exposed as a file). This attester therefore implements
 * only the `selfTargetInfo` and `ereport` parts of `LocalAttester`: it can be the attested side of
 * a local attestation, never the verifying side. No `egetkey` method exists, so the type system
 * refuses it where a full LocalAttester is needed.
 */

export type GramineAttestationType = 'none' | 'epid' | 'dcap';

export const GRAMINE_DEFAULT_DIR = '/dev/attestation';
const USER_REPORT_DATA_SIZE = 64;
const SEAL_KEY_SIZE = 16;
const TYPES: readonly GramineAttestationType[] = ['none', 'epid', 'dcap'];

export const GRAMINE_FILES = {
  attestationType: 'attestation_type',
  myTargetInfo: 'my_target_info',
  targetInfo: 'target_info',
  userReportData: 'user_report_data',
  report: 'report',
  quote: 'quote',
  sealKeyMrEnclave: 'keys/_sgx_mrenclave',
  sealKeyMrSigner: 'keys/_sgx_mrsigner',
} as const;

export interface GramineAttesterOptions {
  /** Where the pseudo-files are. Default `/dev/attestation`. */
  dir?: string;
  /** File operations. Default node:fs/promises; tests pass an imitation of Gramine. */
  files?: FileOps;
}

function bytesArg(x: unknown, len: number, name: string): Uint8Array {
  if (!(x instanceof Uint8Array)) throw new AttesterError('ERR_ATTESTER_ARGUMENT', `${name}: expected Uint8Array`);
  if (x.length !== len)
    throw new AttesterError('ERR_ATTESTER_ARGUMENT', `${name}: expected ${len} bytes, got ${x.length}`);
  return x;
}

export class GramineAttester implements Pick<LocalAttester, 'selfTargetInfo' | 'ereport'> {
  readonly dir: string;
  readonly #files: FileOps;
  readonly #type: GramineAttestationType;
  readonly #myTargetInfo: Uint8Array;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(dir: string, files: FileOps, type: GramineAttestationType, myTargetInfo: Uint8Array) {
    this.dir = dir;
    this.#files = files;
    this.#type = type;
    this.#myTargetInfo = myTargetInfo;
  }

  /**
   * Reads `attestation_type` and `my_target_info` (both fixed for the process) and checks them:
   * a missing file is ERR_ATTESTER_UNAVAILABLE, an unknown type ERR_ATTESTER_TYPE, a TARGETINFO
   * that is not 512 bytes ERR_ATTESTER_LENGTH.
   */
  static async open(opts: GramineAttesterOptions = {}): Promise<GramineAttester> {
    const dir = opts.dir ?? GRAMINE_DEFAULT_DIR;
    const files = opts.files ?? nodeFileOps;
    // Stryker disable next-line ObjectLiteral: { fatal: false } is TextDecoder's default, spelled out (the `true` variant is tested)
    const typeText = new TextDecoder('utf-8', { fatal: false })
      .decode(await read(files, dir, GRAMINE_FILES.attestationType))
      .trim();
    if (!(TYPES as readonly string[]).includes(typeText)) {
      throw new AttesterError(
        'ERR_ATTESTER_TYPE',
        `${GRAMINE_FILES.attestationType}: unknown attestation type ${JSON.stringify(typeText.slice(0, 32))} (expected none, epid or dcap)`,
      );
    }
    const ti = expectLength(
      await read(files, dir, GRAMINE_FILES.myTargetInfo),
      TARGETINFO_SIZE,
      GRAMINE_FILES.myTargetInfo,
    );
    parseTargetInfo(ti); // 512 bytes always parses; kept so a format change shows up here
    return new GramineAttester(dir, files, typeText as GramineAttestationType, ti);
  }

  /** The manifest's remote-attestation kind, as Gramine reports it. */
  type(): GramineAttestationType {
    return this.#type;
  }

  /** This enclave's TARGETINFO (512 bytes; a copy). */
  selfTargetInfo(): Uint8Array {
    return this.#myTargetInfo.slice();
  }

  /**
   * EREPORT for `targetInfo` (512 bytes) carrying `reportData` (64 bytes): writes target_info and
   * user_report_data, reads report (432 bytes). The REPORT's REPORTDATA must be the one written.
   * Its MAC is for the target; nobody here can check it.
   */
  ereport(targetInfo: Uint8Array, reportData: Uint8Array): Promise<Uint8Array> {
    bytesArg(targetInfo, TARGETINFO_SIZE, 'targetInfo');
    bytesArg(reportData, USER_REPORT_DATA_SIZE, 'reportData');
    return this.#locked(async () => {
      await write(this.#files, this.dir, GRAMINE_FILES.targetInfo, targetInfo);
      await write(this.#files, this.dir, GRAMINE_FILES.userReportData, reportData);
      const report = expectLength(
        await read(this.#files, this.dir, GRAMINE_FILES.report),
        REPORT_SIZE,
        GRAMINE_FILES.report,
      );
      if (!equal(parseReport(report).body.reportData, reportData)) {
        throw new AttesterError(
          'ERR_ATTESTER_REPORT_DATA',
          'report: REPORTDATA differs from the user_report_data written (another writer in this process?)',
        );
      }
      return report;
    });
  }

  /** EREPORT to this enclave itself: its own REPORT body (identity, attributes, CPUSVN). */
  async selfReport(reportData: Uint8Array = new Uint8Array(USER_REPORT_DATA_SIZE)): Promise<ReportBody> {
    return parseReport(await this.ereport(this.#myTargetInfo, reportData)).body;
  }

  /**
   * A DCAP quote whose REPORTDATA is `reportData` (64 bytes): writes user_report_data, reads quote.
   * Refused (ERR_ATTESTER_TYPE) unless attestation_type is dcap. The quote read back must parse as an
   * SGX quote (v3/v4) and carry the REPORTDATA written; trailing zero padding is cut off. It is NOT
   * verified here — that is the relying party's job (verifyQuote with collateral and a time).
   */
  quote(reportData: Uint8Array): Promise<Uint8Array> {
    bytesArg(reportData, USER_REPORT_DATA_SIZE, 'reportData');
    if (this.#type !== 'dcap') {
      return Promise.reject(
        new AttesterError(
          'ERR_ATTESTER_TYPE',
          `quote: attestation_type is ${this.#type}, a DCAP quote needs dcap (sgx.remote_attestation = "dcap" in the manifest)`,
        ),
      );
    }
    return this.#locked(async () => {
      await write(this.#files, this.dir, GRAMINE_FILES.userReportData, reportData);
      const raw = await read(this.#files, this.dir, GRAMINE_FILES.quote);
      let parsed;
      try {
        parsed = parseQuote(raw, { allowZeroPadding: true });
      } catch (e) {
        throw new AttesterError('ERR_ATTESTER_QUOTE_FORMAT', `quote: ${(e as Error).message}`, { cause: e });
      }
      if (parsed.body.kind !== 'sgx')
        throw new AttesterError('ERR_ATTESTER_QUOTE_FORMAT', 'quote: not an SGX enclave quote');
      if (!equal(parsed.body.report.reportData, reportData)) {
        throw new AttesterError(
          'ERR_ATTESTER_REPORT_DATA',
          'quote: REPORTDATA differs from the user_report_data written (another writer in this process?)',
        );
      }
      return raw.slice(0, raw.length - parsed.paddingLength);
    });
  }

  /**
   * Gramine's named seal keys: EGETKEY(SEAL) with the MRENCLAVE or MRSIGNER policy, 16 bytes.
   * The only EGETKEY output Gramine exposes (no REPORT key, no caller-chosen KEYREQUEST).
   */
  async sealKey(policy: 'mrenclave' | 'mrsigner'): Promise<Uint8Array> {
    const name =
      policy === 'mrenclave'
        ? GRAMINE_FILES.sealKeyMrEnclave
        : policy === 'mrsigner'
          ? GRAMINE_FILES.sealKeyMrSigner
          : undefined;
    if (!name) throw new AttesterError('ERR_ATTESTER_ARGUMENT', `sealKey: policy must be 'mrenclave' or 'mrsigner'`);
    return expectLength(await read(this.#files, this.dir, name), SEAL_KEY_SIZE, name);
  }

  /** Runs `op` after every earlier locked op has settled (success or failure). */
  #locked<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(op, op);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

function expectLength(b: Uint8Array, len: number, name: string): Uint8Array {
  if (b.length !== len)
    throw new AttesterError('ERR_ATTESTER_LENGTH', `${name}: read ${b.length} bytes, expected ${len}`);
  return b;
}

function ioError(verb: string, name: string, e: unknown): AttesterError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new AttesterError(
      'ERR_ATTESTER_UNAVAILABLE',
      `${name}: no such pseudo-file (not running inside Gramine with SGX?)`,
      { cause: e },
    );
  }
  return new AttesterError('ERR_ATTESTER_IO', `${name}: ${verb} failed: ${(e as Error)?.message ?? String(e)}`, {
    cause: e,
  });
}

async function read(files: FileOps, dir: string, name: string): Promise<Uint8Array> {
  try {
    return await files.readFile(join(dir, name));
  } catch (e) {
    throw ioError('read', name, e);
  }
}

async function write(files: FileOps, dir: string, name: string, data: Uint8Array): Promise<void> {
  try {
    await files.writeFile(join(dir, name), data);
  } catch (e) {
    throw ioError('write', name, e);
  }
}
