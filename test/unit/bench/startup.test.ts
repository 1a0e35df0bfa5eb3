import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchStartup } from '../../../src/bench/startup.ts';

// Shape only (a stand-in CLI that exits at once): speed is measured by `catena bench startup`, not asserted.
test('bench startup: medians for --help and every command, the ratio to node -e 0, the slowest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'catena-bench-startup-'));
  try {
    const bin = join(dir, 'cli.mjs');
    writeFileSync(bin, "if (!process.argv.includes('--help')) process.exit(3);\n");
    const r = benchStartup({ bin, runs: 2, commands: ['quote', 'chain'] });
    assert.equal(r.runs, 2);
    assert.ok(r.nodeMs > 0 && r.helpMs > 0);
    assert.deepEqual(Object.keys(r.commandHelpMs), ['quote', 'chain']);
    assert.equal(r.maxHelpMs, Math.max(r.helpMs, ...Object.values(r.commandHelpMs)));
    assert.ok(Math.abs(r.ratio - r.helpMs / r.nodeMs) < 0.02 * r.ratio + 0.01);
    // A CLI that fails is not timed as if it had answered.
    writeFileSync(bin, 'process.exit(2);\n');
    assert.throws(() => benchStartup({ bin, runs: 1 }), /exited 2/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
