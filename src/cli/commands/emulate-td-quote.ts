import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { fromHex, hex } from '../../bytes/util.ts';
import { EXIT, printJson, say, setExit, UsageError } from '../io.ts';
import { emulateCommand } from './emulate.ts';

/** The variant names, for --help (read before the emulator is loaded). */
const VARIANT_NAMES = [
  'debug-td',
  'wrong-mrtd',
  'rtmr-event-log-mismatch',
  'tdx-module-mismatch',
  'tampered-tdreport',
  'service-td-bound',
];

/**
 * `catena emulate td-quote --out DIR [--variant NAME] [--version 4|5]`: boots an emulated manufacturer and
 * one platform with its TDX module and TD quoting enclave, builds and boots a TD, and writes its DCAP quote
 * (tee_type 0x81) with what verifies it: quote.dat, collateral/ and collateral.json (TDX TCB info, TD_QE
 * identity), root.der, the TD's event log (event-log.bin) and a policy the good TD satisfies (policy.json).
 * A variant whose TDREPORT the TD QE refuses (tampered-tdreport) writes no quote and exits 1.
 */
export function register(program: Command): void {
  emulateCommand(program)
    .command('td-quote')
    .description(
      'write an emulated TDX TD quote, its collateral, event log, policy and the emulated root (or a named bad variant)',
    )
    .option('--out <dir>', 'output directory (required unless --list-variants)')
    .option('--variant <name>', `write named bad evidence: ${VARIANT_NAMES.join(', ')}`)
    .option('--version <n>', 'quote version: 4 (default) or 5 (TD report 1.5 body)', '4')
    .option('--list-variants', 'list the variants with the check each must fail')
    .option('--report-data <hex>', 'REPORTDATA (up to 64 bytes of hex, zero-padded)')
    .option('--json', 'print one JSON document')
    .action(
      async (opts: {
        out?: string;
        variant?: string;
        version: string;
        listVariants?: boolean;
        reportData?: string;
        json?: boolean;
      }) => {
        const { TD_EVIDENCE_VARIANTS, emulateTdEvidence } = await import('../../tdx/index.ts');
        const { writeCollateralDir, writeCollateralJson } = await import('../../sgx/manufacturer/collateral.ts');
        if (opts.listVariants) {
          if (opts.json) printJson(TD_EVIDENCE_VARIANTS.map((v) => ({ ...v })));
          else
            for (const v of TD_EVIDENCE_VARIANTS)
              say(false, `${v.name.padEnd(26)} ${v.check.padEnd(22)} ${v.description}`);
          return;
        }
        if (opts.out === undefined) throw new UsageError('--out <dir> is required');
        const variant =
          opts.variant === undefined ? undefined : TD_EVIDENCE_VARIANTS.find((v) => v.name === opts.variant);
        if (opts.variant !== undefined && !variant)
          throw new UsageError(
            `--variant: unknown variant ${opts.variant}; one of ${TD_EVIDENCE_VARIANTS.map((v) => v.name).join(', ')}`,
          );
        if (opts.version !== '4' && opts.version !== '5') throw new UsageError('--version: 4 or 5');
        const rd = new Uint8Array(64);
        if (opts.reportData !== undefined) {
          let b: Uint8Array;
          try {
            b = fromHex(opts.reportData);
          } catch {
            throw new UsageError('--report-data: expected hex');
          }
          if (b.length > 64) throw new UsageError('--report-data: at most 64 bytes');
          rd.set(b);
        }
        const ev = await emulateTdEvidence({
          ...(variant ? { variant: variant.name } : {}),
          version: opts.version === '5' ? 5 : 4,
          reportData: rd,
        });
        const out = opts.out;
        await mkdir(out, { recursive: true });
        const paths = {
          quote: join(out, 'quote.dat'),
          collateral: join(out, 'collateral'),
          collateralJson: join(out, 'collateral.json'),
          root: join(out, 'root.der'),
          eventLog: join(out, 'event-log.bin'),
          policy: join(out, 'policy.json'),
        };
        if (ev.quote) await writeFile(paths.quote, ev.quote);
        else await rm(paths.quote, { force: true });
        await writeCollateralDir(ev.collateral, paths.collateral);
        await writeFile(join(paths.collateral, 'root.der'), ev.root);
        await writeCollateralJson(ev.collateral, paths.collateralJson);
        await writeFile(paths.root, ev.root);
        await writeFile(paths.eventLog, ev.eventLog);
        await writeFile(paths.policy, JSON.stringify(ev.policy, null, 2) + '\n');
        const { quote: _q, ...written } = paths;
        const result = {
          out,
          ...(ev.quote ? paths : written),
          version: ev.version,
          mrtd: hex(ev.mrTd),
          rtmr: ev.rtmrs.map(hex),
          ...(variant ? { variant: variant.name, expectedCheck: variant.check, expectedCode: variant.code } : {}),
          ...(ev.refusal ? { refused: ev.refusal } : {}),
        };
        if (ev.refusal) setExit(EXIT.NEGATIVE);
        if (opts.json) {
          printJson(result);
          return;
        }
        if (ev.refusal)
          say(
            false,
            `the TD quoting enclave refused the TDREPORT: ${ev.refusal.message} (${ev.refusal.code}); no quote written`,
          );
        else
          say(
            false,
            `wrote ${paths.quote} (${ev.quote!.length} bytes, DCAP v${ev.version}, TDX) for MRTD ${result.mrtd}`,
          );
        if (variant)
          say(
            false,
            `variant ${variant.name}: ${variant.description}; expected to fail ${variant.check} (${variant.code})`,
          );
        say(
          false,
          `collateral in ${paths.collateral}/ and ${paths.collateralJson}; emulated root in ${paths.root}; event log ${paths.eventLog}; policy ${paths.policy}`,
        );
        if (ev.quote)
          say(
            false,
            `verify: catena quote verify ${paths.quote} --collateral ${paths.collateral} --root ${paths.root} --policy ${paths.policy} --event-log ${paths.eventLog} --at now`,
          );
      },
    );
}
