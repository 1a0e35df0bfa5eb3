import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { hex } from '../../src/bytes/util.ts';
import { generateP256, p256PublicRaw, p256Sign } from '../../src/crypto/ecdsa.ts';
import { sha256Parts } from '../../src/crypto/sha256.ts';
import { ATTR } from '../../src/formats/attributes.ts';
import {
  serializeQuote,
  serializeQuoteSignedPart,
  TEE_TYPE_TDX,
  type QuoteBody,
  type QuoteHeader,
  type TdReport10,
} from '../../src/formats/quote.ts';
import { serializeReportBody, type ReportBody } from '../../src/formats/report.ts';
import type { Collateral } from '../../src/attestation/collateral/types.ts';
import { context, oid, seq, smallInteger, time, unsignedInteger, bitString } from '../../src/formats/der-writer.ts';
import {
  basicConstraints,
  extension,
  KEY_USAGE,
  keyUsageBits,
  signedX509,
  spkiP256,
  tbsCertificate,
} from '../../src/formats/x509-writer.ts';
import { certificatePem } from '../../src/sgx/manufacturer/keys.ts';
import { issueCertificate } from '../../src/sgx/manufacturer/issue-certificate.ts';
import { issueCrl, type RevokedEntry } from '../../src/sgx/manufacturer/issue-crl.ts';
import { CERT_NAMES, nameDer, SGX_EXTENSION_OID } from '../../src/sgx/manufacturer/names.ts';
import { encodeSgxExtension, SGX_TYPE } from '../../src/sgx/manufacturer/sgx-extension.ts';

/**
 * DCAP evidence made from scratch under a fresh test PKI whose every key the test holds: a quote (v3 SGX,
 * v4 SGX, or v4 TDX, which neither the emulated platform nor Intel's vectors give with collateral a test
 * may change) and its collateral, each piece signed as Intel signs it. Unchanged, it is accepted at `at`
 * with the default policy; a test edits the TCB info or QE identity object (signed after the edit), the TD
 * report, or the padding, and gets evidence that differs from the good one in that one respect.
 */
export interface SyntheticOptions {
  tee?: 'sgx' | 'tdx';
  /** SGX: 3 (default) or 4; TDX: 4 (default) or 5 (a TD report 1.5 body when `td` has an MR_SERVICETD). */
  version?: 3 | 4 | 5;
  /** Zero bytes after the signature data. */
  padding?: number;
  /** Edits the TCB info object before it is signed. */
  tcbInfo?: (o: Record<string, unknown>) => void;
  /** Edits the QE identity object before it is signed. */
  qeIdentity?: (o: Record<string, unknown>) => void;
  /** TDX only: fields of the TD report to change. */
  td?: Partial<TdReport10>;
  /** Serials (hex) on the Root CA CRL. */
  rootCrlRevoked?: string[];
  /** Edits the PEM text of the quote's PCK chain (leaf, PCK CA, root). */
  pem?: (pem: string) => string;
  /** Fields of the QE report to change (its REPORTDATA still binds the attestation key). */
  qeReport?: Partial<ReportBody>;
  /** Validity windows other than the defaults (certificates: at − 30 d to at + 365 d; CRLs: at − 1 d to at + 29 d). */
  windows?: { pck?: [Date, Date]; rootCrl?: [Date, Date]; pckCrl?: [Date, Date] };
  /**
   * The PCK CA holds an Ed25519 key (signed by the root, signing the PCK leaf with Ed25519): a chain
   * X.509 allows, whose CRL signature a P-256 / SHA-256 check cannot even be run with.
   */
  pckCaEd25519?: boolean;
  /** The issuer name the PCK CRL states (it is signed by the PCK CA's key all the same). */
  pckCrlIssuer?: string;
  /**
   * The PCK leaf holds an Ed25519 key (the P-256 PCK CA signs it with ECDSA, as always): a chain that
   * builds, whose leaf key cannot check the QE report's P-256 signature at all.
   */
  pckLeafEd25519?: boolean;
}

const ED25519 = seq(oid('1.3.101.112'));

/** A PCK CA with an Ed25519 key under the P-256 root, and a PCK leaf it signs (Ed25519). */
function ed25519Ca(o: {
  rootKey: { privateKey: KeyObject };
  leafKey: { publicKey: KeyObject };
  serials: [Uint8Array, Uint8Array];
  notBefore: Date;
  notAfter: Date;
  sgxExtension: Uint8Array;
}): { ca: Uint8Array; leaf: Uint8Array } {
  const ed = generateKeyPairSync('ed25519');
  const spki = (k: KeyObject) => new Uint8Array(k.export({ type: 'spki', format: 'der' }));
  const caTbs = tbsCertificate({
    serial: o.serials[0],
    issuer: nameDer(CERT_NAMES.root),
    subject: nameDer(CERT_NAMES.processor),
    notBefore: o.notBefore,
    notAfter: o.notAfter,
    spki: spki(ed.publicKey),
    extensions: [
      extension('2.5.29.15', true, keyUsageBits(KEY_USAGE.keyCertSign | KEY_USAGE.cRLSign)),
      extension('2.5.29.19', true, basicConstraints(true, 0)),
    ],
  });
  const ca = signedX509(caTbs, new Uint8Array(sign('sha256', caTbs, o.rootKey.privateKey)));
  const leafTbs = seq(
    context(0, true, smallInteger(2)),
    unsignedInteger(o.serials[1]),
    ED25519,
    nameDer(CERT_NAMES.processor),
    seq(time(o.notBefore), time(o.notAfter)),
    nameDer(CERT_NAMES.pck),
    spkiP256(p256PublicRaw(o.leafKey.publicKey)),
    context(
      3,
      true,
      seq(
        extension('2.5.29.15', true, keyUsageBits(KEY_USAGE.digitalSignature)),
        extension('2.5.29.19', true, basicConstraints(false)),
        extension(SGX_EXTENSION_OID, false, o.sgxExtension),
      ),
    ),
  );
  const leaf = seq(leafTbs, ED25519, bitString(new Uint8Array(sign(null, leafTbs, ed.privateKey))));
  return { ca, leaf };
}

/** A PCK leaf with an Ed25519 key, signed by the P-256 PCK CA (ECDSA with SHA-256). */
function ed25519Leaf(o: {
  caKey: { privateKey: KeyObject };
  serial: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  sgxExtension: Uint8Array;
}): Uint8Array {
  const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));
  const tbs = seq(
    context(0, true, smallInteger(2)),
    unsignedInteger(o.serial),
    ECDSA_SHA256,
    nameDer(CERT_NAMES.processor),
    seq(time(o.notBefore), time(o.notAfter)),
    nameDer(CERT_NAMES.pck),
    new Uint8Array(generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' })),
    context(
      3,
      true,
      seq(
        extension('2.5.29.15', true, keyUsageBits(KEY_USAGE.digitalSignature)),
        extension('2.5.29.19', true, basicConstraints(false)),
        extension(SGX_EXTENSION_OID, false, o.sgxExtension),
      ),
    ),
  );
  return seq(tbs, ECDSA_SHA256, bitString(new Uint8Array(sign('sha256', tbs, o.caKey.privateKey))));
}

export interface SyntheticEvidence {
  quote: Uint8Array;
  collateral: Collateral;
  /** The test root (DER), to pass as the only trusted root. */
  root: Uint8Array;
  at: Date;
  /** Serials (hex, as in the certificates). */
  serials: { root: string; pckCa: string; tcbSigning: string; pck: string };
}

export const SYNTHETIC_AT = new Date('2026-06-01T00:00:00Z');
const DAY = 86_400_000;
const FMSPC = Uint8Array.from([0x00, 0x90, 0x6e, 0xd5, 0x00, 0x00]);
const COMPONENTS = [5, 5, 2, 4, 1, 128, 14, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const PCE_SVN = 13;
const QE_MRSIGNER = new Uint8Array(32).fill(0x5a);
const QE_ATTRIBUTES = { flags: ATTR.INIT | ATTR.MODE64BIT | ATTR.PROVISIONKEY, xfrm: 0n };
/** TEE_TCB_SVN: the TDX module's ISVSVN 6, major version 1 (TDX_01), then a late microcode SVN 2. */
const TEE_TCB_SVN = Uint8Array.from([6, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

const iso = (d: Date) => d.toISOString().replace('.000Z', 'Z');
const H = (b: Uint8Array) => hex(b).toUpperCase();
const svns = (a: ArrayLike<number>) => Array.from(a, (svn) => ({ svn }));

function reportBody(o: Partial<ReportBody>): ReportBody {
  return {
    cpuSvn: new Uint8Array(16),
    miscSelect: 0,
    isvExtProdId: new Uint8Array(16),
    attributes: { flags: ATTR.INIT | ATTR.MODE64BIT, xfrm: 3n },
    mrEnclave: new Uint8Array(32).fill(0x11),
    mrSigner: new Uint8Array(32).fill(0x22),
    configId: new Uint8Array(64),
    isvProdId: 1,
    isvSvn: 1,
    configSvn: 0,
    isvFamilyId: new Uint8Array(16),
    reportData: new Uint8Array(64),
    ...o,
  };
}

function tdReport(o: Partial<TdReport10> = {}): TdReport10 {
  const z = (n: number) => new Uint8Array(n);
  return {
    teeTcbSvn: Uint8Array.from(TEE_TCB_SVN),
    mrSeam: z(48),
    mrSignerSeam: z(48),
    seamAttributes: z(8),
    tdAttributes: z(8),
    xfam: z(8),
    mrTd: new Uint8Array(48).fill(0x33),
    mrConfigId: z(48),
    mrOwner: z(48),
    mrOwnerConfig: z(48),
    rtmr: [z(48), z(48), z(48), z(48)],
    reportData: z(64),
    ...o,
  };
}

function tcbInfoObject(tdx: boolean, issue: Date, next: Date): Record<string, unknown> {
  const level = (pcesvn: number, tcbDate: string, tcbStatus: string) => ({
    tcb: {
      sgxtcbcomponents: svns(COMPONENTS),
      pcesvn,
      ...(tdx ? { tdxtcbcomponents: svns(TEE_TCB_SVN) } : {}),
    },
    tcbDate,
    tcbStatus,
  });
  const module = { mrsigner: '00'.repeat(48), attributes: '00'.repeat(8), attributesMask: 'FF'.repeat(8) };
  return {
    id: tdx ? 'TDX' : 'SGX',
    version: 3,
    issueDate: iso(issue),
    nextUpdate: iso(next),
    fmspc: H(FMSPC),
    pceId: '0000',
    tcbType: 0,
    tcbEvaluationDataNumber: 17,
    ...(tdx
      ? {
          tdxModule: module,
          tdxModuleIdentities: [
            {
              id: 'TDX_01',
              ...module,
              tcbLevels: [
                { tcb: { isvsvn: 4 }, tcbDate: '2026-01-01T00:00:00Z', tcbStatus: 'UpToDate' },
                { tcb: { isvsvn: 2 }, tcbDate: '2025-01-01T00:00:00Z', tcbStatus: 'OutOfDate' },
              ],
            },
          ],
        }
      : {}),
    tcbLevels: [level(PCE_SVN, '2026-01-01T00:00:00Z', 'UpToDate')],
  };
}

function qeIdentityObject(tdx: boolean, issue: Date, next: Date): Record<string, unknown> {
  return {
    id: tdx ? 'TD_QE' : 'QE',
    version: 2,
    issueDate: iso(issue),
    nextUpdate: iso(next),
    tcbEvaluationDataNumber: 17,
    miscselect: '00000000',
    miscselectMask: 'FFFFFFFF',
    attributes: '11000000000000000000000000000000',
    attributesMask: 'FBFFFFFFFFFFFFFF0000000000000000',
    mrsigner: H(QE_MRSIGNER),
    isvprodid: tdx ? 2 : 1,
    tcbLevels: [{ tcb: { isvsvn: 8 }, tcbDate: '2026-01-01T00:00:00Z', tcbStatus: 'UpToDate' }],
  };
}

export async function syntheticEvidence(opts: SyntheticOptions = {}): Promise<SyntheticEvidence> {
  const tdx = opts.tee === 'tdx';
  const version = tdx ? (opts.version === 5 ? 5 : 4) : (opts.version ?? 3);
  const at = SYNTHETIC_AT;
  const notBefore = new Date(at.getTime() - 30 * DAY);
  const notAfter = new Date(at.getTime() + 365 * DAY);
  const issue = new Date(at.getTime() - DAY);
  const next = new Date(at.getTime() + 29 * DAY);
  const [rootKey, caKey, tcbKey, pckKey, attKey] = [0, 1, 2, 3, 4].map(() => generateP256());
  const crlUrl = 'https://pcs.invalid/crl';
  const [rootSerial, caSerial, tcbSerial, pckSerial] = [0x2001, 0x0ca1, 0x7cb1, 0x5c01].map((n) =>
    Uint8Array.from([n >> 8, n & 0xff]),
  );
  const root = await issueCertificate({
    serial: rootSerial,
    subject: CERT_NAMES.root,
    issuer: CERT_NAMES.root,
    issuerKey: rootKey.privateKey,
    publicKey: rootKey.publicKey,
    notBefore,
    notAfter,
    ca: { pathLength: 1 },
    crlUrl,
  });
  const pckCa = await issueCertificate({
    serial: caSerial,
    subject: CERT_NAMES.processor,
    issuer: CERT_NAMES.root,
    issuerKey: rootKey.privateKey,
    publicKey: caKey.publicKey,
    notBefore,
    notAfter,
    ca: { pathLength: 0 },
    crlUrl,
  });
  const tcbSigning = await issueCertificate({
    serial: tcbSerial,
    subject: CERT_NAMES.tcbSigning,
    issuer: CERT_NAMES.root,
    issuerKey: rootKey.privateKey,
    publicKey: tcbKey.publicKey,
    notBefore,
    notAfter,
    crlUrl,
  });
  const sgxExtension = encodeSgxExtension({
    ppid: new Uint8Array(16).fill(0x44),
    tcbComponents: COMPONENTS,
    pceSvn: PCE_SVN,
    cpuSvn: Uint8Array.from(COMPONENTS),
    pceId: 0,
    fmspc: FMSPC,
    sgxType: SGX_TYPE.STANDARD,
  });
  const ed = opts.pckCaEd25519
    ? ed25519Ca({ rootKey, leafKey: pckKey, serials: [caSerial, pckSerial], notBefore, notAfter, sgxExtension })
    : undefined;
  const edLeaf = opts.pckLeafEd25519
    ? ed25519Leaf({ caKey, serial: pckSerial, notBefore, notAfter, sgxExtension })
    : undefined;
  const pck =
    ed?.leaf ??
    edLeaf ??
    (await issueCertificate({
      serial: pckSerial,
      subject: CERT_NAMES.pck,
      issuer: CERT_NAMES.processor,
      issuerKey: caKey.privateKey,
      publicKey: pckKey.publicKey,
      notBefore: opts.windows?.pck?.[0] ?? notBefore,
      notAfter: opts.windows?.pck?.[1] ?? notAfter,
      crlUrl,
      sgxExtension,
    }));
  const crl = (issuer: string, key: typeof rootKey, window?: [Date, Date], revoked: string[] = []) =>
    issueCrl({
      issuer,
      issuerKey: key.privateKey,
      thisUpdate: window?.[0] ?? issue,
      nextUpdate: window?.[1] ?? next,
      crlNumber: 1,
      entries: revoked.map((serial): RevokedEntry => ({ serial, reason: 1, date: issue })),
    });

  // The quote: the attestation key signs header ‖ body; the PCK key signs the QE report, whose
  // REPORTDATA binds the attestation key and the QE auth data.
  const header: QuoteHeader = {
    version,
    attKeyType: 2,
    teeType: tdx ? TEE_TYPE_TDX : 0,
    qeSvn: 8,
    pceSvn: PCE_SVN,
    qeVendorId: Uint8Array.from(Buffer.from('939a7233f79c4ca9940a0db3957f0607', 'hex')),
    userData: new Uint8Array(20),
  };
  const body: QuoteBody = tdx ? { kind: 'td10', report: tdReport(opts.td) } : { kind: 'sgx', report: reportBody({}) };
  const attestationKey = p256PublicRaw(attKey.publicKey);
  const qeAuthData = new Uint8Array(32).fill(0x77);
  const qeReport = reportBody({
    mrSigner: QE_MRSIGNER,
    attributes: QE_ATTRIBUTES,
    isvProdId: tdx ? 2 : 1,
    isvSvn: 8,
    mrEnclave: new Uint8Array(32).fill(0x66),
    ...opts.qeReport,
    reportData: Uint8Array.from([...sha256Parts(attestationKey, qeAuthData), ...new Uint8Array(32)]),
  });
  const pemText = [pck, ed?.ca ?? pckCa, root].map(certificatePem).join('');
  const pem = opts.pem ? opts.pem(pemText) : pemText;
  const quote = serializeQuote({
    header,
    body,
    signatureData: {
      signature: p256Sign(attKey.privateKey, serializeQuoteSignedPart(header, body)),
      attestationKey,
      qe: {
        qeReport,
        qeReportSignature: p256Sign(pckKey.privateKey, serializeReportBody(qeReport)),
        qeAuthData,
        certification: { type: 5, data: new TextEncoder().encode(pem) },
      },
    },
  });
  const padded = new Uint8Array(quote.length + (opts.padding ?? 0));
  padded.set(quote);

  const signed = (o: Record<string, unknown>) => {
    const text = JSON.stringify(o);
    return { text, signature: p256Sign(tcbKey.privateKey, new TextEncoder().encode(text)) };
  };
  const tcbInfo = tcbInfoObject(tdx, issue, next);
  opts.tcbInfo?.(tcbInfo);
  const qeIdentity = qeIdentityObject(tdx, issue, next);
  opts.qeIdentity?.(qeIdentity);
  return {
    quote: padded,
    collateral: {
      tcbInfo: signed(tcbInfo),
      qeIdentity: signed(qeIdentity),
      tcbSigningChain: [tcbSigning, root],
      rootCaCrl: await crl(CERT_NAMES.root, rootKey, opts.windows?.rootCrl, opts.rootCrlRevoked),
      pckCrl: await crl(opts.pckCrlIssuer ?? CERT_NAMES.processor, caKey, opts.windows?.pckCrl),
      origin: 'synthetic',
    },
    root,
    at,
    serials: { root: hex(rootSerial), pckCa: hex(caSerial), tcbSigning: hex(tcbSerial), pck: hex(pckSerial) },
  };
}
