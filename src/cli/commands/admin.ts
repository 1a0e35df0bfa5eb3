import type { Command } from 'commander';
import { printJson, say, UsageError } from '../io.ts';

interface StoreFlags {
  data?: string;
  db?: string;
}

/** Opens the manager's store (lazily: the store and server modules load only when a subcommand runs). */
async function withStore<T>(
  o: StoreFlags,
  fn: (store: import('../../store/types.ts').Store) => Promise<T>,
): Promise<T> {
  const { openStore } = await import('../../store/open-store.ts');
  const { managerPaths } = await import('../../server/data-dir.ts');
  // A store this command creates is the manager's: for this user only.
  // Not in a worker thread (the CLI's tests run it there), where umask cannot be set.
  if ((await import('node:worker_threads')).isMainThread) process.umask(0o077);
  const paths = await managerPaths(o);
  const store = await openStore(paths.db);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

const ROLES = ['admin', 'agent', 'reader'] as const;

/** `catena admin token create|list|revoke`: the manager's bearer tokens (stored hashed; a secret is printed once). */
export function register(program: Command): void {
  const admin = program.command('admin').description('administer the CoT manager');
  const token = admin.command('token').description('manager bearer tokens');
  token
    .command('create')
    .description('create a token (admin: everything; agent: registration of one agent and appends; reader: read-only)')
    .option('--role <role>', `${ROLES.join(', ')}`, 'admin')
    .option('--ttl <ttl>', 'lifetime: 30d, 12h, 90m, 3600s, or never (admin only)', '90d')
    .option('--agent-id <id>', 'agent tokens: the one agent id it may register (default: the first it registers)')
    .option('--data <dir>', 'data directory (default: $XDG_STATE_HOME/catena/manager)')
    .option('--db <url>', 'store (default DATA/catena.db)')
    .option('--json', 'print {id, token, role, expiresAt, agentId}')
    .action(async (o: StoreFlags & { role: string; ttl: string; agentId?: string; json?: boolean }) => {
      if (!(ROLES as readonly string[]).includes(o.role))
        throw new UsageError(`--role: one of ${ROLES.join(', ')}; got ${o.role}`);
      const role = o.role as (typeof ROLES)[number];
      const { createToken, parseTtl } = await import('../../server/tokens.ts');
      let ttlMs: number | null;
      try {
        ttlMs = parseTtl(o.ttl);
      } catch (e) {
        throw new UsageError(`--ttl: ${(e as Error).message}`);
      }
      if (ttlMs === null && role !== 'admin') throw new UsageError('--ttl never: only an admin token may never expire');
      if (o.agentId !== undefined && role !== 'agent') throw new UsageError('--agent-id: only with --role agent');
      const t = await withStore(o, (store) =>
        createToken(store, role, 'cli', { ttlMs, ...(o.agentId ? { agentId: o.agentId } : {}) }),
      );
      if (o.json) printJson(t);
      else {
        say(
          false,
          `${t.role} token ${t.id}${t.expiresAt ? `, expires ${t.expiresAt}` : ', never expires'}${t.agentId ? `, agent ${t.agentId}` : ''} (shown once, keep it secret):`,
        );
        say(false, t.token);
      }
    });
  token
    .command('list')
    .description('list tokens (ids, roles, expiry, revocation; never secrets or hashes)')
    .option('--data <dir>', 'data directory (default: $XDG_STATE_HOME/catena/manager)')
    .option('--db <url>', 'store (default DATA/catena.db)')
    .option('--json', 'print {tokens: [...]}')
    .action(async (o: StoreFlags & { json?: boolean }) => {
      const { tokenView } = await import('../../server/routes/views.ts');
      const tokens = await withStore(o, async (store) => (await store.listTokens()).map(tokenView));
      if (o.json) printJson({ tokens });
      else
        for (const t of tokens)
          say(
            false,
            `${t.id}  ${t.role.padEnd(6)}  ${t.revokedAt ? `revoked ${t.revokedAt}` : t.expiresAt ? `expires ${t.expiresAt}` : 'never expires'}${t.agentId ? `  agent ${t.agentId}` : ''}`,
          );
    });
  token
    .command('revoke')
    .description('revoke a token: the manager refuses it from its next request on')
    .argument('<id>', 'token id (catena admin token list)')
    .option('--data <dir>', 'data directory (default: $XDG_STATE_HOME/catena/manager)')
    .option('--db <url>', 'store (default DATA/catena.db)')
    .option('--json', 'print {id, revoked: true}')
    .action(async (id: string, o: StoreFlags & { json?: boolean }) => {
      await withStore(o, async (store) => {
        if (!(await store.listTokens()).some((t) => t.id === id))
          throw new UsageError(`no token ${id} (catena admin token list)`);
        await store.revokeToken(id, { actor: 'cli', at: new Date() });
      });
      if (o.json) printJson({ id, revoked: true });
      else say(false, `token ${id} revoked`);
    });
}
