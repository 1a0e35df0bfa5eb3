import { createPrivateKey, type KeyObject } from 'node:crypto';
import { generateP256 } from '../../crypto/ecdsa.ts';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { TCB_STATUSES } from '../../formats/json-fields.ts';
import { enumListFlag, EXIT, InvalidInputError, printJson, say, setExit, timeFlag, UsageError } from '../io.ts';

/**
 * `catena quote verify QUOTE --collateral DIR|FILE|URL --at TIME [--root CERT]… [--accept-tcb S,…]
 * [--policy FILE] [--ear [--ear-key PEM]] [--json]` — the strict DCAP verifier on one quote.
 * Exit 0 accepted, 1 rejected, 2 usage (unreadable inputs, bad flags).
 */
function readBytes(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

interface VerifyFlags {
  collateral: string;
  at: string;
  root?: string[];
  acceptTcb?: string;
  policy?: string;
  ear?: boolean;
  earKey?: string;
  earIssuer: string;
  json?: boolean;
  earlyCollateral?: string;
  eventLog?: string;
}

export function register(program: Command): void {
  const quote = program.command('quote').description('DCAP quotes: verify real Intel and emulated quotes');
  quote
    .command('verify')
    .description('verify a DCAP quote (v3 SGX, v4 TDX) against collateral at an explicit time, in Intel QVL order')
    .argument('<quote>', 'the raw quote (quote.dat)')
    .requiredOption(
      '--collateral <dir|file|url>',
      'collateral: a directory (Intel PCS files), a dcap-qvl collateral.json, or a PCS/PCCS base URL',
    )
    .requiredOption('--at <time>', 'verification time: now, RFC 3339 (2025-07-01T00:00:00Z) or Unix seconds')
    .option(
      '--root <cert>',
      "trust this root (DER or PEM certificate) instead of Intel's pinned key; repeatable",
      (v: string, acc: string[] = []) => [...acc, v],
    )
    .option('--accept-tcb <statuses>', 'accepted TCB statuses, comma-separated (default: UpToDate)')
    .option(
      '--policy <file>',
      'appraisal policy JSON (SGX: mrEnclave[], mrSigner, isvProdId, minIsvSvn; TD: mrTd[], rtmr0..2, eventDigests[], tdAttributes(+Mask), xfam(+Mask), mrConfigId, mrOwner, mrOwnerConfig, allowServiceTd; both: allowDebug, reportData, acceptedTcbStatuses, acceptedAdvisories, maxCollateralAgeSeconds)',
    )
    .option(
      '--event-log <file>',
      "a TD's measured-boot event log (CCEL, event-log.bin): replayed against the quoted RTMRs",
    )
    .option(
      '--early-collateral <dir|file|url>',
      "also explain the TCB under this early collateral (a staged TCB recovery, e.g. a PCS's update=early)",
    )
    .option('--ear', 'also issue the result as a signed EAR JWT (with the JWKS to verify it)')
    .option('--ear-key <pem>', 'P-256 private key for the EAR (default: a fresh key, printed as JWKS)')
    .option('--ear-issuer <name>', 'EAR issuer', 'catena')
    .option('--json', 'print one JSON document')
    .action(async (quotePath: string, o: VerifyFlags) => {
      const { openCollateral, verifyQuote, parsePolicy, issueEar, publicJwks, certificatesFromAny, CollateralError } =
        await import('../../attestation/index.ts');
      const at = timeFlag('at', o.at);
      const quoteBytes = readBytes(quotePath, 'quote');
      const eventLog = o.eventLog === undefined ? undefined : readBytes(o.eventLog, 'event log');
      let policy = {};
      if (o.policy) {
        try {
          policy = parsePolicy(JSON.parse(Buffer.from(readBytes(o.policy, 'policy')).toString('utf8')));
        } catch (e) {
          if (e instanceof UsageError) throw e;
          throw new UsageError(`${o.policy}: ${(e as Error).message}`);
        }
      }
      if (o.acceptTcb !== undefined) {
        policy = { ...policy, acceptedTcbStatuses: enumListFlag('accept-tcb', o.acceptTcb, TCB_STATUSES) };
      }
      let trustedRoots: Uint8Array[] | undefined;
      if (o.root) {
        trustedRoots = o.root.flatMap((p) => {
          try {
            return certificatesFromAny(readBytes(p, 'root certificate'));
          } catch (e) {
            if (e instanceof UsageError) throw e;
            throw new UsageError(`${p}: not a DER or PEM certificate (${(e as Error).message})`);
          }
        });
      }
      let earKey: KeyObject | undefined;
      if (o.earKey) {
        try {
          earKey = createPrivateKey(Buffer.from(readBytes(o.earKey, 'EAR key')));
        } catch (e) {
          throw new UsageError(`${o.earKey}: not a PEM private key (${(e as Error).message})`);
        }
      }
      let collateral;
      try {
        collateral = await openCollateral(o.collateral);
      } catch (e) {
        if (e instanceof CollateralError) throw new UsageError(e.message);
        throw e;
      }
      let appraisal;
      try {
        appraisal = await verifyQuote(quoteBytes, {
          collateral,
          at,
          policy,
          ...(trustedRoots ? { trustedRoots } : {}),
          ...(eventLog ? { eventLog } : {}),
        });
      } catch (e) {
        // Evidence the verifier could not even appraise is a rejection (exit 1), not a usage error.
        throw new InvalidInputError(`${quotePath}: ${(e as Error).message}`);
      }
      const result: Record<string, unknown> = {
        verdict: appraisal.verdict,
        tcbStatus: appraisal.tcbStatus ?? null,
        advisoryIds: appraisal.advisoryIds,
        checks: appraisal.checks.map((c) => ({
          name: c.name,
          ok: c.ok,
          detail: c.detail ?? null,
          ...(c.skipped ? { skipped: true } : {}),
        })),
        quote: appraisal.quote
          ? {
              version: appraisal.quote.version,
              teeType: appraisal.quote.teeType,
              mrenclave: appraisal.quote.mrEnclave,
              mrsigner: appraisal.quote.mrSigner,
              isvProdId: appraisal.quote.isvProdId,
              isvSvn: appraisal.quote.isvSvn,
              debug: appraisal.quote.debug,
              reportData: appraisal.quote.reportData,
              ...(appraisal.quote.td ? { td: appraisal.quote.td } : {}),
            }
          : null,
        ...(appraisal.error ? { error: { code: appraisal.error.code, message: appraisal.error.message } } : {}),
        rootIsIntel: appraisal.rootIsIntel,
        at: appraisal.at,
        ...(appraisal.validity ? { validity: appraisal.validity } : {}),
        ...(appraisal.platform ? { platform: appraisal.platform } : {}),
        ...(appraisal.collateral ? { collateral: appraisal.collateral } : {}),
      };
      const { tcbExplanationOf, openEarlyCollateral, explanationLines } = await import('./quote-explain.ts');
      const early = o.earlyCollateral
        ? await openEarlyCollateral(o.earlyCollateral).catch((e: Error) => Promise.reject(new UsageError(e.message)))
        : undefined;
      const earlyAppraisal = early
        ? await verifyQuote(quoteBytes, { collateral: early, at, policy, ...(trustedRoots ? { trustedRoots } : {}) })
        : undefined;
      result.tcbExplanation = await tcbExplanationOf(
        appraisal,
        collateral,
        at,
        early && earlyAppraisal ? { appraisal: earlyAppraisal, collateral: early } : undefined,
      );
      if (o.ear) {
        const key = earKey ?? generateP256().privateKey;
        result.ear = { jwt: await issueEar(appraisal, key, { issuer: o.earIssuer }), jwks: await publicJwks(key) };
      }
      setExit(appraisal.verdict === 'accepted' ? EXIT.OK : EXIT.NEGATIVE);
      if (o.json) {
        printJson(result);
        return;
      }
      say(
        false,
        `${appraisal.verdict.toUpperCase()}  TCB status: ${appraisal.tcbStatus ?? '(not computed)'}${appraisal.advisoryIds.length ? `  advisories: ${appraisal.advisoryIds.join(', ')}` : ''}`,
      );
      if (!appraisal.rootIsIntel) say(false, "note: this result does not rest on Intel's root key");
      if (appraisal.validity)
        say(false, `holds for verification times ${appraisal.validity.from} to ${appraisal.validity.until}`);
      for (const c of appraisal.checks)
        say(false, `  ${c.ok ? '✓' : c.skipped ? '·' : '✗'} ${c.name}${c.detail ? `  ${c.detail}` : ''}`);
      if (appraisal.error) say(false, `reason: ${appraisal.error.message} (${appraisal.error.code})`);
      for (const line of explanationLines(result.tcbExplanation as Awaited<ReturnType<typeof tcbExplanationOf>>))
        say(false, line);
      if (result.ear) say(false, `EAR: ${(result.ear as { jwt: string }).jwt}`);
    });
}
