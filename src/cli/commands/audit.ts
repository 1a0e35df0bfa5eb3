import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import type { AuditRecord } from '../../store/types.ts';
import { EXIT, printJson, say, setExit, UsageError } from '../io.ts';

/** `catena audit verify`: checks the manager's audit log end to end; exit 1 naming the first broken record. */
export function register(program: Command): void {
  const audit = program.command('audit').description("the manager's audit trail");
  audit
    .command('verify')
    .description('verify the hash chain and the signed checkpoints of the audit log')
    .option('--data <dir>', 'data directory (default: $XDG_STATE_HOME/catena/manager)')
    .option('--db <url>', 'store (default DATA/catena.db)')
    .option('--key <pem>', 'manager key or its public half (checkpoint signatures; default DATA/manager-key.pem)')
    .option('--json', 'print the result as JSON')
    .action(async (o: { data?: string; db?: string; key?: string; json?: boolean }) => {
      const { openStore } = await import('../../store/open-store.ts');
      const { verifyAuditLog } = await import('../../store/verify-audit-log.ts');
      const { checkpointVerifier, readPublicKey } = await import('../../server/manager-key.ts');
      const { managerPaths } = await import('../../server/data-dir.ts');
      const paths = await managerPaths(o, false);
      if (!paths.db.includes('://') && !paths.db.startsWith('sqlite:')) {
        await access(paths.db).catch(() => {
          throw new UsageError(`no database at ${paths.db}`);
        });
      }
      const pub = await readPublicKey(paths.key).catch((e: Error) => {
        throw new UsageError(`cannot read the manager key ${paths.key}: ${e.message}`);
      });
      const store = await openStore(paths.db, { migrate: false });
      try {
        const records: AuditRecord[] = [];
        for (let after = 0; ;) {
          const page = await store.listAudit({ afterSeq: after, limit: 5000 });
          if (page.length === 0) break;
          records.push(...page);
          after = page[page.length - 1].seq;
        }
        const r = verifyAuditLog(records, await store.listCheckpoints(), checkpointVerifier(pub));
        if (o.json) printJson(r);
        else if (r.ok)
          say(false, `audit log intact: ${r.count} records, ${r.checkpoints} signed checkpoints, head ${r.headHash}`);
        else say(false, `audit log BROKEN at record ${r.firstBrokenSeq}: ${r.reason}`);
        if (!r.ok) setExit(EXIT.NEGATIVE);
      } finally {
        await store.close();
      }
    });
}
