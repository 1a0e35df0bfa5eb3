import { createPublicKey, verify as ecVerify, type KeyObject } from 'node:crypto';
import { equal, hex, isZero } from '../../bytes/util.ts';
import { sha256Parts } from '../../crypto/sha256.ts';
import { ArgumentError, CatenaError } from '../../errors.ts';
import { isDebug } from '../../formats/attributes.ts';
import { pckExtensionFromCertificate, type PckExtension } from '../../formats/pck-extension.ts';
import { parseQeIdentity, type EnclaveIdentity } from '../../formats/qe-identity.ts';
import {
  ATT_KEY_TYPE_ECDSA_P256,
  CERT_DATA_PCK_CHAIN,
  INTEL_QE_VENDOR_ID_HEX,
  parseQuote,
  TEE_TYPE_TDX,
  type Quote,
} from '../../formats/quote.ts';
import { parseTcbInfo, type TcbInfo } from '../../formats/tcb-info.ts';
import type { SignedJson } from '../../formats/pcs-body.ts';
import { isCollateralSource, type Collateral } from '../collateral/types.ts';
import { applyPolicy } from '../policy.ts';
import { applyTdPolicy, eventLogCheck } from '../td-policy.ts';
import { pemCertificates } from '../pem.ts';
import { VerificationCache } from './cache.ts';
import { buildChain, commonName, findLeaf, loadCert, type Anchor, type Cert } from './certs.ts';
import { checkCrl, parseCrl, type Crl } from './crl.ts';
import { INTEL_ROOT_PUBLIC_KEY_HEX } from './intel-root.ts';
import {
  checkTdxModule,
  convergeStatus,
  matchPlatformTcbLevel,
  matchQeTcbLevel,
  type StatusWithAdvisories,
} from './tcb-level.ts';
import type { Appraisal, Check, QuoteSummary, QuoteVerifier, VerifyOptions } from './types.ts';

/**
 * The strict DCAP quote verifier: one code path for real Intel quotes and emulated ones, in Intel QVL's
 * order. Every check is named in the appraisal; bad evidence or collateral becomes a rejected appraisal
 * naming the first failing check, never an exception. docs/verification.md lists the checks.
 */

/** Stable error code of each DCAP check when it fails. */
export const CHECK_CODES: Record<string, string> = {
  'quote.format': 'ERR_QUOTE_FORMAT',
  'quote.header': 'ERR_QUOTE_UNSUPPORTED',
  'pck.chain': 'ERR_PCK_CHAIN',
  'pck.extension': 'ERR_PCK_EXTENSION',
  'collateral.source': 'ERR_COLLATERAL_UNAVAILABLE',
  'crl.rootCa': 'ERR_ROOT_CA_CRL',
  'crl.pck': 'ERR_PCK_CRL',
  'pck.revocation': 'ERR_CERT_REVOKED',
  'collateral.tcbSigningChain': 'ERR_TCB_SIGNING_CHAIN',
  'collateral.tcbInfo': 'ERR_TCB_INFO',
  'collateral.tcbInfoWindow': 'ERR_COLLATERAL_EXPIRED',
  'collateral.qeIdentity': 'ERR_QE_IDENTITY',
  'collateral.qeIdentityWindow': 'ERR_COLLATERAL_EXPIRED',
  'pck.fmspcPceId': 'ERR_FMSPC_MISMATCH',
  'qe.reportSignature': 'ERR_QE_REPORT_SIGNATURE',
  'qe.keyBinding': 'ERR_QE_KEY_BINDING',
  'qe.identity': 'ERR_QE_IDENTITY_MISMATCH',
  'quote.signature': 'ERR_QUOTE_SIGNATURE',
  'tcb.platformLevel': 'ERR_TCB_LEVEL_NOT_FOUND',
  'tdx.module': 'ERR_TDX_MODULE',
  'tcb.status': 'ERR_TCB_REVOKED',
};

class Run {
  readonly checks: Check[] = [];
  pass(name: string, detail: string): void {
    this.checks.push({ name, ok: true, detail });
  }
  // Stryker disable next-line StringLiteral: every name failed without a code is a key of CHECK_CODES (the one other, 'internal', brings its code): the fallback is never read
  fail(name: string, detail: string, code = CHECK_CODES[name] ?? 'ERR_VERIFICATION'): void {
    this.checks.push({ name, ok: false, detail, code });
  }
  skip(name: string, because: string): void {
    this.checks.push({
      name,
      ok: false,
      skipped: true,
      detail: `not evaluated: ${because}`,
      // Stryker disable next-line StringLiteral: every skipped name is a key of CHECK_CODES: the fallback is never read
      code: CHECK_CODES[name] ?? 'ERR_VERIFICATION',
    });
  }
  /** Records `ok ? pass : fail`. */
  record(name: string, ok: boolean, detail: string): boolean {
    if (ok) this.pass(name, detail);
    else this.fail(name, detail);
    return ok;
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Trust anchors from DER certificates or raw P-256 keys (default: Intel's root key). ArgumentError for anything else. */
export function anchorsFrom(roots: Uint8Array[] | undefined, cache: VerificationCache): Anchor[] {
  if (!roots) return [{ publicKeyHex: INTEL_ROOT_PUBLIC_KEY_HEX, isIntel: true }];
  return roots.map((r, i) => {
    if (!(r instanceof Uint8Array)) throw new ArgumentError(`trustedRoots[${i}]: expected Uint8Array`);
    if (r.length === 64 || (r.length === 65 && r[0] === 4)) {
      const k = hex(r.length === 65 ? r.subarray(1) : r);
      return { publicKeyHex: k, isIntel: k === INTEL_ROOT_PUBLIC_KEY_HEX };
    }
    let cert: Cert;
    try {
      cert = loadCert(r, cache);
    } catch (e) {
      throw new ArgumentError(`trustedRoots[${i}]: neither a raw P-256 key nor a DER certificate (${message(e)})`);
    }
    if (!cert.publicKeyHex) throw new ArgumentError(`trustedRoots[${i}]: not a P-256 key`);
    return { publicKeyHex: cert.publicKeyHex, isIntel: cert.publicKeyHex === INTEL_ROOT_PUBLIC_KEY_HEX, cert };
  });
}

function summarize(q: Quote): QuoteSummary {
  const base = { version: q.header.version, qeSvn: q.header.qeSvn, pceSvn: q.header.pceSvn };
  if (q.body.kind === 'sgx') {
    const r = q.body.report;
    const attrs = new Uint8Array(16);
    const dv = new DataView(attrs.buffer);
    dv.setBigUint64(0, r.attributes.flags, true);
    dv.setBigUint64(8, r.attributes.xfrm, true);
    return {
      ...base,
      teeType: 'sgx',
      mrEnclave: hex(r.mrEnclave),
      mrSigner: hex(r.mrSigner),
      isvProdId: r.isvProdId,
      isvSvn: r.isvSvn,
      debug: isDebug(r.attributes),
      reportData: hex(r.reportData),
      attributes: hex(attrs),
    };
  }
  const t = q.body.report;
  return {
    ...base,
    teeType: 'tdx',
    mrEnclave: hex(t.mrTd),
    mrSigner: '',
    isvProdId: 0,
    isvSvn: 0,
    // TD_ATTRIBUTES bit 0 (TUD.DEBUG): the TD runs in debug mode.
    debug: (t.tdAttributes[0] & 0x01) !== 0,
    reportData: hex(t.reportData),
    attributes: hex(t.tdAttributes),
    td: {
      teeTcbSvn: hex(t.teeTcbSvn),
      mrSeam: hex(t.mrSeam),
      mrSignerSeam: hex(t.mrSignerSeam),
      seamAttributes: hex(t.seamAttributes),
      xfam: hex(t.xfam),
      mrConfigId: hex(t.mrConfigId),
      mrOwner: hex(t.mrOwner),
      mrOwnerConfig: hex(t.mrOwnerConfig),
      rtmr: t.rtmr.map(hex),
      ...(t.mrServiceTd
        ? { mrServiceTd: hex(t.mrServiceTd), teeTcbSvn2: hex(t.teeTcbSvn2 ?? new Uint8Array(16)) }
        : {}),
    },
  };
}

/** P-256 public key from X‖Y, through a minimal SPKI DER (faster than JWK import). */
const SPKI_P256_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
function p256Key(raw64: Uint8Array): KeyObject {
  return createPublicKey({
    key: Buffer.concat([SPKI_P256_PREFIX, Buffer.from([4]), raw64]),
    format: 'der',
    type: 'spki',
  });
}

function verifyRaw(key: KeyObject, data: Uint8Array, rs: Uint8Array): boolean {
  try {
    return ecVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, rs);
  } catch /* Stryker disable next-line BlockStatement: an empty catch returns undefined, which every caller reads as false */ {
    return false;
  }
}

function pckCaOf(c: Cert): 'processor' | 'platform' {
  return /platform/i.test(c.issuerText) ? 'platform' : 'processor';
}

interface PckChainInfo {
  certs: Cert[];
  leaf: Cert;
}

/** Verifies one signed collateral object (TCB info or QE identity) and parses it. */
function signedCollateral<T>(
  run: Run,
  name: 'collateral.tcbInfo' | 'collateral.qeIdentity',
  signed: SignedJson,
  signer: Cert | undefined,
  signerProblem: string | undefined,
  parse: (text: string) => T,
  cache: VerificationCache,
): T | undefined {
  let parsed: T | undefined;
  let parseError: string | undefined;
  try {
    parsed = cache.memo(name, signed.text, () => parse(signed.text));
  } catch (e) {
    parseError = message(e);
  }
  if (!signer) {
    run.skip(name, signerProblem ?? 'no signing certificate');
    return parsed;
  }
  const ok = cache.memo(`${name}.sig`, `${cache.textId(signed.text)}|${hex(signed.signature)}|${signer.id}`, () =>
    // Stryker disable next-line StringLiteral: Buffer.from reads an empty encoding name as UTF-8
    verifyRaw(signer.publicKey, Buffer.from(signed.text, 'utf8'), signed.signature),
  );
  if (!ok)
    run.fail(
      name,
      `the signature over the exact ${name === 'collateral.tcbInfo' ? 'tcbInfo' : 'enclaveIdentity'} text does not verify with "${commonName(signer)}"`,
    );
  else if (parseError) run.fail(name, parseError);
  else run.pass(name, `signed by "${commonName(signer)}"`);
  return parsed;
}

function windowCheck(
  run: Run,
  cache: VerificationCache,
  name: string,
  what: string,
  issueDate: Date,
  nextUpdate: Date,
  at: Date,
): void {
  if (at < issueDate)
    run.fail(name, `${what} issued ${cache.iso(issueDate)}, after the verification time ${at.toISOString()}`);
  else if (at > nextUpdate)
    run.fail(
      name,
      `${what} expired: nextUpdate ${cache.iso(nextUpdate)} is before the verification time ${at.toISOString()}`,
    );
  else run.pass(name, `${what} current (${cache.iso(issueDate)} to ${cache.iso(nextUpdate)})`);
}

/**
 * The DCAP verifier. Holds a VerificationCache: `new DcapVerifier()` is cold, a reused instance is warm.
 * `opts.cache`, when given, takes precedence over the instance's.
 */
export class DcapVerifier implements QuoteVerifier {
  readonly cache: VerificationCache;
  constructor(opts: { cache?: VerificationCache } = {}) {
    this.cache = opts.cache ?? new VerificationCache();
  }

  async verify(quoteBytes: Uint8Array, opts: VerifyOptions): Promise<Appraisal> {
    if (!(quoteBytes instanceof Uint8Array)) throw new ArgumentError('quote: expected Uint8Array');
    if (!(opts?.at instanceof Date) || Number.isNaN(opts.at.getTime()))
      throw new ArgumentError('VerifyOptions.at: an explicit, valid Date is required');
    if (!opts.collateral) throw new ArgumentError('VerifyOptions.collateral is required');
    const cache = opts.cache ?? this.cache;
    const anchors = anchorsFrom(opts.trustedRoots, cache);
    const run = new Run();
    const out: Appraisal = {
      // Stryker disable next-line StringLiteral: finish() sets the verdict on every path
      verdict: 'rejected',
      advisoryIds: [],
      checks: run.checks,
      rootIsIntel: false,
      at: opts.at.toISOString(),
    };
    try {
      return await this.run(quoteBytes, opts, cache, anchors, run, out);
    } catch (e) {
      // A bug or an input shape no check anticipated: still an appraisal, never an exception for evidence.
      run.fail('internal', message(e), 'ERR_VERIFIER_INTERNAL');
      return this.finish(out, run, opts, out.quote, []);
    }
  }

  private async run(
    quoteBytes: Uint8Array,
    opts: VerifyOptions,
    cache: VerificationCache,
    anchors: Anchor[],
    run: Run,
    out: Appraisal,
  ): Promise<Appraisal> {
    const at = opts.at;

    // [mutation scope `checks`] begin
    // 1. quote.format — exact layout, sizes consistent with sig_data_len; zero padding only after a TDX v4 quote.
    let q: Quote | undefined;
    try {
      q = parseQuote(quoteBytes, { allowZeroPadding: true });
      // Stryker disable next-line ConditionalExpression: a v3 header's tee type is 0 (parseQuote refuses any other), so `version === 4` → true changes nothing
      if (q.paddingLength > 0 && !(q.header.version >= 4 && q.header.teeType === TEE_TYPE_TDX)) {
        run.fail('quote.format', `${q.paddingLength} trailing bytes after the signature data`, 'ERR_TRAILING_BYTES');
        q = undefined;
      } else
        run.pass(
          'quote.format',
          `v${q.header.version} ${q.body.kind === 'sgx' ? 'SGX' : 'TDX'} quote, ${quoteBytes.length} bytes${q.paddingLength ? ` (${q.paddingLength} zero bytes of padding ignored)` : ''}`,
        );
    } catch (e) {
      // Stryker disable next-line StringLiteral: parseQuote reports every malformation as a FormatError (its Reader, its fail()), a CatenaError: the fallback is never read
      run.fail('quote.format', message(e), e instanceof CatenaError ? e.code : 'ERR_QUOTE_FORMAT');
    }
    if (!q) return this.finish(out, run, opts, undefined, []);
    out.quote = summarize(q);
    const isTdx = q.body.kind === 'td10';

    // 2. quote.header — ECDSA P-256 attestation key, Intel's QE vendor ID, a PCK chain (cert data type 5).
    const cert = q.signatureData.qe.certification;
    const headerProblems: string[] = [];
    if (q.header.attKeyType !== ATT_KEY_TYPE_ECDSA_P256)
      headerProblems.push(`attestation key type ${q.header.attKeyType} is not 2 (ECDSA P-256)`);
    if (hex(q.header.qeVendorId) !== INTEL_QE_VENDOR_ID_HEX)
      headerProblems.push(`QE vendor ID ${hex(q.header.qeVendorId)} is not Intel's`);
    if (cert.type !== CERT_DATA_PCK_CHAIN)
      headerProblems.push(`certification data type ${cert.type} is not 5 (PCK certificate chain)`);
    if (headerProblems.length) run.fail('quote.header', headerProblems.join('; '));
    else
      run.pass(
        'quote.header',
        // [mutation scope `checks`] end
        `ECDSA P-256, Intel QE, certification data type 5${q.signatureData.outerCertType ? ' inside type 6' : ''}`,
      );

    // 3. pck.chain — the quote's PCK chain, built by issuer/subject to a pinned root.
    let pck: PckChainInfo | undefined;
    let pckChain: Cert[] | undefined;
    let pckProblem: string | undefined;
    try {
      pck = cache.memoRecent('pckcerts', [cert.data], () => {
        const certs = pemCertificates(Buffer.from(cert.data).toString('latin1'), { strict: true }).map((d) =>
          loadCert(d, cache),
        );
        // Stryker disable next-line ConditionalExpression: with no certificate findLeaf gives undefined and the next line throws: the same ERR_PCK_CHAIN, another detail
        if (certs.length === 0) throw new Error('the certification data holds no certificate');
        const leaf = findLeaf(certs);
        if (!leaf) throw new Error('cannot tell the PCK leaf: the certificates do not form one chain');
        return { certs, leaf };
      });
    } catch (e) {
      pckProblem = `PCK certificates unreadable: ${message(e)}`;
    }
    // [mutation scope `checks`] begin
    // Stryker disable next-line ArrayDeclaration: `['Stryker was here']` for an anchor with no certificate (a bare key) puts a string in the pool, which matches no issuer: the chain is the same
    const anchorCerts = anchors.flatMap((a) => (a.cert ? [a.cert] : []));
    if (pck) {
      const res = buildChain(pck.leaf, [...pck.certs, ...anchorCerts], anchors, at, cache);
      // Every certificate the quote carries is on the chain: one passed over (an altered copy of the
      // root, say, for which the trusted one stood in) is refused, not ignored.
      const stray = res.ok ? pck.certs.find((c) => !res.chain.includes(c)) : undefined;
      if (res.ok && !stray) {
        pckChain = res.chain;
        out.rootIsIntel = res.anchor.isIntel;
        run.pass(
          'pck.chain',
          `${res.chain.map(commonName).join(' → ')}${res.anchor.isIntel ? ' (Intel root key)' : ' (caller-supplied root, not Intel)'}`,
        );
      } else {
        const reason = res.ok
          ? `the certification data holds "${commonName(stray!)}", which is not on the chain to the trusted root`
          : res.reason;
        pckProblem = reason;
        run.fail('pck.chain', reason);
      }
      // [mutation scope `checks`] end
    } else run.fail('pck.chain', pckProblem!);

    // 4. pck.extension — Intel's SGX extension in the PCK leaf (FMSPC, PCE-ID, TCB components).
    let ext: PckExtension | undefined;
    if (pck) {
      try {
        ext = cache.memo('pckext', pck.leaf.id, () => pckExtensionFromCertificate(pck.leaf.der));
        run.pass('pck.extension', `FMSPC ${hex(ext.fmspc)}, PCE-ID ${hex(ext.pceId)}, PCESVN ${ext.tcb.pceSvn}`);
        out.platform = {
          fmspc: hex(ext.fmspc),
          pceId: hex(ext.pceId),
          ppid: hex(ext.ppid),
          pckCa: pckCaOf(pck.leaf),
          tcbComponents: [...ext.tcb.components],
          pceSvn: ext.tcb.pceSvn,
          cpuSvn: hex(ext.tcb.cpuSvn),
          sgxType: ext.sgxType,
        };
      } catch (e) {
        run.fail('pck.extension', message(e));
      }
    } else run.skip('pck.extension', 'no PCK certificate');

    // 5. collateral.source — the collateral itself (a source is asked for this FMSPC / CA / TEE).
    let col: Collateral | undefined;
    if (isCollateralSource(opts.collateral)) {
      if (!ext || !pck) run.skip('collateral.source', 'the FMSPC is unknown without a readable PCK certificate');
      else {
        try {
          col = await opts.collateral.get(
            { fmspc: hex(ext.fmspc), pckCa: pckCaOf(pck.leaf), teeType: isTdx ? 'tdx' : 'sgx' },
            at,
          );
          run.pass('collateral.source', col.origin ?? 'collateral obtained');
        } catch (e) {
          run.fail(
            'collateral.source',
            message(e),
            // Otherwise fail()'s default: CHECK_CODES['collateral.source'].
            e instanceof CatenaError ? e.code : undefined,
          );
        }
      }
    } else {
      col = opts.collateral;
      run.pass('collateral.source', col.origin ?? 'collateral given by the caller');
    }
    if (col) out.collateral = { ...(col.origin ? { origin: col.origin } : {}) };

    const root = pckChain?.[pckChain.length - 1];
    const pckIssuer = pckChain?.[1];

    // [mutation scope `checks`] begin
    // 6. crl.rootCa — root CA CRL: issuer, signature by the root, thisUpdate ≤ at ≤ nextUpdate. Fail closed.
    let rootCrl: Crl | undefined;
    if (!col) run.skip('crl.rootCa', 'no collateral');
    else if (!root) run.skip('crl.rootCa', 'no verified root (pck.chain failed)');
    else {
      try {
        rootCrl = parseCrl(col.rootCaCrl, cache);
        const problem = checkCrl(rootCrl, root, at, cache);
        if (problem) {
          run.fail('crl.rootCa', `root CA CRL ${problem}`);
          rootCrl = undefined;
        } else
          run.pass(
            'crl.rootCa',
            `signed by "${commonName(root)}", current until ${cache.iso(rootCrl.nextUpdate)}, ${rootCrl.revoked.size} revoked`,
          );
      } catch (e) {
        run.fail('crl.rootCa', `root CA CRL unreadable: ${message(e)}`);
        rootCrl = undefined;
      }
    }

    // 7. crl.pck — PCK CRL issued and signed by the PCK leaf's issuing CA, current at `at`. Fail closed.
    let pckCrl: Crl | undefined;
    if (!col) run.skip('crl.pck', 'no collateral');
    else if (!pckIssuer) run.skip('crl.pck', 'no verified PCK issuer (pck.chain failed)');
    else {
      try {
        pckCrl = parseCrl(col.pckCrl, cache);
        const problem = checkCrl(pckCrl, pckIssuer, at, cache);
        if (problem) {
          run.fail('crl.pck', `PCK CRL ${problem}`);
          pckCrl = undefined;
        } else
          run.pass(
            'crl.pck',
            `signed by "${commonName(pckIssuer)}", current until ${cache.iso(pckCrl.nextUpdate)}, ${pckCrl.revoked.size} revoked`,
          );
      } catch (e) {
        run.fail('crl.pck', `PCK CRL unreadable: ${message(e)}`);
        pckCrl = undefined;
      }
      // [mutation scope `checks`] end
    }

    // 8. collateral.tcbSigningChain — the TCB signing certificate to the same pinned root (root may come from the quote).
    let tcbSigner: Cert | undefined;
    let qeIdSigner: Cert | undefined;
    let signerProblem: string | undefined;
    let tcbSigningChain: Cert[] | undefined;
    if (!col) run.skip('collateral.tcbSigningChain', 'no collateral');
    else {
      const chainFor = (ders: Uint8Array[], what: string): { leaf: Cert; chain: Cert[] } | string => {
        let certs: Cert[];
        try {
          certs = ders.map((d) => loadCert(d, cache));
        } catch (e) {
          return `${what} unreadable: ${message(e)}`;
        }
        const leaf = findLeaf(certs);
        if (!leaf) return `${what}: cannot tell the signing certificate (no single leaf)`;
        // Stryker disable next-line ArrayDeclaration: `['Stryker was here']` when the PCK certificates are unreadable puts a string in the pool, which matches no issuer: the chain is the same
        const res = buildChain(leaf, [...certs, ...(pck?.certs ?? []), ...anchorCerts], anchors, at, cache);
        if (!res.ok) return `${what}: ${res.reason}`;
        return { leaf, chain: res.chain };
      };
      // [mutation scope `checks`] begin
      const tcb = chainFor(col.tcbSigningChain, 'TCB signing chain');
      const qeid = col.qeIdentitySigningChain ? chainFor(col.qeIdentitySigningChain, 'QE identity signing chain') : tcb;
      if (typeof tcb === 'string') signerProblem = tcb;
      else if (typeof qeid === 'string') signerProblem = qeid;
      if (signerProblem) run.fail('collateral.tcbSigningChain', signerProblem);
      else {
        tcbSigner = (tcb as { leaf: Cert }).leaf;
        qeIdSigner = (qeid as { leaf: Cert }).leaf;
        tcbSigningChain = [...(tcb as { chain: Cert[] }).chain, ...(qeid as { chain: Cert[] }).chain];
        const anchorKey = tcbSigningChain[tcbSigningChain.length - 1].publicKeyHex;
        if (root && anchorKey !== root.publicKeyHex) {
          signerProblem = 'the TCB signing chain ends at a different root than the PCK chain';
          run.fail('collateral.tcbSigningChain', signerProblem);
          tcbSigner = qeIdSigner = undefined;
        } else run.pass('collateral.tcbSigningChain', (tcb as { chain: Cert[] }).chain.map(commonName).join(' → '));
      }
    }

    // 9. pck.revocation — no certificate below the root is on the root CA CRL; the PCK leaf is not on the PCK CRL.
    if (!rootCrl || !pckCrl || !pckChain) run.skip('pck.revocation', 'needs the PCK chain and both CRLs');
    else {
      const revoked: string[] = [];
      if (pckCrl.revoked.has(pck!.leaf.serial)) revoked.push(`PCK certificate ${pck!.leaf.serial}`);
      // Stryker disable next-line ArrayDeclaration: `['Stryker was here']` for the missing TCB signing chain is a string, whose serial (undefined) is on no CRL
      for (const c of [...pckChain.slice(1, -1), ...(tcbSigningChain ?? []).filter((c) => !c.selfIssued)]) {
        if (rootCrl.revoked.has(c.serial)) revoked.push(`"${commonName(c)}" (${c.serial})`);
      }
      run.record(
        'pck.revocation',
        revoked.length === 0,
        revoked.length ? `revoked: ${[...new Set(revoked)].join(', ')}` : 'no certificate on the path is revoked',
      );
      // [mutation scope `checks`] end
    }

    // [mutation scope `checks`] begin
    // 10–13. collateral.tcbInfo / .qeIdentity — signatures over their exact text, then their validity windows at `at`.
    let tcbInfo: TcbInfo | undefined;
    let qeIdentity: EnclaveIdentity | undefined;
    if (!col) {
      for (const n of [
        'collateral.tcbInfo',
        'collateral.tcbInfoWindow',
        'collateral.qeIdentity',
        'collateral.qeIdentityWindow',
      ])
        run.skip(n, 'no collateral');
    } else {
      tcbInfo = signedCollateral(run, 'collateral.tcbInfo', col.tcbInfo, tcbSigner, signerProblem, parseTcbInfo, cache);
      if (tcbInfo) {
        const expectId = isTdx ? 'TDX' : 'SGX';
        // Stryker disable next-line ConditionalExpression: parseTcbInfo gives the id TDX to v3 only, so `isTdx && version < 3` → false changes nothing
        if (tcbInfo.id !== expectId || (isTdx && tcbInfo.version < 3)) {
          const last = run.checks[run.checks.length - 1];
          // Stryker disable next-line ConditionalExpression: `true` rewrites a check that already failed (or was skipped) with the same code: only its detail text changes
          if (last.ok)
            Object.assign(last, {
              ok: false,
              detail: `TCB info ${tcbInfo.id} v${tcbInfo.version} does not fit a ${expectId} quote`,
              code: CHECK_CODES['collateral.tcbInfo'],
            });
        }
        windowCheck(run, cache, 'collateral.tcbInfoWindow', 'TCB info', tcbInfo.issueDate, tcbInfo.nextUpdate, at);
        out.collateral!.tcbInfo = {
          issueDate: cache.iso(tcbInfo.issueDate),
          nextUpdate: cache.iso(tcbInfo.nextUpdate),
          tcbEvaluationDataNumber: tcbInfo.tcbEvaluationDataNumber,
          version: tcbInfo.version,
          id: tcbInfo.id,
        };
      } else run.skip('collateral.tcbInfoWindow', 'the TCB info could not be read');
      qeIdentity = signedCollateral(
        run,
        'collateral.qeIdentity',
        col.qeIdentity,
        qeIdSigner,
        signerProblem,
        parseQeIdentity,
        cache,
      );
      if (qeIdentity) {
        const expectId = isTdx ? 'TD_QE' : 'QE';
        if (qeIdentity.id !== expectId) {
          const last = run.checks[run.checks.length - 1];
          // Stryker disable next-line ConditionalExpression: `true` rewrites a check that already failed (or was skipped) with the same code: only its detail text changes
          if (last.ok)
            Object.assign(last, {
              ok: false,
              detail: `enclave identity ${qeIdentity.id} is not ${expectId}`,
              code: CHECK_CODES['collateral.qeIdentity'],
            });
        }
        windowCheck(
          run,
          cache,
          'collateral.qeIdentityWindow',
          'QE identity',
          qeIdentity.issueDate,
          qeIdentity.nextUpdate,
          at,
        );
        out.collateral!.qeIdentity = {
          issueDate: cache.iso(qeIdentity.issueDate),
          nextUpdate: cache.iso(qeIdentity.nextUpdate),
          tcbEvaluationDataNumber: qeIdentity.tcbEvaluationDataNumber,
          id: qeIdentity.id,
        };
      } else run.skip('collateral.qeIdentityWindow', 'the QE identity could not be read');
    }

    // 14. pck.fmspcPceId — the TCB info is for this platform.
    if (!tcbInfo || !ext) run.skip('pck.fmspcPceId', 'needs the TCB info and the PCK extension');
    else {
      const okF = equal(tcbInfo.fmspc, ext.fmspc);
      const okP = equal(tcbInfo.pceId, ext.pceId);
      run.record(
        'pck.fmspcPceId',
        okF && okP,
        okF && okP
          ? `FMSPC ${hex(ext.fmspc)}, PCE-ID ${hex(ext.pceId)}`
          : `TCB info is for FMSPC ${hex(tcbInfo.fmspc)} / PCE-ID ${hex(tcbInfo.pceId)}, the PCK certificate says ${hex(ext.fmspc)} / ${hex(ext.pceId)}`,
      );
    }

    // 15. qe.reportSignature — the QE report body is signed by the PCK leaf's key.
    const sd = q.signatureData;
    if (!pck || !pckChain) run.skip('qe.reportSignature', 'the PCK certificate is not verified (pck.chain failed)');
    else {
      const leafId = new TextEncoder().encode(pck.leaf.id);
      const ok = cache.memoRecent('qereport', [sd.qe.qeReportRaw, sd.qe.qeReportSignature, leafId], () =>
        verifyRaw(pck.leaf.publicKey, sd.qe.qeReportRaw, sd.qe.qeReportSignature),
      );
      run.record(
        'qe.reportSignature',
        ok,
        ok ? 'the PCK key signed the QE report' : 'the QE report signature does not verify with the PCK key',
      );
    }

    // 16. qe.keyBinding — QE REPORTDATA = SHA-256(attestation key ‖ QE auth data) ‖ 32 zero bytes.
    {
      const rd = sd.qe.qeReport.reportData;
      const want = sha256Parts(sd.attestationKey, sd.qe.qeAuthData);
      const ok = equal(rd.subarray(0, 32), want) && isZero(rd.subarray(32));
      run.record(
        'qe.keyBinding',
        ok,
        ok
          ? 'QE REPORTDATA binds the attestation key and auth data'
          : 'QE REPORTDATA is not SHA-256(attestation key ‖ QE auth data) ‖ 0³²',
      );
    }

    // 17. qe.identity — MRSIGNER, ISVPRODID, masked MISCSELECT and ATTRIBUTES, and the QE's TCB level by ISVSVN.
    const qeRep = sd.qe.qeReport;
    out.qe = {
      mrEnclave: hex(qeRep.mrEnclave),
      mrSigner: hex(qeRep.mrSigner),
      isvProdId: qeRep.isvProdId,
      isvSvn: qeRep.isvSvn,
    };
    let qeStatus: StatusWithAdvisories | undefined;
    if (!qeIdentity) run.skip('qe.identity', 'the QE identity could not be read');
    else {
      const problems: string[] = [];
      if (!equal(qeRep.mrSigner, qeIdentity.mrSigner))
        problems.push(`MRSIGNER ${hex(qeRep.mrSigner)} is not ${hex(qeIdentity.mrSigner)}`);
      if (qeRep.isvProdId !== qeIdentity.isvProdId)
        problems.push(`ISVPRODID ${qeRep.isvProdId} is not ${qeIdentity.isvProdId}`);
      const dv = new DataView(qeIdentity.miscSelect.buffer, qeIdentity.miscSelect.byteOffset, 4);
      const mv = new DataView(qeIdentity.miscSelectMask.buffer, qeIdentity.miscSelectMask.byteOffset, 4);
      const mask = mv.getUint32(0, true);
      if ((qeRep.miscSelect & mask) >>> 0 !== (dv.getUint32(0, true) & mask) >>> 0)
        problems.push('MISCSELECT differs under the mask');
      const attrs = new Uint8Array(16);
      const av = new DataView(attrs.buffer);
      av.setBigUint64(0, qeRep.attributes.flags, true);
      av.setBigUint64(8, qeRep.attributes.xfrm, true);
      // Stryker disable next-line EqualityOperator: `i <= 16` reads index 16 of both 16-byte arrays, undefined & undefined = 0 on both sides
      for (let i = 0; i < 16; i++) {
        if ((attrs[i] & qeIdentity.attributesMask[i]) !== (qeIdentity.attributes[i] & qeIdentity.attributesMask[i])) {
          problems.push('ATTRIBUTES differ under the mask');
          break;
        }
      }
      qeStatus = matchQeTcbLevel(qeIdentity, qeRep.isvSvn);
      if (!qeStatus) problems.push(`QE ISVSVN ${qeRep.isvSvn} is below every TCB level (treated as Revoked)`);
      else out.qe.tcbStatus = qeStatus.status;
      run.record(
        'qe.identity',
        problems.length === 0,
        problems.length ? problems.join('; ') : `${qeIdentity.id} at ISVSVN ${qeRep.isvSvn}: ${qeStatus!.status}`,
      );
      if (!qeStatus) qeStatus = { status: 'Revoked', advisoryIds: [] };
    }

    // 18. quote.signature — the attestation key signed header ‖ body.
    {
      let ok = false;
      // Stryker disable next-line StringLiteral: only the detail text of quote.signature
      let detail = 'the quote signature does not verify with the attestation key';
      try {
        const key = cache.memo('attkey', hex(sd.attestationKey), () => p256Key(sd.attestationKey));
        ok = verifyRaw(key, q.signedBytes, sd.signature);
      } catch {
        // Stryker disable next-line StringLiteral: only the detail text of quote.signature
        detail = 'the attestation key is not a P-256 point';
      }
      run.record('quote.signature', ok, ok ? 'the attestation key signed header ‖ body' : detail);
    }

    // 19. tcb.platformLevel (+ tdx.module) — from the PCK certificate's components, PCESVN (and TEE_TCB_SVN).
    let platformStatus: StatusWithAdvisories | undefined;
    if (!tcbInfo || !ext) run.skip('tcb.platformLevel', 'needs the TCB info and the PCK extension');
    else {
      const level = matchPlatformTcbLevel(
        tcbInfo,
        ext.tcb,
        // Stryker disable next-line ConditionalExpression: `true` reads teeTcbSvn of an SGX report body, which has none: undefined, as the other branch
        q.body.kind === 'td10' ? q.body.report.teeTcbSvn : undefined,
      );
      if (!level)
        run.fail(
          'tcb.platformLevel',
          `components ${ext.tcb.components.join(',')} / PCESVN ${ext.tcb.pceSvn}${isTdx ? ` / TEE_TCB_SVN ${out.quote.td!.teeTcbSvn}` : ''} reach no TCB level`,
        );
      else {
        platformStatus = { status: level.tcbStatus, advisoryIds: [...level.advisoryIds] };
        run.pass(
          'tcb.platformLevel',
          `level of ${cache.iso(level.tcbDate).slice(0, 10)}: ${level.tcbStatus}${level.advisoryIds.length ? ` [${level.advisoryIds.join(', ')}]` : ''}`,
        );
      }
      if (q.body.kind === 'td10') {
        const m = checkTdxModule(tcbInfo, q.body.report);
        run.record('tdx.module', m.ok, m.detail);
        if (m.ok && m.status && platformStatus) platformStatus = convergeStatus(platformStatus, m.status);
        if (!m.ok) platformStatus = undefined;
      }
    }

    // 20. tcb.status — Intel's merge of the platform and QE statuses; Revoked fails.
    let final: StatusWithAdvisories | undefined;
    if (platformStatus && qeStatus) final = convergeStatus(platformStatus, qeStatus);
    else if (
      // Stryker disable next-line ConditionalExpression: `true` copies an undefined platformStatus into `final`, which is undefined already
      platformStatus
    )
      final = platformStatus;
    if (final) {
      out.tcbStatus = final.status;
      out.advisoryIds = final.advisoryIds;
    }
    if (!platformStatus || !qeStatus) run.skip('tcb.status', 'needs the platform and QE TCB levels');
    else
      run.record(
        'tcb.status',
        final!.status !== 'Revoked',
        `platform ${platformStatus.status} + QE ${qeStatus.status} → ${final!.status}`,
      );

    const issueDates = [tcbInfo?.issueDate, qeIdentity?.issueDate].filter((d): d is Date => d instanceof Date);
    // Every window a time-dependent check above judged `at` against: certificates, CRLs, TCB info, QE identity.
    // Stryker disable next-line ArrayDeclaration: only an accepted appraisal reads the windows, and it has both chains: the `?? []` fallbacks are never taken
    const windows: Array<readonly [Date, Date]> = [...(pckChain ?? []), ...(tcbSigningChain ?? [])].map(
      (c) => [c.notBefore, c.notAfter] as const,
    );
    for (const crl of [rootCrl, pckCrl]) if (crl) windows.push([crl.thisUpdate, crl.nextUpdate]);
    if (tcbInfo) windows.push([tcbInfo.issueDate, tcbInfo.nextUpdate]);
    if (qeIdentity) windows.push([qeIdentity.issueDate, qeIdentity.nextUpdate]);
    // [mutation scope `checks`] end
    return this.finish(out, run, opts, out.quote, issueDates, windows);
  }

  private finish(
    out: Appraisal,
    run: Run,
    opts: VerifyOptions,
    quote: QuoteSummary | undefined,
    issueDates: Date[],
    // Stryker disable next-line ArrayDeclaration: the default is taken only by rejected appraisals (quote.format failed, internal), which read no windows
    windows: Array<readonly [Date, Date]> = [],
  ): Appraisal {
    run.checks.push(
      ...applyPolicy(opts.policy ?? {}, {
        ...(quote ? { quote } : {}),
        ...(out.tcbStatus ? { tcbStatus: out.tcbStatus } : {}),
        advisoryIds: out.advisoryIds,
        collateralIssueDates: issueDates,
        at: opts.at,
      }),
    );
    // A TD's event log and TD policy (td-policy.ts): replay, then what the policy asks of the TD.
    if (quote) {
      const log = opts.eventLog ? eventLogCheck(quote, opts.eventLog) : undefined;
      if (log) run.checks.push(log.check);
      run.checks.push(...applyTdPolicy(opts.policy?.td, quote, log?.events));
    }
    const first = run.checks.find((c) => !c.ok);
    if (first) {
      out.verdict = 'rejected';
      out.error = {
        // Stryker disable next-line StringLiteral: every failed or skipped check (Run, applyPolicy, td-policy) carries a code
        code: first.code ?? 'ERR_VERIFICATION',
        // Stryker disable next-line StringLiteral: every failed or skipped check carries a detail
        message: `${first.name}: ${first.detail ?? 'failed'}`,
        check: first.name,
      };
    } else {
      out.verdict = 'accepted';
      const validity = validityOf(windows, issueDates, opts);
      // Stryker disable next-line ConditionalExpression: an accepted appraisal always has a span (validityOf), so the test is always true
      if (validity) out.validity = validity;
    }
    return out;
  }
}

/**
 * The span of verification times over which an accepted appraisal's time-dependent checks all hold:
 * the intersection of the windows they judged `at` against (and, under a collateral-age policy, the
 * instant the oldest collateral becomes too old). Any `at` inside gives every check the same outcome;
 * the same quote and collateral verified at such an `at` get the same appraisal but for `at` itself.
 * Undefined when the windows do not contain `at` (cannot happen for an accepted appraisal).
 */
function validityOf(
  windows: Array<readonly [Date, Date]>,
  issueDates: Date[],
  opts: VerifyOptions,
): { from: string; until: string } | undefined {
  // Stryker disable next-line ConditionalExpression: an accepted appraisal judged its certificates, so windows is never empty here
  if (windows.length === 0) return undefined;
  let from = -Infinity;
  let until = Infinity;
  for (const [a, b] of windows) {
    from = Math.max(from, a.getTime());
    until = Math.min(until, b.getTime());
  }
  const maxAge = opts.policy?.maxCollateralAgeSeconds;
  // The age check floors (at − oldest) to whole seconds: it still holds below oldest + (max + 1) s,
  // i.e. up to and including the millisecond before.
  if (maxAge !== undefined && issueDates.length)
    until = Math.min(until, Math.min(...issueDates.map((d) => d.getTime())) + (maxAge + 1) * 1000 - 1);
  const at = opts.at.getTime();
  // Stryker disable next-line all: every window and the age bound contain `at` once their checks passed, so this never returns (a guard)
  if (!(from <= at && at <= until)) return undefined;
  return { from: new Date(from).toISOString(), until: new Date(until).toISOString() };
}

/**
 * Verifies a DCAP quote. Never throws on bad evidence or collateral: the result is a rejected appraisal
 * naming the failing check. Throws ArgumentError only for caller bugs (no `at`, no collateral, a root that
 * is neither a key nor a certificate). Without `opts.cache` every call is cold.
 */
export function verifyQuote(quote: Uint8Array, opts: VerifyOptions): Promise<Appraisal> {
  // verify() prefers opts.cache to the instance's own.
  return new DcapVerifier().verify(quote, opts);
}

/** Rejects everything, naming why: for wiring without a configured verifier, and for tests. */
export function alwaysRejectVerifier(reason = 'no quote verifier configured'): QuoteVerifier {
  return {
    async verify(_quote, opts) {
      return {
        verdict: 'rejected',
        advisoryIds: [],
        checks: [{ name: 'verifier', ok: false, detail: reason, code: 'ERR_NO_VERIFIER' }],
        error: { code: 'ERR_NO_VERIFIER', message: `verifier: ${reason}`, check: 'verifier' },
        rootIsIntel: false,
        at: opts.at instanceof Date && !Number.isNaN(opts.at.getTime()) ? opts.at.toISOString() : '',
      };
    },
  };
}
