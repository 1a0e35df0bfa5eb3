import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Where the manager's files live: --data DIR (default ./catena-data) holds catena.db and manager-key.pem unless --db/--key say otherwise. */
export interface ManagerPaths {
  data: string;
  db: string;
  key: string;
}

export async function managerPaths(o: { data?: string; db?: string; key?: string }, create = true): Promise<ManagerPaths> {
  const data = o.data ?? 'catena-data';
  if (create) await mkdir(data, { recursive: true, mode: 0o700 });
  return { data, db: o.db ?? join(data, 'catena.db'), key: o.key ?? join(data, 'manager-key.pem') };
}
