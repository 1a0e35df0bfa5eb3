import { sign as ecSign } from 'node:crypto';
import { hex } from '../../bytes/util.ts';
import { generateP256, p256PublicRaw } from '../../crypto/ecdsa.ts';
import { generateVendorKey } from '../../crypto/rsa3072.ts';
import { ATTR } from '../../formats/attributes.ts';
import { buildEnclave, type EnclaveImage } from '../build.ts';
import { DEFAULT_FMSPC, DEFAULT_PCE_SVN, DEFAULT_TCB_COMPONENTS, Platform } from '../platform.ts';
import { buildQuotingImages, QuotingService } from '../qe/quoting-service.ts';
import { argumentError } from './errors.ts';
import { DEFAULT_QE_ISVPRODID, DEFAULT_QE_ISVSVN, Manufacturer, type CollateralSet, type PckCa } from './index.ts';
import type { SignedCollateral } from './sign-collateral.ts';
import { defaultTcbLevels } from './tcb-levels.ts';

/**
 * Named bad evidence: an emulated DCAP v3 quote with its collateral and root that a strict verifier
 * must reject for exactly one reason (issue 11). Each variant changes one thing of the good evidence
 * and names the error code the verifier's first failing check reports. `catena emulate quote
 * --variant NAME` writes them; test/unit/attestation/variants.test.ts drives each through the verifier.
 * Validity windows hold at the time of emulation (and ~14 days after), so `--at now` judges them.
 */
export interface EvidenceVariant {
  name: string;
  /** The error code of the verifier's first failing check (appraisal.error.code). */
  code: string;
  /** The name of that check (appraisal.error.check). */
  check: string;
  description: string;
}

export const EVIDENCE_VARIANTS: readonly EvidenceVariant[] = [
  {
    name: 'pck-revoked',
    code: 'ERR_CERT_REVOKED',
    check: 'pck.revocation',
    description: "the quote's PCK certificate is on the PCK CRL",
  },
  {
    name: 'tcb-signing-revoked',
    code: 'ERR_CERT_REVOKED',
    check: 'pck.revocation',
    description: 'the TCB Signing certificate is on the Root CA CRL',
  },
  {
    name: 'platform-ca-revoked',
    code: 'ERR_CERT_REVOKED',
    check: 'pck.revocation',
    description: 'the PCK is issued by the Platform CA, which is on the Root CA CRL',
  },
  {
    name: 'tcb-info-wrong-fmspc',
    code: 'ERR_FMSPC_MISMATCH',
    check: 'pck.fmspcPceId',
    description: 'the (validly signed) TCB info is for another FMSPC',
  },
  {
    name: 'pce-id-mismatch',
    code: 'ERR_FMSPC_MISMATCH',
    check: 'pck.fmspcPceId',
    description: 'the (validly signed) TCB info names another PCE-ID',
  },
  {
    name: 'tcb-info-expired',
    code: 'ERR_COLLATERAL_EXPIRED',
    check: 'collateral.tcbInfoWindow',
    description: "the TCB info's nextUpdate is a day in the past",
  },
  {
    name: 'qe-identity-expired',
    code: 'ERR_COLLATERAL_EXPIRED',
    check: 'collateral.qeIdentityWindow',
    description: "the QE identity's nextUpdate is a day in the past",
  },
  {
    name: 'tcb-info-bad-signature',
    code: 'ERR_TCB_INFO',
    check: 'collateral.tcbInfo',
    description: 'one bit of the TCB info signature flipped',
  },
  {
    name: 'qe-identity-bad-signature',
    code: 'ERR_QE_IDENTITY',
    check: 'collateral.qeIdentity',
    description: 'one bit of the QE identity signature flipped',
  },
  {
    name: 'pck-crl-bad-signature',
    code: 'ERR_PCK_CRL',
    check: 'crl.pck',
    description: 'one bit of the PCK CRL signature flipped',
  },
  {
    name: 'pck-crl-expired',
    code: 'ERR_PCK_CRL',
    check: 'crl.pck',
    description: "the PCK CRL's nextUpdate is a day in the past",
  },
  {
    name: 'root-crl-expired',
    code: 'ERR_ROOT_CA_CRL',
    check: 'crl.rootCa',
    description: "the Root CA CRL's nextUpdate is a day in the past",
  },
  {
    name: 'root-crl-bad-signature',
    code: 'ERR_ROOT_CA_CRL',
    check: 'crl.rootCa',
    description: 'one bit of the Root CA CRL signature flipped',
  },
  {
    name: 'quote-bad-signature',
    code: 'ERR_QUOTE_SIGNATURE',
    check: 'quote.signature',
    description: 'one bit of the quote (attestation key) signature flipped',
  },
  {
    name: 'qe-report-bad-signature',
    code: 'ERR_QE_REPORT_SIGNATURE',
    check: 'qe.reportSignature',
    description: 'one bit of the QE report (PCK) signature flipped',
  },
  {
    name: 'attestation-key-not-bound',
    code: 'ERR_QE_KEY_BINDING',
    check: 'qe.keyBinding',
    description:
      "another attestation key signs the quote: the signature holds, but the QE report's REPORTDATA does not bind that key",
  },
  {
    name: 'qe-identity-mismatch',
    code: 'ERR_QE_IDENTITY_MISMATCH',
    check: 'qe.identity',
    description: 'the QE identity describes another ISVPRODID than the QE that signed',
  },
  {
    name: 'qe-identity-wrong-mrsigner',
    code: 'ERR_QE_IDENTITY_MISMATCH',
    check: 'qe.identity',
    description: 'the QE identity names another MRSIGNER than the QE that signed',
  },
  {
    name: 'qe-identity-wrong-miscselect',
    code: 'ERR_QE_IDENTITY_MISMATCH',
    check: 'qe.identity',
    description: "the QE identity's MISCSELECT differs from the QE's under its mask",
  },
  {
    name: 'qe-identity-wrong-attributes',
    code: 'ERR_QE_IDENTITY_MISMATCH',
    check: 'qe.identity',
    description: "the QE identity's ATTRIBUTES differ from the QE's under its mask",
  },
  {
    name: 'qe-svn-below-levels',
    code: 'ERR_QE_IDENTITY_MISMATCH',
    check: 'qe.identity',
    description: "the QE's ISVSVN is below every TCB level of the QE identity",
  },
  {
    name: 'tcb-signing-other-root',
    code: 'ERR_TCB_SIGNING_CHAIN',
    check: 'collateral.tcbSigningChain',
    description: 'TCB info and QE identity signed under another root',
  },
  {
    name: 'pck-chain-other-root',
    code: 'ERR_PCK_CHAIN',
    check: 'pck.chain',
    description: 'the trusted root is another manufacturer’s',
  },
  {
    name: 'tcb-level-not-found',
    code: 'ERR_TCB_LEVEL_NOT_FOUND',
    check: 'tcb.platformLevel',
    description: "every TCB level is above the platform's TCB",
  },
  {
    name: 'quote-trailing-bytes',
    code: 'ERR_TRAILING_BYTES',
    check: 'quote.format',
    description: 'one zero byte after the signature data',
  },
  {
    name: 'debug-enclave',
    code: 'ERR_DEBUG_ENCLAVE',
    check: 'policy.debug',
    description: 'the application enclave runs in DEBUG mode',
  },
  {
    name: 'tcb-revoked',
    code: 'ERR_TCB_REVOKED',
    check: 'tcb.status',
    description: "the platform's TCB level is Revoked",
  },
  {
    name: 'tcb-out-of-date',
    code: 'ERR_TCB_STATUS_NOT_ACCEPTED',
    check: 'policy.tcbStatus',
    description: "the platform's TCB level is OutOfDate (the default policy accepts UpToDate)",
  },
];

export function evidenceVariant(name: string): EvidenceVariant {
  const v = EVIDENCE_VARIANTS.find((x) => x.name === name);
  if (!v)
    throw argumentError(
      `unknown evidence variant ${JSON.stringify(name)}; known: ${EVIDENCE_VARIANTS.map((x) => x.name).join(', ')}`,
    );
  return v;
}

export interface EmulatedEvidence {
  /** The variant's name, or undefined for the good evidence. */
  variant?: string;
  quote: Uint8Array;
  collateral: CollateralSet;
  /** The root certificate (DER) to trust. */
  root: Uint8Array;
  mrEnclave: Uint8Array;
  mrSigner: Uint8Array;
  debug: boolean;
  tcbLevel: number;
  fmspc: Uint8Array;
  ppid: Uint8Array;
}

export interface EmulateEvidenceOptions {
  variant?: string;
  /** REPORTDATA, 64 bytes (default zero). */
  reportData?: Uint8Array;
  debug?: boolean;
  /** 0 = UpToDate (default), 1 = SWHardeningNeeded, 2 = OutOfDate (defaultTcbLevels). */
  tcbLevel?: number;
}

/** A tiny application enclave whose only ECALL is a REPORT for a target: what any attesting enclave does. */
const APP_SOURCE = `// catena emulate quote: an application enclave that reports to the QE.
export default function app(ctx) {
  return { report: (targetInfo, reportData) => ctx.ereport(targetInfo, reportData) };
}
`;

const DAY = 86_400_000;
/** The emulated QE's ATTRIBUTES (the manufacturer's default QE identity). */
const QE_ATTRIBUTES = { flags: ATTR.INIT | ATTR.MODE64BIT | ATTR.PROVISIONKEY, xfrm: 0n };
/** As the manufacturer's default clock: issue an hour back, so a verifier's "now" finds everything current. */
const BACKDATE_MS = 3_600_000;
/** DCAP v3 SGX quote layout: header 48 + report body 384, then sig_data_len, signature, attestation key, QE report, its signature. */
const V3 = { signed: 432, signature: 436, attestationKey: 500, qeReport: 564, qeReportSignature: 948 } as const;

/** Flips one bit in the last byte of a DER signature (the low byte of ECDSA s): still DER, no longer a valid signature. */
function flipLastByte(der: Uint8Array): Uint8Array {
  const out = Uint8Array.from(der);
  out[out.length - 1] ^= 0x01;
  return out;
}

function badSignature(c: SignedCollateral, member: 'tcbInfo' | 'enclaveIdentity'): SignedCollateral {
  const signature = Uint8Array.from(c.signature);
  signature[63] ^= 0x01;
  return { text: c.text, signature, body: `{"${member}":${c.text},"signature":"${hex(signature)}"}` };
}

/**
 * Boots an emulated manufacturer and one platform (QE/PCE and an application enclave), quotes, and
 * applies the variant. Without a variant, the evidence is good: it verifies at the time of emulation.
 */
export async function emulateEvidence(opts: EmulateEvidenceOptions = {}): Promise<EmulatedEvidence> {
  const variant = opts.variant === undefined ? undefined : evidenceVariant(opts.variant).name;
  const v = (name: string) => variant === name;
  // A clock the expired variants turn back while one artefact is issued; everything else is issued at "now - 1 h".
  let shift = 0;
  const m = await Manufacturer.create({ clock: () => new Date(Date.now() - BACKDATE_MS - shift) });
  const back = <T>(days: number, f: () => T): T => {
    shift = days * DAY;
    try {
      return f();
    } finally {
      shift = 0;
    }
  };

  const current = { components: [...DEFAULT_TCB_COMPONENTS], pceSvn: DEFAULT_PCE_SVN };
  const tcbLevel = v('tcb-out-of-date') ? 2 : (opts.tcbLevel ?? 0);
  const level = defaultTcbLevels(current, new Date())[tcbLevel];
  if (!level)
    throw argumentError(`tcbLevel: no TCB level ${tcbLevel} (0 = UpToDate, 1 = SWHardeningNeeded, 2 = OutOfDate)`);
  m.ensureFmspc(DEFAULT_FMSPC, current);
  const ca: PckCa = v('platform-ca-revoked') ? 'platform' : 'processor';
  const debug = !!opts.debug || v('debug-enclave');

  const platform = await Platform.open({
    name: 'emulated/p0',
    tcbComponents: [...level.components],
    pceSvn: level.pceSvn,
  });
  let quote!: Uint8Array;
  let image!: EnclaveImage;
  try {
    const quoting = await QuotingService.start(platform, {
      images: buildQuotingImages(m.enclaveSigningKey, level.pceSvn),
      issuer: m.pckIssuer(ca),
      runtime: 'inline',
    });
    try {
      image = buildEnclave(APP_SOURCE, { isvProdId: 1, isvSvn: 1, debug }, generateVendorKey());
      const app = await platform.loadEnclave(image, { runtime: 'inline' });
      const rd = new Uint8Array(64);
      if (opts.reportData) rd.set(opts.reportData.subarray(0, 64));
      quote = await quoting.quote((await app.ecall('report', quoting.targetInfo(), rd)) as Uint8Array);
      await app.destroy();
    } finally {
      await quoting.stop();
    }
  } finally {
    await platform.close();
  }

  // Manufacturer-side changes: what the collateral then says.
  if (v('pck-revoked')) m.revokePck(m.listPcks().at(-1)!.der);
  if (v('platform-ca-revoked')) m.revokeCa('platform');
  if (v('tcb-signing-revoked')) m.revokeCa('tcb-signing');
  if (v('pce-id-mismatch')) m.setTcbLevels(DEFAULT_FMSPC, m.tcbLevels(DEFAULT_FMSPC), 1);
  if (v('tcb-revoked'))
    m.setTcbLevels(
      DEFAULT_FMSPC,
      m.tcbLevels(DEFAULT_FMSPC).map((l) => ({ ...l, status: 'Revoked' as const })),
    );
  if (v('tcb-level-not-found')) {
    m.setTcbLevels(DEFAULT_FMSPC, [
      {
        ...m.tcbLevels(DEFAULT_FMSPC)[0],
        components: current.components.map((c) => c + 1),
        pceSvn: current.pceSvn + 1,
      },
    ]);
  }
  // The QE identity: as the manufacturer's default, with one thing changed.
  const qeDefault = {
    mrSigner: m.enclaveSignerMeasurement,
    isvProdId: DEFAULT_QE_ISVPRODID,
    isvSvn: DEFAULT_QE_ISVSVN,
    miscSelect: 0,
    attributes: QE_ATTRIBUTES,
  };
  if (v('qe-identity-mismatch')) m.setQeIdentity({ ...qeDefault, isvProdId: DEFAULT_QE_ISVPRODID + 1 });
  if (v('qe-identity-wrong-mrsigner'))
    m.setQeIdentity({ ...qeDefault, mrSigner: m.enclaveSignerMeasurement.map((b, i) => (i === 0 ? b ^ 1 : b)) });
  if (v('qe-identity-wrong-miscselect')) m.setQeIdentity({ ...qeDefault, miscSelect: 1 });
  // DEBUG is inside Intel's attributes mask; the QE is not a DEBUG enclave.
  if (v('qe-identity-wrong-attributes'))
    m.setQeIdentity({ ...qeDefault, attributes: { ...QE_ATTRIBUTES, flags: QE_ATTRIBUTES.flags | ATTR.DEBUG } });
  if (v('qe-svn-below-levels')) {
    m.setQeIdentity({
      ...qeDefault,
      levels: [
        {
          isvSvn: DEFAULT_QE_ISVSVN + 1,
          tcbDate: new Date(Date.now() - BACKDATE_MS).toISOString().slice(0, 10) + 'T00:00:00Z',
          status: 'UpToDate',
          advisoryIds: [],
        },
      ],
    });
  }

  const collateral = await m.collateral(DEFAULT_FMSPC, ca);
  let root = m.root;
  if (v('tcb-info-wrong-fmspc')) {
    const other = Uint8Array.from(DEFAULT_FMSPC);
    other[5] ^= 0x01;
    m.ensureFmspc(other, current);
    collateral.tcbInfo = m.tcbInfo(other);
  }
  // 31 days back with 30-day validity: nextUpdate one day before now.
  if (v('tcb-info-expired')) collateral.tcbInfo = back(31, () => m.tcbInfo(DEFAULT_FMSPC));
  if (v('qe-identity-expired')) collateral.qeIdentity = back(31, () => m.qeIdentity());
  if (v('pck-crl-expired')) collateral.pckCrl = await back(31, () => m.pckCrl(ca));
  if (v('root-crl-expired')) collateral.rootCaCrl = await back(31, () => m.rootCaCrl());
  if (v('tcb-info-bad-signature')) collateral.tcbInfo = badSignature(collateral.tcbInfo, 'tcbInfo');
  if (v('qe-identity-bad-signature')) collateral.qeIdentity = badSignature(collateral.qeIdentity, 'enclaveIdentity');
  if (v('pck-crl-bad-signature')) collateral.pckCrl = flipLastByte(collateral.pckCrl);
  if (v('root-crl-bad-signature')) collateral.rootCaCrl = flipLastByte(collateral.rootCaCrl);
  if (v('tcb-signing-other-root') || v('pck-chain-other-root')) {
    const other = await Manufacturer.create();
    other.ensureFmspc(DEFAULT_FMSPC, current);
    if (v('pck-chain-other-root')) root = other.root;
    else {
      // The same QE description as ours, so only the signing chain differs.
      other.setQeIdentity(qeDefault);
      collateral.tcbInfo = other.tcbInfo(DEFAULT_FMSPC);
      collateral.qeIdentity = other.qeIdentity();
      collateral.tcbSigningChain = other.tcbSigningChain();
    }
  }

  // Quote-side changes.
  if (v('quote-bad-signature')) quote[V3.signature + 63] ^= 0x01;
  if (v('qe-report-bad-signature')) quote[V3.qeReportSignature + 63] ^= 0x01;
  if (v('attestation-key-not-bound')) {
    const k = generateP256();
    quote.set(p256PublicRaw(k.publicKey), V3.attestationKey);
    quote.set(
      ecSign('sha256', quote.subarray(0, V3.signed), { key: k.privateKey, dsaEncoding: 'ieee-p1363' }),
      V3.signature,
    );
  }
  if (v('quote-trailing-bytes')) {
    const longer = new Uint8Array(quote.length + 1);
    longer.set(quote);
    quote = longer;
  }

  const id = platform.identity;
  return {
    ...(variant ? { variant } : {}),
    quote,
    collateral,
    root,
    mrEnclave: image.mrEnclave,
    mrSigner: image.mrSigner,
    debug,
    tcbLevel,
    fmspc: DEFAULT_FMSPC,
    ppid: id.ppid,
  };
}
