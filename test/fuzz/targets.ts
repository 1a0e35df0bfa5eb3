import { VerificationCache } from '../../src/attestation/dcap/cache.ts';
import { loadCert } from '../../src/attestation/dcap/certs.ts';
import { parseCrl } from '../../src/attestation/dcap/crl.ts';
import { collateralFromQvlJson } from '../../src/attestation/collateral/from-qvl-json.ts';
import type { Collateral } from '../../src/attestation/collateral/types.ts';
import type { Appraisal } from '../../src/attestation/dcap/types.ts';
import type { AppraisalPolicy } from '../../src/attestation/appraisal-policy.ts';
import { TCB_STATUSES } from '../../src/formats/json-fields.ts';
import { verifyQuote } from '../../src/attestation/dcap/verify-quote.ts';
import { checkBundleShape } from '../../src/chain/bundle-shape.ts';
import { verifyBundle } from '../../src/chain/verify-bundle.ts';
import { decodeCbor } from '../../src/formats/cbor.ts';
import { BUNDLE_V2_MAGIC } from '../../src/chain/bundle-v2-records.ts';
import { readBundleV2Sync } from '../../src/chain/read-bundle-v2.ts';
import { decodeDiceEvidence, readRatlsCertificate } from '../../src/channel/ratls-cert.ts';
import { createDcapRemoteVerifier } from '../../src/cot/dcap-remote-verifier.ts';
import { parseKeyRequest } from '../../src/formats/keyrequest.ts';
import { parseSecinfo } from '../../src/formats/secinfo.ts';
import { parseSecs } from '../../src/formats/secs.ts';
import { parseMockEvidence } from '../../src/channel/mock-evidence.ts';
import { parseSealedData, unsealData } from '../../src/sgx/seal.ts';
import {
  certificateExtension,
  parsePckExtension,
  pckExtensionFromCertificate,
  SGX_EXTENSION_OID,
} from '../../src/formats/pck-extension.ts';
import { slicePcsBody } from '../../src/formats/pcs-body.ts';
import { parseQeIdentity } from '../../src/formats/qe-identity.ts';
import { parseQuote } from '../../src/formats/quote.ts';
import { parseReport, parseReportBody } from '../../src/formats/report.ts';
import { parseSgxs } from '../../src/formats/sgxs.ts';
import { parseSigstruct, verifySigstruct } from '../../src/formats/sigstruct.ts';
import { parseTargetInfo } from '../../src/formats/targetinfo.ts';
import { parseTcbInfo } from '../../src/formats/tcb-info.ts';
import { parseEventLog } from '../../src/formats/parse-tdx-event-log.ts';
import { replayRtmrs } from '../../src/formats/replay-rtmrs.ts';
import { parseTdReport } from '../../src/formats/tdreport.ts';
import { measureSgxs } from '../../src/sgx/measure.ts';
import type { Corpus } from './corpus.ts';
import { cborFields, derFields, quoteFields, sgxsFields, type Field } from './fields.ts';
import type { Rng } from './prng.ts';

/**
 * What the fuzzer drives. Each target takes one input of its kind and either returns (parsed, or
 * refused by value, e.g. a shape check's `{ ok: false }`) or throws; the harness accepts only the
 * project's typed errors (run-fuzz.ts). `rng` lets a target pick between its entry points per input.
 */
export type TargetKind = 'bytes' | 'text' | 'json';

export interface Target {
  name: string;
  kind: TargetKind;
  /** What is driven, for the report and docs. */
  drives: string;
  fields?: (b: Uint8Array) => Field[];
  dictionary?: Uint8Array[];
  /**
   * `unmutated`: the input is a seed as it is (a target with modes picks the one its seeds need);
   * `seedName`: the seed it came from (the verifying targets look up its quote, collateral and time).
   */
  parse(input: never, rng: Rng, unmutated: boolean, seedName: string): unknown;
  /** A refusal by value (a shape check's `{ ok: false }`, an invalid verdict): its label for the statistics. */
  refusal?(result: unknown): string | undefined;
  /** A problem in what `parse` returned (a verdict that names an internal error), or undefined. */
  inspect?(result: unknown): string | undefined;
}

const u16 = (n: number) => Uint8Array.of(n & 0xff, n >> 8);
const u32 = (n: number) => Uint8Array.of(n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24);
const ascii = (s: string) => new TextEncoder().encode(s);
const h = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

const DER_DICTIONARY = [
  h('0500'),
  h('0101ff'),
  h('010100'),
  h('020100'),
  h('0201ff'),
  h('3000'),
  h('3180'),
  h('a003020102'),
  h('0400'),
  h('030100'),
  h('1f8101'),
  h('06092a864886f84d010d01'), // the SGX extension OID
  h('060a2a864886f84d010d0101'),
  h('060a2a864886f84d010d0102'),
  h('060b2a864886f84d010d010201'),
  h('060a2a864886f84d010d0107'),
  h('06082a8648ce3d040302'), // ecdsa-with-SHA256
  h('170d3439313233313233353935395a'),
  h('180f32303530303130313030303030305a'),
];

/**
 * Calls a check documented never to throw for bad content (verifySigstruct, verifyBundle): any error it
 * throws, typed or not, is re-thrown as a plain Error so the oracle reports it.
 */
function neverThrows<T>(what: string, f: () => T): T {
  const broken = (e: unknown) =>
    new Error(
      `${what} threw, though documented never to throw for bad content: ${(e as Error)?.message ?? String(e)}`,
      { cause: e },
    );
  try {
    const r = f();
    return (r instanceof Promise ? r.catch((e: unknown) => Promise.reject(broken(e))) : r) as T;
  } catch (e) {
    throw broken(e);
  }
}

/** A stand-in for an enclave's EGETKEY: the same 16-byte key for every key request (seeds and unsealing). */
export const FUZZ_SEALING_ENCLAVE = {
  egetkey: async () => new Uint8Array(16).fill(0x5e),
  isvSvn: 1,
  cpuSvn: new Uint8Array(16).fill(2),
};
export const FUZZ_SEAL_AAD = new TextEncoder().encode('fuzz aad');

/** What the verifying targets check against (built once per corpus; see Corpus.bundle and Corpus.verify). */
let bundleContext: { root: Uint8Array; at: Date; remote: ReturnType<typeof createDcapRemoteVerifier> } | undefined;
const verifyContexts = new Map<
  string,
  { quote: Uint8Array; collateral: Collateral; at: Date; trustedRoots?: Uint8Array[] }
>();
// Warm, as in a running verifier: certificates and CRLs already seen are not parsed again.
let verifyCache = new VerificationCache();

export function setContext(c: Corpus): void {
  const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));
  bundleContext = c.bundle
    ? {
        root: bytes(c.bundle.rootHex),
        at: new Date(c.bundle.at),
        remote: createDcapRemoteVerifier(bytes(c.bundle.rootHex)),
      }
    : undefined;
  verifyContexts.clear();
  verifyCache = new VerificationCache();
  for (const [name, v] of Object.entries(c.verify ?? {})) {
    verifyContexts.set(name, {
      quote: bytes(v.quoteHex),
      collateral: collateralFromQvlJson(v.collateral),
      at: new Date(v.at),
      ...(v.rootHex ? { trustedRoots: [bytes(v.rootHex)] } : {}),
    });
  }
}

/**
 * Every TCB status and any advisory accepted: the vectors' platforms are not UpToDate, and a seed that is
 * accepted takes the mutations through every check to the end of the pipeline.
 */
const LENIENT: AppraisalPolicy = { acceptedTcbStatuses: [...TCB_STATUSES], allowDebug: true };

function verifyContext(seedName: string) {
  const ctx = verifyContexts.get(seedName);
  if (!ctx) throw new Error(`no verification context for seed ${seedName} (Corpus.verify)`);
  return ctx;
}

/** An appraisal's failing `internal` check (ERR_VERIFIER_INTERNAL): an exception the verifier caught. */
function internalCheck(res: unknown): string | undefined {
  const bad = (res as Appraisal).checks?.find((c) => c.name === 'internal' && !c.ok);
  return bad ? `verifyQuote reported ERR_VERIFIER_INTERNAL: ${bad.detail ?? ''}` : undefined;
}
function rejectedCheck(res: unknown): string | undefined {
  const a = res as Appraisal;
  if (a.verdict !== 'rejected') return undefined;
  return `rejected:${a.checks.find((c) => !c.ok && !c.skipped)?.code ?? '?'}`;
}

export const TARGETS: Target[] = [
  {
    name: 'quote',
    kind: 'bytes',
    drives:
      'parseQuote (v3, v4 SGX, v4 TDX), with allowZeroPadding as the verifiers call it, and without it for one input in five',
    fields: quoteFields,
    dictionary: [
      u16(3),
      u16(4),
      u16(2),
      u32(0x81),
      u32(0),
      u16(5),
      u16(6),
      h('939a7233f79c4ca9940a0db3957f0607'),
      ascii('-----BEGIN CERTIFICATE-----\n'),
      new Uint8Array(70),
    ],
    parse: (b: Uint8Array, r: Rng, unmutated: boolean) =>
      parseQuote(b, { allowZeroPadding: unmutated || r.chance(0.8) }),
  },
  {
    name: 'report',
    kind: 'bytes',
    drives: 'parseReport (432 bytes), parseReportBody (384 bytes)',
    parse: (b: Uint8Array) => (b.length === 384 ? parseReportBody(b) : parseReport(b)),
  },
  { name: 'targetinfo', kind: 'bytes', drives: 'parseTargetInfo', parse: (b: Uint8Array) => parseTargetInfo(b) },
  { name: 'keyrequest', kind: 'bytes', drives: 'parseKeyRequest', parse: (b: Uint8Array) => parseKeyRequest(b) },
  {
    name: 'sigstruct',
    kind: 'bytes',
    drives: 'parseSigstruct, then verifySigstruct (RSA signature, Q1/Q2) on what parses',
    fields: () =>
      [0, 12, 16, 20, 24, 40, 128, 512, 516, 900, 904, 928, 936, 944, 1024, 1026, 1040, 1424].map((at) => ({
        at,
        size: 4,
        kind: 'le' as const,
      })),
    // Header constants, and whole 384-byte numbers (zero, all ones) to plant over the modulus, signature, Q1, Q2.
    dictionary: [
      h('06000000e10000000000010000000000'),
      h('01010000600000006000000001000000'),
      u32(0x80000000),
      u32(0x8086),
      u32(3),
      new Uint8Array(384),
      new Uint8Array(384).fill(0xff),
    ],
    parse: (b: Uint8Array) => {
      const s = parseSigstruct(b);
      return neverThrows('verifySigstruct', () => verifySigstruct(s));
    },
  },
  {
    name: 'sgxs',
    kind: 'bytes',
    drives: 'parseSgxs, then measureSgxs (the CPU order rules) on what parses',
    fields: sgxsFields,
    dictionary: ['ECREATE', 'UNSIZED', 'EADD', 'EEXTEND', 'UNMEASRD'].map((t) => ascii(t.padEnd(8, '\0'))),
    parse: (b: Uint8Array, r: Rng) => (r.chance(0.5) ? parseSgxs(b) : measureSgxs(b)),
  },
  {
    name: 'pck-extension',
    kind: 'bytes',
    drives: 'parsePckExtension (the SGX extension value, OID 1.2.840.113741.1.13.1)',
    fields: derFields,
    dictionary: DER_DICTIONARY,
    parse: (b: Uint8Array) => parsePckExtension(b),
  },
  {
    name: 'pck-certificate',
    kind: 'bytes',
    drives:
      "the verifier's loadCert (OpenSSL and the DER reader) on PCK chain certificates, then pckExtensionFromCertificate when the certificate names the SGX extension",
    fields: derFields,
    dictionary: DER_DICTIONARY,
    parse: (b: Uint8Array) => {
      const cert = loadCert(b, new VerificationCache());
      // CA certificates carry no SGX extension: ask for it only when the extension list names it.
      return certificateExtension(b, SGX_EXTENSION_OID) ? pckExtensionFromCertificate(b) : cert;
    },
  },
  {
    name: 'tcb-info',
    kind: 'text',
    drives: 'parseTcbInfo (v2, v3 SGX, v3 TDX)',
    parse: (t: string) => parseTcbInfo(t),
  },
  {
    name: 'qe-identity',
    kind: 'text',
    drives: 'parseQeIdentity (QE, TD_QE)',
    parse: (t: string) => parseQeIdentity(t),
  },
  {
    name: 'pcs-body',
    kind: 'text',
    drives: 'slicePcsBody on PCS bodies, then parseTcbInfo / parseQeIdentity on the sliced text',
    parse: (t: string) => {
      const key = t.includes('"enclaveIdentity"') ? 'enclaveIdentity' : 'tcbInfo';
      const s = slicePcsBody(t, key);
      return key === 'tcbInfo' ? parseTcbInfo(s.text) : parseQeIdentity(s.text);
    },
  },
  {
    name: 'crl',
    kind: 'bytes',
    drives: 'parseCrl (DER)',
    fields: derFields,
    dictionary: DER_DICTIONARY,
    parse: (b: Uint8Array) => parseCrl(b, new VerificationCache()),
  },
  {
    name: 'collateral-json',
    kind: 'json',
    drives: "collateralFromQvlJson (dcap-qvl's collateral.json)",
    parse: (v: unknown) => collateralFromQvlJson(v),
  },
  {
    name: 'bundle',
    kind: 'json',
    drives:
      'checkBundleShape on every input; verifyBundle on one in eight that pass it (it must return a verdict, never throw)',
    parse: (v: unknown, r: Rng) => {
      const shape = checkBundleShape(v);
      if (!shape.ok || !bundleContext || !r.chance(0.125)) return shape;
      const ctx = bundleContext;
      return neverThrows('verifyBundle', () => verifyBundle(v, { root: ctx.root, at: ctx.at, remote: ctx.remote }));
    },
    refusal: (res: unknown) => {
      const x = res as { ok?: boolean; valid?: boolean; failures?: Array<{ check: string }> };
      if (x.ok === false) return 'shape';
      if (x.valid === false) return `invalid:${x.failures?.[0]?.check ?? '?'}`;
      return undefined;
    },
    inspect: (res: unknown) => {
      const failures = (res as { failures?: Array<{ check: string; message: string }> }).failures ?? [];
      const internal = failures.find((f) => /(^|:)internal$/.test(f.check));
      return internal ? `verifyBundle reported an internal error: ${internal.check}: ${internal.message}` : undefined;
    },
  },
  {
    name: 'bundle-v2',
    kind: 'bytes',
    drives:
      'readBundleV2Sync (the streaming proof bundle v2 reader: frames, chain hashes, records, references, trailer)',
    dictionary: [BUNDLE_V2_MAGIC, h('5a'), h('59'), h('f6'), h('f5'), h('83'), h('8d')],
    parse: (b: Uint8Array) => readBundleV2Sync(b, { maxRecordBytes: 1 << 16 }),
  },
  {
    name: 'quote-verify',
    kind: 'bytes',
    drives:
      'verifyQuote on mutated quotes (emulated, and the vectors) with their collateral, time and root: a verdict, never an exception, never ERR_VERIFIER_INTERNAL',
    fields: quoteFields,
    dictionary: [
      u16(3),
      u16(4),
      u16(2),
      u32(0x81),
      u16(5),
      u16(6),
      ascii('-----BEGIN CERTIFICATE-----\n'),
      ascii('-----END CERTIFICATE-----\n'),
    ],
    parse: (b: Uint8Array, _r: Rng, _u: boolean, seedName: string) => {
      const ctx = verifyContext(seedName);
      return neverThrows('verifyQuote', () =>
        verifyQuote(b, {
          collateral: ctx.collateral,
          at: ctx.at,
          ...(ctx.trustedRoots ? { trustedRoots: ctx.trustedRoots } : {}),
          cache: verifyCache,
          policy: LENIENT,
        }),
      );
    },
    refusal: rejectedCheck,
    inspect: internalCheck,
  },
  {
    name: 'collateral-verify',
    kind: 'json',
    drives:
      'collateralFromQvlJson on mutated collateral (emulated, and the vectors), then verifyQuote of its good quote with it: typed refusal or a verdict, never ERR_VERIFIER_INTERNAL',
    parse: (v: unknown, _r: Rng, _u: boolean, seedName: string) => {
      const ctx = verifyContext(seedName);
      const collateral = collateralFromQvlJson(v);
      return neverThrows('verifyQuote', () =>
        verifyQuote(ctx.quote, {
          collateral,
          at: ctx.at,
          ...(ctx.trustedRoots ? { trustedRoots: ctx.trustedRoots } : {}),
          cache: verifyCache,
          policy: LENIENT,
        }),
      );
    },
    refusal: rejectedCheck,
    inspect: internalCheck,
  },
  {
    name: 'ratls-cert',
    kind: 'bytes',
    drives: 'readRatlsCertificate (DER; OpenSSL and @peculiar/x509 parsing, both evidence extensions, CBOR)',
    fields: derFields,
    dictionary: [...DER_DICTIONARY, h('060a2a864886f84d018a3906'), h('0606678105050409'), h('d9ea6082')],
    parse: (b: Uint8Array) => readRatlsCertificate(b),
  },
  {
    name: 'secinfo',
    kind: 'bytes',
    drives: 'parseSecinfo',
    fields: () => [{ at: 0, size: 8, kind: 'le' }],
    parse: (b: Uint8Array) => parseSecinfo(b),
  },
  {
    name: 'secs',
    kind: 'bytes',
    drives: 'parseSecs',
    fields: () => [0, 8, 16, 20, 24, 48, 56, 64].map((at) => ({ at, size: 8, kind: 'le' as const })),
    parse: (b: Uint8Array) => parseSecs(b),
  },
  {
    name: 'sealed-data',
    kind: 'bytes',
    drives: 'parseSealedData, or unsealData (AES-GCM open, AAD check) with a fixed sealing key',
    fields: () => [
      { at: 0, size: 2, kind: 'le' },
      { at: 2, size: 2, kind: 'le' },
      { at: 512, size: 4, kind: 'le' },
      { at: 528, size: 4, kind: 'le' },
    ],
    parse: (b: Uint8Array, r: Rng) =>
      r.chance(0.5) ? parseSealedData(b) : unsealData(FUZZ_SEALING_ENCLAVE, b, FUZZ_SEAL_AAD),
  },
  {
    name: 'tdx-event-log',
    kind: 'bytes',
    drives: 'parseEventLog (a TD CCEL event log), then replayRtmrs on what parses',
    dictionary: [u32(3), u32(0x000c), u16(0x000c), u16(48), u32(0xffffffff), ascii('Spec ID Event03\0')],
    parse: (b: Uint8Array) => replayRtmrs(parseEventLog(b).events),
  },
  {
    name: 'tdreport',
    kind: 'bytes',
    drives: 'parseTdReport (TDREPORT_STRUCT, 1024 bytes)',
    parse: (b: Uint8Array) => parseTdReport(b),
  },
  {
    name: 'mock-evidence',
    kind: 'bytes',
    drives: 'parseMockEvidence (the RA-TLS mock evidence)',
    parse: (b: Uint8Array) => parseMockEvidence(b),
  },
  {
    name: 'cbor',
    kind: 'bytes',
    drives: 'decodeCbor, decodeDiceEvidence',
    fields: cborFields,
    dictionary: [
      h('d9ea60'),
      h('82'),
      h('a1'),
      h('5f'),
      h('9f'),
      h('ff'),
      h('f6'),
      h('fb3ff8000000000000'),
      h('1bffffffffffffffff'),
      h('1b0020000000000000'),
      h('7f'),
      h('c0'),
    ],
    parse: (b: Uint8Array, r: Rng, unmutated: boolean) =>
      unmutated || r.chance(0.5) ? decodeCbor(b) : decodeDiceEvidence(b),
  },
];

export function targetByName(name: string): Target {
  const t = TARGETS.find((x) => x.name === name);
  if (!t) throw new Error(`no fuzz target ${name} (targets: ${TARGETS.map((x) => x.name).join(', ')})`);
  return t;
}
