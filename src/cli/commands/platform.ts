import type { Command } from 'commander';
import type { TdxModuleJudgement } from '../../attestation/dcap/tcb-explanation.ts';
import { EXIT, printJson, say, setExit, UsageError } from '../io.ts';

/**
 * `catena platform tcb-status ID --manager URL [--token T] [--json]`: why a platform has its TCB
 * status (the manager's GET /v1/platforms/:id/tcb-status). Token: --token or $CATENA_TOKEN (reader
 * is enough). Exit 0 when the platform's status is UpToDate, 1 otherwise, 2 on usage or a refusal.
 */
interface Shortfall {
  component: 'sgx' | 'pcesvn' | 'tdx';
  index?: number;
  category?: string;
  type?: string;
  have: number;
  need: number;
}
interface Target {
  index: number;
  tcbStatus: string;
  tcbDate: string;
  shortfalls: Shortfall[];
}
interface Explanation {
  fmspc: string;
  tcbEvaluationDataNumber: number;
  matched: { index: number; tcbStatus: string; tcbDate: string } | null;
  tcbStatus: string | null;
  advisoryIds: string[];
  next: Target | null;
  upToDate: Target | null;
  tdxModule?: TdxModuleJudgement;
  early?: Explanation & { changed: boolean };
}

const describe = (s: Shortfall) =>
  s.component === 'pcesvn'
    ? `PCESVN ${s.have} → ${s.need}`
    : `${s.component === 'tdx' ? 'TDX' : 'SGX'} component ${s.index}${s.category || s.type ? ` (${[s.category, s.type].filter(Boolean).join(', ')})` : ''} ${s.have} → ${s.need}`;

function printTarget(label: string, t: Target | null): void {
  if (!t) return;
  say(
    false,
    `  ${label}: level ${t.index} (${t.tcbStatus}, ${t.tcbDate.slice(0, 10)}) needs ${t.shortfalls.map(describe).join('; ') || 'nothing more'}`,
  );
}

export function register(program: Command): void {
  const platform = program.command('platform').description('platforms known to a CoT manager');
  platform
    .command('tcb-status')
    .description("explain a platform's TCB status: matched level, components short of the next level, advisories")
    .argument('<id>', 'platform id (PPID, hex)')
    .requiredOption('--manager <url>', 'manager base URL')
    .option('--token <token>', 'bearer token, reader or above (default $CATENA_TOKEN)')
    .option('--json', 'print the manager answer as JSON')
    .action(async (id: string, o: { manager: string; token?: string; json?: boolean }) => {
      if (!/^[0-9a-fA-F]{1,64}$/.test(id)) throw new UsageError(`platform id: hex, got ${id}`);
      const token = o.token ?? process.env.CATENA_TOKEN;
      if (!token) throw new UsageError('a token is required: --token or $CATENA_TOKEN');
      let url: URL;
      try {
        url = new URL(`v1/platforms/${id.toLowerCase()}/tcb-status`, o.manager.replace(/\/+$/, '') + '/');
      } catch {
        throw new UsageError(`--manager: not a URL: ${o.manager}`);
      }
      let res: Response;
      try {
        res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(30_000) });
      } catch (e) {
        throw new UsageError(`GET ${url.href}: ${(e as Error).message}`);
      }
      const body = (await res.json().catch(() => ({}))) as {
        code?: string;
        detail?: string;
        chain?: string;
        element?: string;
        at?: string;
        tcbExplanation?: Explanation;
      };
      if (!res.ok)
        throw new UsageError(`the manager refused: HTTP ${res.status} ${body.code ?? ''}: ${body.detail ?? ''}`);
      const x = body.tcbExplanation!;
      setExit(x.tcbStatus === 'UpToDate' ? EXIT.OK : EXIT.NEGATIVE);
      if (o.json) return printJson(body);
      say(
        false,
        `${x.tcbStatus ?? 'no TCB level'}  platform ${id.toLowerCase()}  FMSPC ${x.fmspc}  tcbEvaluationDataNumber ${x.tcbEvaluationDataNumber}`,
      );
      say(false, `  evidence: chain ${body.chain}, element ${body.element}, ${body.at}`);
      if (x.matched)
        say(
          false,
          `  matched level ${x.matched.index} (${x.matched.tcbDate.slice(0, 10)})${x.advisoryIds.length ? `  advisories: ${x.advisoryIds.join(', ')}` : ''}`,
        );
      printTarget('next', x.next);
      printTarget('UpToDate', x.upToDate);
      const { tdxModuleWords } = await import('../../attestation/dcap/tcb-explanation.ts');
      const module = tdxModuleWords(x.tdxModule);
      if (module) say(false, `  ${module}`);
      if (x.early)
        say(
          false,
          `  under early collateral (${x.early.tcbEvaluationDataNumber}): ${x.early.tcbStatus ?? 'no TCB level'}${x.early.changed ? ' — changes when promoted' : ''}`,
        );
    });
}
