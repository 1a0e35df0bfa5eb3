import type { Command } from 'commander';

import { printJson, say, UsageError } from '../io.ts';

/** `catena admin token create`: a bearer token for the manager (stored hashed; printed once). */
export function register(program: Command): void {
  const admin = program.command('admin').description('administer the CoT manager');
  const token = admin.command('token').description('manager bearer tokens');
  token
    .command('create')
    .description('create a token (admin: management calls; agent: agent registration and appends)')
    .option('--role <role>', 'admin or agent', 'admin')
    .option('--data <dir>', 'data directory (default: $XDG_STATE_HOME/catena/manager)')
    .option('--db <url>', 'store (default DATA/catena.db)')
    .option('--json', 'print {id, token, role}')
    .action(async (o: { role: string; data?: string; db?: string; json?: boolean }) => {
      const { openStore } = await import('../../store/open-store.ts');
      const { createToken } = await import('../../server/tokens.ts');
      const { managerPaths } = await import('../../server/data-dir.ts');
      if (o.role !== 'admin' && o.role !== 'agent') throw new UsageError(`--role: admin or agent, got ${o.role}`);
      const paths = await managerPaths(o);
      const store = await openStore(paths.db);
      try {
        const t = await createToken(store, o.role, 'cli');
        if (o.json) printJson(t);
        else {
          say(false, `${t.role} token ${t.id} (shown once, keep it secret):`);
          say(false, t.token);
        }
      } finally {
        await store.close();
      }
    });
}
