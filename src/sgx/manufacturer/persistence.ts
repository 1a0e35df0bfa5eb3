import type { TdxTcbState } from './tdx-tcb-state.ts';
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fromHex, hex } from '../../bytes/util.ts';
import { KeyFileError, keyDirectory, readKeyFile, writeNewKeyFile } from '../../crypto/key-file.ts';
import { ManufacturerError } from './errors.ts';
import type { RevokedEntry } from './issue-crl.ts';
import { certificatePem, keyFromPem, pemCertificates, privateKeyPem, type CaKey } from './keys.ts';
import { KEY_NAMES, type KeyName } from './pki.ts';
import type { QeLevelSpec } from './sign-collateral.ts';
import { checkLevels, type TcbLevelSpec } from './tcb-levels.ts';
import { fmspcKey, type FmspcState, type QeState, type TcbRelease } from './tcb-state.ts';
import type { CrlList, PckCa, PckRecord } from './types.ts';

/**
 * A manufacturer on disk (save/load):
 *   manufacturer.json           state: options, FMSPCs and their TCB levels, QE identity, issued PCKs, revocations
 *   keys/<name>.key.pem         PKCS#8 PEM, mode 0600, in a 0700 directory (root, platform-ca, processor-ca,
 *                               tcb-signing, enclave-signing); never overwritten (src/crypto/key-file.ts)
 *   certs/<name>.pem            the CA and TCB Signing certificates
 */
export interface ManufacturerState {
  keys: Record<KeyName, CaKey>;
  certs: Record<KeyName, Uint8Array>;
  vendorKey: KeyObject | undefined;
  pcsUrl: string;
  collateralValidityDays: number;
  tcbEvaluationDataNumber: number;
  fmspcs: Map<string, FmspcState>;
  qe: QeState | undefined;
  pcks: PckRecord[];
  revoked: Record<CrlList, RevokedEntry[]>;
  crlNumbers: Record<CrlList, number>;
  /** Dates of the standard release (absent in files written before staged recoveries existed). */
  release?: { recoveryEventDate: string; tcbDate: string };
  /** A TCB recovery staged at update=early, not yet promoted. */
  early?: TcbRelease;
  /** The TDX TCB of the standard release (absent in files written before TDX recoveries existed). */
  tdx?: TdxTcbState;
}

const STATE_FILE = 'manufacturer.json';
const STATE_VERSION = 1;
const VENDOR_KEY = 'enclave-signing';

interface PersistedState {
  version: number;
  pcsUrl: string;
  collateralValidityDays: number;
  tcbEvaluationDataNumber: number;
  fmspcs: Record<string, { pceId: number; levels: TcbLevelSpec[] }>;
  qe?: {
    mrSigner: string;
    isvProdId: number;
    miscSelect: string;
    miscSelectMask: string;
    attributes: string;
    attributesMask: string;
    levels: QeLevelSpec[];
  };
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
  release?: { recoveryEventDate: string; tcbDate: string };
  early?: {
    evaluationNumber: number;
    recoveryEventDate: string;
    tcbDate: string;
    fmspcs: Record<string, { pceId: number; levels: TcbLevelSpec[] }>;
    qe?: PersistedQe;
    tdx?: TdxTcbState;
  };
  tdx?: TdxTcbState;
}

type PersistedQe = {
  mrSigner: string;
  isvProdId: number;
  miscSelect: string;
  miscSelectMask: string;
  attributes: string;
  attributesMask: string;
  levels: QeLevelSpec[];
};

const qeToJson = (qe: QeState): PersistedQe => ({
  mrSigner: hex(qe.mrSigner),
  isvProdId: qe.isvProdId,
  miscSelect: hex(qe.miscSelect),
  miscSelectMask: hex(qe.miscSelectMask),
  attributes: hex(qe.attributes),
  attributesMask: hex(qe.attributesMask),
  levels: qe.levels,
});
const qeFromJson = (q: PersistedQe): QeState => ({
  mrSigner: fromHex(q.mrSigner),
  isvProdId: q.isvProdId,
  miscSelect: fromHex(q.miscSelect),
  miscSelectMask: fromHex(q.miscSelectMask),
  attributes: fromHex(q.attributes),
  attributesMask: fromHex(q.attributesMask),
  levels: q.levels,
});
function fmspcsFromJson(o: Record<string, { pceId: number; levels: TcbLevelSpec[] }>): Map<string, FmspcState> {
  const m = new Map<string, FmspcState>();
  for (const [fmspc, f] of Object.entries(o)) {
    checkLevels(f.levels);
    m.set(fmspcKey(fmspc), { pceId: f.pceId, levels: f.levels });
  }
  return m;
}

const keyPath = (dir: string, name: string) => join(dir, 'keys', `${name}.key.pem`);
const samePrivateKey = (key: KeyObject) => (pem: string) =>
  createPublicKey(createPrivateKey(pem)).equals(createPublicKey(key));

/** Reads a saved manufacturer. A key file that exists but cannot be read or parsed stops here (ERR_KEY_FILE_UNREADABLE, with its path). */
export async function readManufacturerState(dir: string): Promise<ManufacturerState> {
  const fail = (message: string, cause?: unknown) =>
    new ManufacturerError('ERR_MANUFACTURER_DATA', `${dir}: ${message}`, { cause });
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
    const key = await readKeyFile(keyPath(dir, name), keyFromPem);
    if (!key) throw fail(`the ${name} key is missing (${keyPath(dir, name)})`);
    keys[name] = key;
    try {
      const der = pemCertificates(await readFile(join(dir, 'certs', `${name}.pem`), 'utf8'))[0];
      if (!der) throw new Error('no certificate');
      certs[name] = der;
    } catch (e) {
      throw fail(`cannot read the ${name} certificate`, e);
    }
    const cert = new X509Certificate(certs[name]);
    if (!cert.publicKey.equals(keys[name].publicKey)) throw fail(`the ${name} certificate does not match its key`);
  }
  // Absent: created on first use. Present but unreadable: an error, never a silently new MRSIGNER.
  const vendorKey = await readKeyFile(keyPath(dir, VENDOR_KEY), (pem) => createPrivateKey(pem));
  const fmspcs = fmspcsFromJson(state.fmspcs);
  const qe: QeState | undefined = state.qe && qeFromJson(state.qe);
  const early: TcbRelease | undefined = state.early && {
    evaluationNumber: state.early.evaluationNumber,
    recoveryEventDate: state.early.recoveryEventDate,
    tcbDate: state.early.tcbDate,
    fmspcs: fmspcsFromJson(state.early.fmspcs),
    qe: state.early.qe && qeFromJson(state.early.qe),
    ...(state.early.tdx ? { tdx: state.early.tdx } : {}),
  };
  const pcks: PckRecord[] = state.pcks.map((p) => {
    const der = pemCertificates(p.pem)[0];
    if (!der) throw fail(`PCK ${p.serial} has no certificate`);
    return {
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
    };
  });
  const lists = ['root', 'processor', 'platform'] as const;
  return {
    keys,
    certs,
    vendorKey,
    pcsUrl: state.pcsUrl,
    collateralValidityDays: state.collateralValidityDays,
    tcbEvaluationDataNumber: state.tcbEvaluationDataNumber,
    fmspcs,
    qe,
    pcks,
    revoked: Object.fromEntries(
      lists.map((l) => [
        l,
        (state.revoked[l] ?? []).map((e) => ({ serial: e.serial, reason: e.reason, date: new Date(e.date) })),
      ]),
    ) as Record<CrlList, RevokedEntry[]>,
    crlNumbers: Object.fromEntries(lists.map((l) => [l, state.crlNumbers[l] ?? 1])) as Record<CrlList, number>,
    ...(state.release ? { release: state.release } : {}),
    ...(early ? { early } : {}),
    ...(state.tdx ? { tdx: state.tdx } : {}),
  };
}

/**
 * Writes a manufacturer to `dir`. Keys go to keys/ (0700) as 0600 files and are never overwritten:
 * the same key already there is left alone, a different one is ERR_KEY_FILE_EXISTS (another
 * manufacturer lives in `dir`), an unreadable one ERR_KEY_FILE_UNREADABLE. Nothing is written before
 * every key has been checked.
 */
export async function writeManufacturerState(dir: string, m: ManufacturerState): Promise<void> {
  await keyDirectory(join(dir, 'keys'));
  await mkdir(join(dir, 'certs'), { recursive: true, mode: 0o700 });
  const keyFiles: Array<[string, KeyObject]> = KEY_NAMES.map((name) => [name, m.keys[name].privateKey]);
  if (m.vendorKey) keyFiles.push([VENDOR_KEY, m.vendorKey]);
  for (const [name, key] of keyFiles) {
    // Checked first for all keys, so a refused save leaves no half-written manufacturer behind.
    if ((await readKeyFile(keyPath(dir, name), samePrivateKey(key))) === false) {
      throw new KeyFileError(
        'ERR_KEY_FILE_EXISTS',
        keyPath(dir, name),
        'a different key is already stored here (another manufacturer?); refusing to overwrite it',
      );
    }
  }
  for (const [name, key] of keyFiles)
    await writeNewKeyFile(keyPath(dir, name), privateKeyPem(key), samePrivateKey(key));
  for (const name of KEY_NAMES) await writeFile(join(dir, 'certs', `${name}.pem`), certificatePem(m.certs[name]));
  const state: PersistedState = {
    version: STATE_VERSION,
    pcsUrl: m.pcsUrl,
    collateralValidityDays: m.collateralValidityDays,
    tcbEvaluationDataNumber: m.tcbEvaluationDataNumber,
    fmspcs: Object.fromEntries([...m.fmspcs].map(([k, v]) => [k, { pceId: v.pceId, levels: v.levels }])),
    ...(m.qe ? { qe: qeToJson(m.qe) } : {}),
    pcks: m.pcks.map((p) => ({
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
      root: m.revoked.root.map((e) => ({ ...e, date: e.date.toISOString() })),
      processor: m.revoked.processor.map((e) => ({ ...e, date: e.date.toISOString() })),
      platform: m.revoked.platform.map((e) => ({ ...e, date: e.date.toISOString() })),
    },
    crlNumbers: { ...m.crlNumbers },
    ...(m.release ? { release: m.release } : {}),
    ...(m.early
      ? {
          early: {
            evaluationNumber: m.early.evaluationNumber,
            recoveryEventDate: m.early.recoveryEventDate,
            tcbDate: m.early.tcbDate,
            fmspcs: Object.fromEntries([...m.early.fmspcs].map(([k, v]) => [k, { pceId: v.pceId, levels: v.levels }])),
            ...(m.early.qe ? { qe: qeToJson(m.early.qe) } : {}),
            ...(m.early.tdx ? { tdx: m.early.tdx } : {}),
          },
        }
      : {}),
    ...(m.tdx ? { tdx: m.tdx } : {}),
  };
  const tmp = join(dir, `${STATE_FILE}.tmp`);
  await writeFile(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, join(dir, STATE_FILE));
}
