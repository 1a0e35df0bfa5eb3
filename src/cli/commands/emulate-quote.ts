import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { fromHex, hex } from '../../bytes/util.ts';
import { intFlag, printJson, say, UsageError } from '../io.ts';
import { emulateCommand } from './emulate.ts';

/**
 * `catena emulate quote --out DIR [--variant NAME]`: boots an emulated manufacturer, one platform with
 * its QE/PCE and an application enclave, and writes a DCAP v3 quote with everything needed to verify
 * it: quote.dat, collateral/ (the directory layout), collateral.json (dcap-qvl format) and root.der.
 * With `--variant`, the evidence is one of the named bad variants (src/sgx/manufacturer/variants.ts),
 * which `catena quote verify` rejects with the variant's code. `--list-variants` lists them.
 */
export function register(program: Command): void {
  emulateCommand(program)
    .command('quote')
    .description('write an emulated DCAP v3 quote, its collateral and the emulated root (or a named bad variant)')
    .option('--out <dir>', 'output directory (required unless --list-variants)')
    .option('--variant <name>', 'write named bad evidence that must be rejected for one reason (see --list-variants)')
    .option('--list-variants', 'list the variants with the error code each must be rejected with')
    .option('--report-data <hex>', 'REPORTDATA (up to 64 bytes of hex, zero-padded)')
    .option('--debug', 'make the application enclave a DEBUG enclave')
    .option('--tcb-level <n>', 'platform TCB level: 0 = UpToDate (default), 1 = SWHardeningNeeded, 2 = OutOfDate', '0')
    .option('--json', 'print one JSON document')
    .action(
      async (opts: {
        out?: string;
        variant?: string;
        listVariants?: boolean;
        reportData?: string;
        debug?: boolean;
        tcbLevel: string;
        json?: boolean;
      }) => {
        const { EVIDENCE_VARIANTS, emulateEvidence } = await import('../../sgx/manufacturer/variants.ts');
        const { writeCollateralDir, writeCollateralJson } = await import('../../sgx/manufacturer/collateral.ts');
        if (opts.listVariants) {
          if (opts.json)
            printJson(
              EVIDENCE_VARIANTS.map((v) => ({
                name: v.name,
                code: v.code,
                check: v.check,
                description: v.description,
              })),
            );
          else
            for (const v of EVIDENCE_VARIANTS) say(false, `${v.name.padEnd(28)} ${v.code.padEnd(28)} ${v.description}`);
          return;
        }
        if (opts.out === undefined) throw new UsageError('--out <dir> is required');
        const variant = opts.variant === undefined ? undefined : EVIDENCE_VARIANTS.find((v) => v.name === opts.variant);
        if (opts.variant !== undefined && !variant)
          throw new UsageError(
            `--variant: unknown variant ${opts.variant}; one of ${EVIDENCE_VARIANTS.map((v) => v.name).join(', ')}`,
          );
        const tcbLevel = intFlag('tcb-level', opts.tcbLevel, 0, 3);
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
        const ev = await emulateEvidence({
          ...(variant ? { variant: variant.name } : {}),
          reportData: rd,
          debug: !!opts.debug,
          tcbLevel,
        });
        const { quote, collateral: set } = ev;
        await mkdir(opts.out, { recursive: true });
        await writeFile(join(opts.out, 'quote.dat'), quote);
        await writeCollateralDir(set, join(opts.out, 'collateral'));
        // The directory's root.der is the manufacturer's; the root to trust is ours (another one for pck-chain-other-root).
        await writeFile(join(opts.out, 'collateral', 'root.der'), ev.root);
        await writeCollateralJson(set, join(opts.out, 'collateral.json'));
        await writeFile(join(opts.out, 'root.der'), ev.root);
        const out = {
          out: opts.out,
          quote: join(opts.out, 'quote.dat'),
          collateral: join(opts.out, 'collateral'),
          collateralJson: join(opts.out, 'collateral.json'),
          root: join(opts.out, 'root.der'),
          mrenclave: hex(ev.mrEnclave),
          mrsigner: hex(ev.mrSigner),
          debug: ev.debug,
          tcbLevel: ev.tcbLevel,
          fmspc: hex(ev.fmspc),
          ppid: hex(ev.ppid),
          ...(variant ? { variant: variant.name, expectedCode: variant.code, expectedCheck: variant.check } : {}),
        };
        if (opts.json) printJson(out);
        else {
          say(false, `wrote ${out.quote} (${quote.length} bytes, DCAP v3) for MRENCLAVE ${out.mrenclave}`);
          if (variant)
            say(
              false,
              `variant ${variant.name}: ${variant.description}; a verifier must reject it with ${variant.code} (${variant.check})`,
            );
          say(false, `collateral in ${out.collateral}/ and ${out.collateralJson}; emulated root in ${out.root}`);
          say(
            false,
            `verify: catena quote verify ${out.quote} --collateral ${out.collateral} --root ${out.root} --at now`,
          );
        }
      },
    );
}
