import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ScenarioSummary } from '../../src/cli/commands/demo-scenario.ts';

const BIN = fileURLToPath(new URL('../../bin/catena.js', import.meta.url));

function demo(scenario: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'demo', '--scenario', scenario, '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const kill = setTimeout(() => child.kill('SIGKILL'), 200_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(kill);
      resolve({ code, stdout, stderr });
    });
  });
}

type Summary = ScenarioSummary;

/**
 * The three self-management scenarios from a fresh start, as an operator runs them: each causes its
 * event in the emulated world, and the manager — not the demo — detects it, re-appraises the stored
 * evidence, runs the chain policy's reactions as durable jobs, and ends with the chain valid.
 */
for (const [scenario, expect] of [
  [
    'tcb-recovery',
    (s: Summary) => {
      assert.ok(s.predicted >= 1, 'the early release predicts downgrades');
      assert.equal(s.predicted, s.affected, 'every element of the demo runs on an affected platform');
      assert.ok(s.reattested >= s.affected, 'each is re-attested after its platform took the TCB update');
      assert.equal(s.migrated + s.quarantined + s.revoked, 0);
    },
  ],
  [
    'revocation',
    (s: Summary) => {
      assert.ok(s.affected >= 1);
      assert.ok(s.migrated >= s.affected, 'the revoked platform’s elements (and the subtree below) run elsewhere');
      assert.equal(s.predicted, 0);
    },
  ],
  [
    'agent-loss',
    (s: Summary) => {
      assert.ok(s.affected >= 1);
      assert.ok(s.migrated >= s.affected, 'every enclave of the lost agent is relaunched on another one');
    },
  ],
] as const) {
  test(`catena demo --scenario ${scenario}: detected, re-appraised, healed by the policy's reactions, valid`, async () => {
    const r = await demo(scenario);
    assert.equal(r.code, 0, r.stderr.slice(-1500));
    const s = JSON.parse(r.stdout) as Summary;
    assert.equal(s.scenario, scenario);
    assert.equal(s.valid, true);
    assert.deepEqual(s.failures, []);
    assert.ok(s.detectedMs > 0 && s.healedMs >= s.detectedMs, `${s.detectedMs} / ${s.healedMs}`);
    assert.ok(s.timeline.length >= 4, 'a timeline from the event to the chain valid again');
    expect(s);
  });
}

test('an unknown scenario is a usage error (exit 2) naming the valid ones', async () => {
  const r = await demo('meteor');
  assert.equal(r.code, 2);
  assert.match(r.stdout + r.stderr, /tcb-recovery.*revocation.*agent-loss/s);
});
