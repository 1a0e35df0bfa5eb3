import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/**
 * Catena's own state directory: $XDG_STATE_HOME/catena, or ~/.local/state/catena (XDG Base
 * Directory). Defaults live here, never in the current directory: a command writes into the current
 * directory only where a path flag names it.
 */
export function stateHome(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  // The spec says a relative XDG_STATE_HOME is invalid and must be ignored.
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.local', 'state');
  return join(base, 'catena');
}

/** Default directory of one part of Catena's state: `manager` (database, manager key, tokens), `channel` (channel keys). */
export function defaultStateDir(part: 'manager' | 'channel', env: NodeJS.ProcessEnv = process.env): string {
  return join(stateHome(env), part);
}

/** Creates a data directory readable by its owner only (0700); an existing one is left as it is. */
export async function makePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

/** Where the manager's files live: --data DIR (default: the `manager` state directory) holds catena.db and manager-key.pem unless --db/--key say otherwise. */
export interface ManagerPaths {
  data: string;
  db: string;
  key: string;
}

export async function managerPaths(
  o: { data?: string; db?: string; key?: string },
  create = true,
): Promise<ManagerPaths> {
  const data = o.data ?? defaultStateDir('manager');
  if (create) await makePrivateDir(data);
  return { data, db: o.db ?? join(data, 'catena.db'), key: o.key ?? join(data, 'manager-key.pem') };
}
