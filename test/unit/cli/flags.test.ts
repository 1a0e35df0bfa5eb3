import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { durationFlag, enumFlag, enumListFlag, timeFlag, UsageError } from '../../../src/cli/io.ts';
import { COMMANDS } from '../../../src/cli/commands/index.ts';
import { COMMAND_NAMES } from '../../../src/cli/commands/names.ts';

test('time flags: now, RFC 3339, a date, Unix seconds; anything else is a usage error', () => {
  const now = new Date('2026-01-02T03:04:05.678Z');
  assert.equal(timeFlag('at', 'now', () => now).getTime(), now.getTime());
  assert.equal(timeFlag('at', '2025-07-01T00:00:00Z').toISOString(), '2025-07-01T00:00:00.000Z');
  assert.equal(timeFlag('at', '2025-07-01T02:00:00+02:00').toISOString(), '2025-07-01T00:00:00.000Z');
  assert.equal(timeFlag('at', '2025-07-01t00:00:00.250z').toISOString(), '2025-07-01T00:00:00.250Z');
  assert.equal(timeFlag('at', '2025-07-01 00:00:00Z').toISOString(), '2025-07-01T00:00:00.000Z');
  assert.equal(timeFlag('at', '2025-07-01').toISOString(), '2025-07-01T00:00:00.000Z');
  assert.equal(timeFlag('at', '1751328000').toISOString(), '2025-07-01T00:00:00.000Z');
  for (const bad of [
    'yesterday',
    '',
    'Tue, 01 Jul 2025 00:00:00 GMT',
    '2025-07-01T00:00:00',
    '2025-13-01T00:00:00Z',
    '07/01/2025',
    '-5',
  ]) {
    assert.throws(
      () => timeFlag('at', bad),
      (e: unknown) => e instanceof UsageError && /--at: expected now, RFC 3339/.test(e.message),
      bad,
    );
  }
});

test('enumerated flags: unknown values are usage errors listing the valid ones', () => {
  assert.equal(enumFlag('runtime', 'inline', ['inline', 'isolated']), 'inline');
  assert.throws(
    () => enumFlag('runtime', 'Inline', ['inline', 'isolated']),
    (e: unknown) => e instanceof UsageError && e.message.includes('valid: inline, isolated'),
  );
  assert.deepEqual(
    enumListFlag('accept-tcb', 'UpToDate, SWHardeningNeeded', ['UpToDate', 'SWHardeningNeeded', 'OutOfDate']),
    ['UpToDate', 'SWHardeningNeeded'],
  );
  assert.throws(
    () => enumListFlag('accept-tcb', 'UpToDate,Bogus', ['UpToDate']),
    /unknown value "Bogus"; valid: UpToDate/,
  );
  assert.throws(() => enumListFlag('accept-tcb', ' , ', ['UpToDate']), /no value given/);
});

test('the help table names every command with the description its module registers, and each module registers only that command', async () => {
  for (const c of COMMANDS) {
    const program = new Command('catena');
    for (const load of c.load) (await load()).register(program);
    assert.deepEqual(
      program.commands.map((x) => x.name()),
      [c.name],
      `${c.name}: the modules register exactly this command`,
    );
    assert.equal(
      program.commands[0].description(),
      c.description,
      `${c.name}: the table's description is the module's`,
    );
  }
});

test('COMMAND_NAMES (what bench startup times) are the command table’s names, in order', () => {
  assert.deepEqual(
    [...COMMAND_NAMES],
    COMMANDS.map((c) => c.name),
  );
});

test('duration flags (--watch-interval): seconds, s, m, h from 1 s to 24 h; anything else is a usage error', () => {
  assert.equal(durationFlag('watch-interval', '60'), 60_000);
  assert.equal(durationFlag('watch-interval', '1s'), 1000);
  assert.equal(durationFlag('watch-interval', '1.5s'), 1500);
  assert.equal(durationFlag('watch-interval', '5m'), 300_000);
  assert.equal(durationFlag('watch-interval', '24h'), 86_400_000);
  for (const bad of ['0', '0.5s', '25h', '-1s', '1d', 's', '', '1 s', '1e3'])
    assert.throws(
      () => durationFlag('watch-interval', bad),
      (e: unknown) => e instanceof UsageError && /--watch-interval: a duration from 1s to 24h/.test(e.message),
      bad,
    );
});
