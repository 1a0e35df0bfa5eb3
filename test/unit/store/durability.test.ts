import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore, verifyAuditLog, type AuditRecord } from '../../../src/store/index.ts';

const child = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'append-child.ts');

/**
 * No acknowledged write is lost: a child process appends under load and reports each append only
 * after it was committed; we SIGKILL it mid-load (at a random number of acknowledgements), reopen
 * the database and find every acknowledged element, at the seq it was acknowledged with, and an
 * intact audit chain. (SIGKILL tests a process crash; power loss is what synchronous = FULL's fsync
 * on commit is for, which a test cannot pull the plug on.)
 */
test(
  'SQLite: every append acknowledged before SIGKILL survives, and the audit chain is intact',
  { timeout: 60_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'catena-crash-'));
    const path = join(dir, 'catena.db');
    try {
      const setup = await openStore(`sqlite:${path}`);
      await setup.createChain(
        { id: 'crash', name: 'crash test', policy: {}, anchor: {}, createdAt: new Date() },
        { actor: 'test', at: new Date() },
      );
      await setup.close();

      const killAfter = 150 + Math.floor(Math.random() * 250);
      const acked = new Map<string, number>();
      const proc = spawn(process.execPath, ['--import', 'tsx', child, path], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      proc.stderr.on('data', (d) => (stderr += d));
      let buf = '';
      let killed = false;
      proc.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const [tag, id, seq] = buf.slice(0, nl).split(' ');
          buf = buf.slice(nl + 1);
          if (tag === 'ack') acked.set(id, Number(seq));
        }
        if (!killed && acked.size >= killAfter) {
          killed = true;
          proc.kill('SIGKILL');
        }
      });
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) =>
        proc.on('close', (c, s) => res([c, s])),
      );
      assert.equal(signal, 'SIGKILL', `child ended on its own (code ${code}): ${stderr.slice(-500)}`);
      assert.ok(acked.size >= killAfter, `only ${acked.size} acknowledgements`);

      const store = await openStore(`sqlite:${path}`);
      try {
        const elements = await store.listElements('crash');
        const bySeq = new Map(elements.map((e) => [e.id, e.seq]));
        for (const [id, seq] of acked) assert.equal(bySeq.get(id), seq, `acknowledged element ${id} (seq ${seq}) lost`);
        assert.ok(elements.length >= acked.size);
        assert.deepEqual(
          elements.map((e) => e.seq),
          elements.map((_, i) => i + 1),
          'seqs are 1..n without holes',
        );
        const audit: AuditRecord[] = [];
        for (;;) {
          const page = await store.listAudit({ afterSeq: audit.length, limit: 1000 });
          audit.push(...page);
          if (page.length < 1000) break;
        }
        assert.deepEqual(
          verifyAuditLog(audit, [], () => true),
          { ok: true, count: elements.length + 1, headHash: audit[audit.length - 1].hash, checkpoints: 0 },
        );
        // The store keeps working after the crash.
        const after = await store.appendElement(
          'crash',
          { id: 'after', parentId: null, kind: 'enclave', status: 'valid', record: {}, evidenceHashes: [] },
          'any',
          { actor: 'test', at: new Date() },
        );
        assert.equal(after.element.seq, elements.length + 1);
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
