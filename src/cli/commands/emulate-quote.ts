import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { fromHex, hex } from '../../bytes/util.ts';
import type { EmulatedWorld } from '../../cot/world.ts';
import { intFlag, printJson, say, UsageError } from '../io.ts';
import { emulateCommand } from './emulate.ts';

/** A tiny application enclave whose only ECALL is a REPORT for a target: what any attesting enclave does. */
const APP_SOURCE = `// catena emulate quote: an application enclave that reports to the QE.
export default function app(ctx) {
  return { report: (targetInfo, reportData) => ctx.ereport(targetInfo, reportData) };
}
`;

/**
 * `catena emulate quote --out DIR`: boots an emulated manufacturer, one platform with its QE/PCE and an
 * application enclave, and writes a DCAP v3 quote with everything needed to verify it: quote.dat,
 * collateral/ (the directory layout), collateral.json (dcap-qvl format) and root.der.
 */
export function register(program: Command): void {
  emulateCommand(program)
    .command('quote')
    .description('write an emulated DCAP v3 quote, its collateral and the emulated root')
    .requiredOption('--out <dir>', 'output directory')
    .option('--report-data <hex>', 'REPORTDATA (up to 64 bytes of hex, zero-padded)')
    .option('--debug', 'make the application enclave a DEBUG enclave')
    .option('--tcb-level <n>', 'platform TCB level: 0 = UpToDate (default), 1 = SWHardeningNeeded, 2 = OutOfDate', '0')
    .option('--json', 'print one JSON document')
    .action(async (opts: { out: string; reportData?: string; debug?: boolean; tcbLevel: string; json?: boolean }) => {
      const { EmulatedWorld } = await import('../../cot/world.ts');
      const { generateVendorKey } = await import('../../crypto/rsa3072.ts');
      const { buildEnclave } = await import('../../sgx/build.ts');
      const { writeCollateralDir, writeCollateralJson } = await import('../../sgx/manufacturer/collateral.ts');
      const { DEFAULT_FMSPC } = await import('../../sgx/platform.ts');
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
      let world: EmulatedWorld;
      try {
        world = await EmulatedWorld.create({ clouds: 1, platformsPerCloud: 1, tcbLevel });
      } catch (e) {
        if (e instanceof RangeError) throw new UsageError(`--tcb-level: ${e.message}`);
        throw e;
      }
      try {
        const wp = world.platforms[0]!;
        const image = buildEnclave(APP_SOURCE, { isvProdId: 1, isvSvn: 1, debug: !!opts.debug }, generateVendorKey());
        const app = await wp.platform.loadEnclave(image, { runtime: 'inline' });
        const report = (await app.ecall('report', wp.quoting.targetInfo(), rd)) as Uint8Array;
        const quote = await wp.quoting.quote(report);
        await app.destroy();
        const set = await world.manufacturer.collateral(DEFAULT_FMSPC, 'processor');
        await mkdir(opts.out, { recursive: true });
        await writeFile(join(opts.out, 'quote.dat'), quote);
        await writeCollateralDir(set, join(opts.out, 'collateral'));
        await writeCollateralJson(set, join(opts.out, 'collateral.json'));
        await writeFile(join(opts.out, 'root.der'), world.root);
        const out = {
          out: opts.out,
          quote: join(opts.out, 'quote.dat'),
          collateral: join(opts.out, 'collateral'),
          collateralJson: join(opts.out, 'collateral.json'),
          root: join(opts.out, 'root.der'),
          mrenclave: hex(image.mrEnclave),
          mrsigner: hex(image.mrSigner),
          debug: !!opts.debug,
          tcbLevel,
          fmspc: hex(DEFAULT_FMSPC),
          ppid: wp.ppid,
        };
        if (opts.json) printJson(out);
        else {
          say(false, `wrote ${out.quote} (${quote.length} bytes, DCAP v3) for MRENCLAVE ${out.mrenclave}`);
          say(false, `collateral in ${out.collateral}/ and ${out.collateralJson}; emulated root in ${out.root}`);
          say(false, `verify: catena quote verify ${out.quote} --collateral ${out.collateral} --root ${out.root} --at now`);
        }
      } finally {
        await world.close();
      }
    });
}
