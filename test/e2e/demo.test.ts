import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/catena.js', import.meta.url));

function run(
  args: string[],
  onStderr?: (text: string, child: ReturnType<typeof spawn>) => void,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const kill = setTimeout(() => child.kill('SIGKILL'), 170_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr, child);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(kill);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Anything listening there (an https agent answers the TCP connect even to a client that cannot verify it). */
function reachable(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = connect({ host: u.hostname, port: Number(u.port) });
    s.setTimeout(2000, () => (s.destroy(), resolve(false)));
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

test(
  'catena demo --json: a valid chain over three agent processes, mixing local and remote links',
  { timeout: 180_000 },
  async () => {
    const r = await run(['demo', '--json']);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    const d = JSON.parse(r.stdout);
    assert.equal(d.valid, true, JSON.stringify(d.failures));
    assert.equal(d.clouds, 3);
    assert.equal(d.platforms, 6);
    assert.ok(d.elements >= 6);
    assert.ok(d.links.local > 0 && d.links.remote > 0);
    assert.equal(d.links.local + d.links.remote, d.elements);
    assert.match(d.managerUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(r.stderr, /agent agent-cloud-c ready/);
    // Every process it started is gone: the manager and the agents no longer answer.
    assert.equal(await reachable(d.managerUrl), false);
    // Agents serve their API over RA-TLS.
    const agentUrls = [...r.stderr.matchAll(/ready on (https:\/\/127\.0\.0\.1:\d+)/g)].map((m) => m[1]);
    assert.equal(agentUrls.length, 3);
    for (const u of agentUrls) assert.equal(await reachable(u), false, `agent ${u} still answers`);
  },
);

test('catena demo --keep stops every process on SIGINT', { timeout: 180_000 }, async () => {
  let sent = false;
  const r = await run(['demo', '--keep'], (text, child) => {
    if (!sent && text.includes('Ctrl-C stops everything')) {
      sent = true;
      setTimeout(() => child.kill('SIGINT'), 200);
    }
  });
  assert.ok(sent, r.stderr.slice(-2000));
  assert.equal(r.code, 130, 'stopped by SIGINT: 128 + 2 (docs/cli.md)');
  assert.match(r.stdout, /Verdict: VALID/);
  const agentUrls = [...r.stderr.matchAll(/agent\s+(https:\/\/127\.0\.0\.1:\d+)/g)].map((m) => m[1]);
  const managerUrl = /manager\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(r.stderr)?.[1];
  assert.equal(agentUrls.length, 3, r.stderr.slice(-1500));
  assert.ok(managerUrl);
  for (const u of [...agentUrls, managerUrl])
    assert.equal(await reachable(u), false, `${u} still answers after SIGINT`);
});
