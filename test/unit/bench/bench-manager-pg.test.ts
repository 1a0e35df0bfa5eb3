import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchPgUrl, cpuBetween } from '../../../src/cli/commands/bench-manager-pg.ts';
import { parseStoreUrl } from '../../../src/store/index.ts';

test('benchPgUrl adds the run schema to the URL and names the transport the URL gives', () => {
  const tcp = benchPgUrl('postgres://postgres@127.0.0.1:5432/test', 'bench_x');
  assert.equal(tcp.transport, 'tcp 127.0.0.1:5432');
  assert.deepEqual(parseStoreUrl(tcp.url), {
    kind: 'postgres',
    url: 'postgres://postgres@127.0.0.1:5432/test',
    schema: 'bench_x',
  });
  const socket = benchPgUrl('postgres://postgres@localhost/test?host=/var/run/postgresql&schema=old', 'bench_y');
  assert.equal(socket.transport, 'unix /var/run/postgresql');
  assert.deepEqual(parseStoreUrl(socket.url), {
    kind: 'postgres',
    url: 'postgres://postgres@localhost/test?host=%2Fvar%2Frun%2Fpostgresql',
    schema: 'bench_y',
  });
  assert.equal(
    benchPgUrl('postgres://postgres@%2Fvar%2Frun%2Fpostgresql/test', 'b').transport,
    'unix /var/run/postgresql',
  );
});

test('cpuBetween sums each backend’s CPU since the first reading, a new backend from zero', () => {
  const before = new Map([
    [10, 100],
    [11, 50],
  ]);
  const after = new Map([
    [10, 130],
    [11, 50],
    [12, 7],
  ]);
  assert.equal(cpuBetween(before, after), 37);
});
