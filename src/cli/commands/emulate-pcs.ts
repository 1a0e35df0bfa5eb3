import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { hex } from '../../bytes/util.ts';
import { randomBytes } from '../../crypto/random.ts';
import { sha256 } from '../../crypto/sha256.ts';
import type { Manufacturer } from '../../sgx/manufacturer/index.ts';
import { printJson, say, UsageError } from '../io.ts';
import { emulateCommand } from './emulate.ts';
import { registerPcsAdmin } from './emulate-pcs-admin.ts';

function parseListen(v: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(v);
  if (!m) throw new UsageError(`--listen: expected HOST:PORT, got ${v}`);
  const port = Number(m[2]);
  if (port > 65535) throw new UsageError(`--listen: port out of range: ${m[2]}`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * `catena emulate pcs --listen HOST:PORT [--data DIR] [--json]`: serves an emulated manufacturer's
 * collateral over Intel's PCS v4 API until SIGINT/SIGTERM. With --data, the manufacturer is loaded
 * from DIR (or created and saved there), so a restarted service keeps its root.
 */
export function register(program: Command): void {
  const pcs = emulateCommand(program).command('pcs');
  registerPcsAdmin(pcs);
  pcs
    .description(
      "serve an emulated manufacturer's PCK certificates, TCB info, QE identity and CRLs over Intel's PCS v4 API",
    )
    // Not requiredOption: commander would then demand it of the recover/revoke subcommands too.
    .option('--listen <host:port>', 'address to listen on, e.g. 127.0.0.1:8081 (port 0: any free port); required')
    .option(
      '--admin-token <token>',
      'admin API token (default $CATENA_PCS_ADMIN_TOKEN, else a fresh random one, printed)',
    )
    .option(
      '--data <dir>',
      'manufacturer directory: loaded when present, created and saved otherwise (default: ephemeral)',
    )
    .option('--log-level <level>', 'JSON logs on stderr: fatal, error, warn, info, debug, trace or silent', 'info')
    .option('--json', 'print one JSON document {url, root, ...} once listening')
    .action(async (opts: { listen?: string; adminToken?: string; data?: string; logLevel: string; json?: boolean }) => {
      if (opts.listen === undefined) throw new UsageError("required option '--listen <host:port>' not specified");
      const { host, port } = parseListen(opts.listen);
      const adminToken = opts.adminToken ?? (process.env.CATENA_PCS_ADMIN_TOKEN || hex(randomBytes(32)));
      if (adminToken.length < 16 || /\s/.test(adminToken))
        throw new UsageError('--admin-token: at least 16 characters, no spaces');
      const { LOG_LEVELS } = await import('../../http/create-app.ts');
      if (!(LOG_LEVELS as readonly string[]).includes(opts.logLevel))
        throw new UsageError(`--log-level: one of ${LOG_LEVELS.join(', ')}; got ${opts.logLevel}`);
      const logLevel = opts.logLevel as import('../../http/create-app.ts').LogLevel;
      // Loaded here, not at CLI start-up: fastify and the X.509 stack are only needed by this command.
      const { buildPcsServer, certificatePem, Manufacturer } = await import('../../sgx/manufacturer/index.ts');
      const { DEFAULT_FMSPC, DEFAULT_PCE_ID, DEFAULT_PCE_SVN, DEFAULT_TCB_COMPONENTS } =
        await import('../../sgx/platform.ts');
      let manufacturer: Manufacturer | undefined;
      const app = buildPcsServer({ manufacturer: () => manufacturer, logLevel, adminToken });
      await app.listen({ host, port });
      const addr = app.server.address();
      const actualPort = typeof addr === 'object' && addr ? addr.port : port;
      const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
      try {
        if (opts.data && (await exists(join(opts.data, 'manufacturer.json')))) {
          manufacturer = await Manufacturer.load(opts.data);
        } else {
          manufacturer = await Manufacturer.create({ pcsUrl: url });
          // A fresh manufacturer already serves TCB info for the emulated platforms' default FMSPC.
          manufacturer.ensureFmspc(
            DEFAULT_FMSPC,
            { components: [...DEFAULT_TCB_COMPONENTS], pceSvn: DEFAULT_PCE_SVN },
            DEFAULT_PCE_ID,
          );
          if (opts.data) await manufacturer.save(opts.data);
        }
      } catch (e) {
        await app.close();
        throw e;
      }
      // Signal handlers go in before the URL is printed: a caller may send SIGTERM as soon as it reads it.
      const stopped = new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      const root = manufacturer.root;
      if (opts.json) {
        printJson({
          url,
          root: hex(root),
          rootSha256: hex(sha256(root)),
          rootPem: certificatePem(root),
          adminToken,
          data: opts.data ?? null,
          fmspcs: manufacturer.fmspcs(),
        });
      } else {
        say(false, `emulated PCS listening on ${url}`);
        say(false, `  root CA SHA-256 ${hex(sha256(root))}${opts.data ? `  (data: ${opts.data})` : '  (ephemeral)'}`);
        say(
          false,
          `  paths: ${url}/sgx/certification/v4/{pckcert,tcb,qe/identity,pckcrl,rootcacrl,tcbevaluationdatanumbers}`,
        );
        say(false, `  admin API: ${url}/admin/v1/{tcb-recovery,revocations}  token ${adminToken}`);
      }
      await stopped;
      await app.close();
      if (opts.data) await manufacturer.save(opts.data);
      process.stderr.write('emulated PCS stopped\n');
    });
}
