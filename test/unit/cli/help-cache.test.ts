import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { COMMAND_NAMES } from '../../../src/cli/commands/names.ts';

// bin/catena.js answers `catena --help` and `catena COMMAND --help` from dist/cli/help.json (written by
// the build, which npm test runs first); these must be exactly what the CLI itself prints.
const bin = fileURLToPath(new URL('../../../bin/catena.js', import.meta.url));
const run = (args: string[], live: boolean) =>
  spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, CATENA_NO_HELP_CACHE: live ? '1' : '' },
  });

test('the recorded help texts are the live ones, for catena and every command', () => {
  const recorded = JSON.parse(readFileSync(new URL('../../../dist/cli/help.json', import.meta.url), 'utf8')) as {
    top: string;
    commands: Record<string, string>;
  };
  assert.deepEqual(Object.keys(recorded.commands), [...COMMAND_NAMES]);
  for (const args of [[], ...COMMAND_NAMES.map((c) => [c])]) {
    const live = run([...args, '--help'], true);
    const fast = run([...args, '--help'], false);
    assert.equal(live.status, 0, live.stderr);
    assert.equal(fast.status, 0, fast.stderr);
    assert.equal(fast.stdout, live.stdout, `catena ${args.join(' ')} --help`);
    assert.equal(fast.stdout, args.length ? recorded.commands[args[0]] : recorded.top);
  }
});

test('anything but a bare --help goes to the CLI itself', () => {
  const unknown = run(['no-such-command', '--help'], false);
  const unknownLive = run(['no-such-command', '--help'], true);
  assert.equal(unknown.status, unknownLive.status);
  assert.equal(unknown.stdout, unknownLive.stdout, 'an unknown command answers as the CLI does');
  const sub = run(['quote', 'verify', '--help'], false);
  assert.equal(sub.status, 0, sub.stderr);
  assert.match(sub.stdout, /Usage: catena quote verify/);
});
