import type { Command } from 'commander';
import { printJson, say, UsageError } from '../io.ts';

/**
 * `catena emulate pcs recover|revoke`: the emulated PCS's admin API (src/sgx/manufacturer/admin-routes.ts)
 * from the command line. The token is --token or $CATENA_PCS_ADMIN_TOKEN (what `catena emulate pcs
 * --json` printed as adminToken). A refusal by the PCS is exit 2 with its problem code on stderr.
 */
function tokenOf(flag: string | undefined): string {
  const t = flag ?? process.env.CATENA_PCS_ADMIN_TOKEN;
  if (!t) throw new UsageError('an admin token is required: --token or $CATENA_PCS_ADMIN_TOKEN');
  return t;
}

async function post(url: string, path: string, token: string, body: unknown): Promise<Record<string, unknown>> {
  let target: URL;
  try {
    target = new URL(path, url.replace(/\/+$/, '') + '/');
  } catch {
    throw new UsageError(`--url: not a URL: ${url}`);
  }
  let res: Response;
  try {
    res = await fetch(target, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    throw new UsageError(`POST ${target.href}: ${(e as Error).message}`);
  }
  const text = await res.text();
  // A refusal is a problem document: code and detail are strings.
  let json: Record<string, unknown> & { code?: string; detail?: string } = {};
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    /* reported below with the status */
  }
  if (!res.ok)
    throw new UsageError(
      `the PCS refused: HTTP ${res.status} ${json.code ?? ''}: ${json.detail ?? text.slice(0, 200)}`,
    );
  return json;
}

// `catena emulate pcs` has its own --json, and commander gives an option known to the parent to the parent.
const jsonFlag = (cmd: Command): boolean => cmd.optsWithGlobals<{ json?: boolean }>().json === true;

export function registerPcsAdmin(pcs: Command): void {
  pcs
    .command('recover')
    .description('stage (early) or promote (standard) a TCB recovery on a running emulated PCS')
    .requiredOption('--url <url>', 'the emulated PCS base URL (as `catena emulate pcs` printed it)')
    .requiredOption('--stage <stage>', 'early (publish at update=early only) or standard (promote)')
    .option('--fmspc <hex>', 'only this FMSPC gets a new TCB level (default: every FMSPC; SGX only)')
    .option('--tee <tee>', 'sgx (default) or tdx: a TDX TCB recovery raises the TDX TCB, SGX levels stay', 'sgx')
    .option('--tdx-component <name>', 'with --tee tdx: module (TDX_01 ISVSVN, default) or tee-tcb-svn (late microcode)')
    .option('--downgrade-to <status>', 'what the superseded levels become: OutOfDate (default) or Revoked')
    .option('--token <token>', 'admin token (default $CATENA_PCS_ADMIN_TOKEN)')
    .option('--json', 'print the PCS answer as JSON')
    .action(
      async (
        o: {
          url: string;
          stage: string;
          fmspc?: string;
          tee: string;
          tdxComponent?: string;
          downgradeTo?: string;
          token?: string;
          json?: boolean;
        },
        cmd: Command,
      ) => {
        o.json = jsonFlag(cmd);
        if (o.stage !== 'early' && o.stage !== 'standard')
          throw new UsageError(`--stage: early or standard, got ${o.stage}`);
        if (o.fmspc !== undefined && !/^[0-9a-fA-F]{12}$/.test(o.fmspc))
          throw new UsageError(`--fmspc: 12 hex digits, got ${o.fmspc}`);
        if (o.tee !== 'sgx' && o.tee !== 'tdx') throw new UsageError(`--tee: sgx or tdx, got ${o.tee}`);
        if (o.tdxComponent !== undefined && (o.tee !== 'tdx' || !['module', 'tee-tcb-svn'].includes(o.tdxComponent)))
          throw new UsageError(`--tdx-component: module or tee-tcb-svn, with --tee tdx`);
        if (o.fmspc !== undefined && o.tee === 'tdx')
          throw new UsageError('--fmspc: a TDX recovery raises the TDX TCB of every FMSPC');
        if (o.downgradeTo !== undefined && o.downgradeTo !== 'OutOfDate' && o.downgradeTo !== 'Revoked')
          throw new UsageError(`--downgrade-to: OutOfDate or Revoked, got ${o.downgradeTo}`);
        const r = await post(o.url, 'admin/v1/tcb-recovery', tokenOf(o.token), {
          stage: o.stage,
          ...(o.fmspc ? { fmspc: o.fmspc } : {}),
          ...(o.tee === 'tdx' ? { tee: 'tdx', tdxComponent: o.tdxComponent ?? 'module' } : {}),
          ...(o.downgradeTo ? { downgradeTo: o.downgradeTo } : {}),
        });
        if (o.json) return printJson(r);
        say(
          false,
          `${o.tee === 'tdx' ? 'TDX ' : ''}TCB recovery ${o.stage === 'early' ? 'staged at update=early' : 'promoted to update=standard'}: tcbEvaluationDataNumber standard ${String(r.standard)}, early ${String(r.early)}`,
        );
      },
    );

  pcs
    .command('revoke')
    .description(
      'revoke a platform (all its PCK certificates), one PCK certificate or a PCK CA on a running emulated PCS',
    )
    .requiredOption('--url <url>', 'the emulated PCS base URL')
    .option('--platform <ppid>', 'the platform id (PPID, 32 hex digits)')
    .option('--pck <serial>', 'a PCK certificate serial number (hex)')
    .option('--ca <name>', 'processor or platform: the PCK CA, in the Root CA CRL')
    .option('--token <token>', 'admin token (default $CATENA_PCS_ADMIN_TOKEN)')
    .option('--json', 'print the PCS answer as JSON')
    .action(
      async (
        o: { url: string; platform?: string; pck?: string; ca?: string; token?: string; json?: boolean },
        cmd: Command,
      ) => {
        o.json = jsonFlag(cmd);
        const given = (['platform', 'pck', 'ca'] as const).filter((k) => o[k] !== undefined);
        if (given.length !== 1) throw new UsageError('exactly one of --platform, --pck, --ca');
        const k = given[0];
        if (k === 'ca' && o.ca !== 'processor' && o.ca !== 'platform')
          throw new UsageError(`--ca: processor or platform, got ${o.ca}`);
        const r = await post(o.url, 'admin/v1/revocations', tokenOf(o.token), { [k]: o[k] });
        if (o.json) return printJson(r);
        for (const x of (r.revoked as Array<{ list: string; serial: string }>) ?? [])
          say(false, `revoked ${x.serial} (${x.list === 'root' ? 'Root CA CRL' : `${x.list} PCK CRL`})`);
      },
    );
}
