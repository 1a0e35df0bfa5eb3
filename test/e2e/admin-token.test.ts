import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/store/open-store.ts';
import { findActiveToken } from '../../src/server/tokens.ts';

const BIN = fileURLToPath(new URL('../../bin/catena.js', import.meta.url));
const cli = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 60_000 }, (e, stdout, stderr) =>
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });

test('catena admin token create --ttl/--role, list, revoke: the store holds hashes with expiry; bad usage exits 2', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'catena-admin-'));
  const data = join(dir, 'data');
  try {
    const c = await cli(['admin', 'token', 'create', '--data', data, '--role', 'reader', '--ttl', '30d', '--json']);
    assert.equal(c.code, 0, c.stderr);
    const t = JSON.parse(c.stdout) as { id: string; token: string; role: string; expiresAt: string };
    assert.equal(t.role, 'reader');
    const days = (Date.parse(t.expiresAt) - Date.now()) / 86_400_000;
    assert.ok(days > 29.9 && days <= 30, `expires in ${days} days`);
    assert.equal((await stat(join(data, 'catena.db'))).mode & 0o077, 0, 'the database is for its owner only');
    const l = await cli(['admin', 'token', 'list', '--data', data, '--json']);
    assert.equal(l.code, 0, l.stderr);
    assert.deepEqual(
      JSON.parse(l.stdout).tokens.map((x: { id: string }) => x.id),
      [t.id],
    );
    assert.ok(!l.stdout.includes(t.token));
    const store = await openStore(join(data, 'catena.db'));
    try {
      assert.equal((await findActiveToken(store, t.token, new Date()))?.id, t.id);
    } finally {
      await store.close();
    }
    assert.equal((await cli(['admin', 'token', 'revoke', t.id, '--data', data])).code, 0);
    const store2 = await openStore(join(data, 'catena.db'));
    try {
      assert.equal(await findActiveToken(store2, t.token, new Date()), null);
    } finally {
      await store2.close();
    }
    for (const args of [
      ['--role', 'root'],
      ['--role', 'agent', '--ttl', 'never'],
      ['--ttl', '30 days'],
      ['--role', 'reader', '--agent-id', 'a1'],
    ]) {
      const r = await cli(['admin', 'token', 'create', '--data', data, ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code} ${r.stderr}`);
    }
    assert.equal((await cli(['admin', 'token', 'revoke', 'tok-nope', '--data', data])).code, 2);
    assert.equal(
      (await cli(['admin', 'token', 'create', '--data', data, '--role', 'admin', '--ttl', 'never', '--json'])).code,
      0,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
