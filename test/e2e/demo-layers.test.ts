/**
 * `catena demo --layers` through the built CLI (issue 16): one TD per cloud hosting workloads that admit
 * SGX enclaves across clouds, every link checked by a manager on loopback, the chain valid there and
 * offline, with every element kind present; then `chain build --layers tdx,sgx` and `chain verify`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const BIN = fileURLToPath(new URL('../../bin/catena.js', import.meta.url));
const run = promisify(execFile);

test('catena demo --layers --json: a valid three-cloud chain across TDs, workloads and SGX enclaves', async () => {
  const { stdout } = await run(process.execPath, [BIN, 'demo', '--layers', '--json'], { timeout: 170_000 });
  const d = JSON.parse(stdout) as {
    valid: boolean;
    clouds: number;
    kinds: Record<string, number>;
    links: { local: number; remote: number; measured: number };
    manager: { valid: boolean };
    offline: { valid: boolean };
  };
  assert.equal(d.valid, true, stdout);
  assert.equal(d.manager.valid, true);
  assert.equal(d.offline.valid, true);
  assert.equal(d.clouds, 3);
  assert.ok(d.kinds['tdx-td'] >= 3 && d.kinds['td-workload'] >= 3 && d.kinds['sgx-enclave'] >= 3, stdout);
  assert.ok(d.links.local > 0 && d.links.remote > 0 && d.links.measured > 0);
});

test('catena chain build --layers tdx,sgx, then chain verify: valid, each element with its kind and checks', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'catena-layers-e2e-'));
  try {
    const out = join(dir, 'sub', 'B');
    const built = JSON.parse(
      (
        await run(process.execPath, [BIN, 'chain', 'build', '--layers', 'tdx,sgx', '--out', out, '--json'], {
          timeout: 170_000,
        })
      ).stdout,
    ) as { root: string; kinds: Record<string, number> };
    assert.ok(built.kinds['tdx-td'] > 0);
    const v = JSON.parse(
      (await run(process.execPath, [BIN, 'chain', 'verify', out, '--root', built.root, '--at', 'now', '--json']))
        .stdout,
    ) as {
      valid: boolean;
      kinds: Record<string, number>;
      elements: Record<string, { kind: string; checks?: string[] }>;
    };
    assert.equal(v.valid, true);
    assert.deepEqual(Object.keys(v.kinds).sort(), ['sgx-enclave', 'td-workload', 'tdx-td']);
    for (const e of Object.values(v.elements)) assert.ok(['sgx-enclave', 'td-workload', 'tdx-td'].includes(e.kind));
    assert.ok(
      Object.values(v.elements).some((e) => e.kind === 'td-workload' && e.checks!.includes('workload-measured')),
    );
    // An unknown layer is a usage error (exit 2).
    await assert.rejects(
      run(process.execPath, [BIN, 'chain', 'build', '--layers', 'tdx,snp', '--out', out]),
      (e: { code?: number }) => e.code === 2,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
