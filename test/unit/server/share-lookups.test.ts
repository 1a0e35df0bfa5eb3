import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shareLookupsPerTurn } from '../../../src/server/share-lookups.ts';
import { eventKey, eventOfAudit } from '../../../src/server/replica-event-poll.ts';
import type { AuditRecord } from '../../../src/store/index.ts';

test('calls with one key in one turn share one read; a call after that read began gets a read of its own', async () => {
  let value = 'v1';
  const reads: string[] = [];
  const lookup = shareLookupsPerTurn(async (k) => {
    reads.push(k);
    return `${k}:${value}`;
  });
  const same = await Promise.all([lookup('a'), lookup('a'), lookup('b')]);
  assert.deepEqual(same, ['a:v1', 'a:v1', 'b:v1']);
  assert.deepEqual(reads, ['a', 'b']);
  // A write (a revocation) committed before the next call is seen by it: nothing is kept.
  value = 'v2';
  assert.equal(await lookup('a'), 'a:v2');
  assert.deepEqual(reads, ['a', 'b', 'a']);
});

test('a call made while a shared read is in flight waits for a new read, not the one in flight', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let n = 0;
  const lookup = shareLookupsPerTurn(async () => {
    const mine = ++n;
    if (mine === 1) await gate;
    return mine;
  });
  const first = lookup('k');
  await new Promise((r) => setImmediate(r)); // the first read has started
  const second = lookup('k');
  release();
  assert.deepEqual(await Promise.all([first, second]), [1, 2]);
});

test('a failed read fails every call that shared it, and the next call reads again', async () => {
  let fail = true;
  const lookup = shareLookupsPerTurn(async () => {
    if (fail) throw new Error('down');
    return 'ok';
  });
  const r = await Promise.allSettled([lookup('k'), lookup('k')]);
  assert.deepEqual(
    r.map((x) => x.status),
    ['rejected', 'rejected'],
  );
  fail = false;
  assert.equal(await lookup('k'), 'ok');
});

test('replica events from the audit log: appends, chain creation and deletion; nothing for other records', () => {
  const rec = (action: string, detail: unknown): AuditRecord => ({
    seq: 7,
    at: '2025-01-01T00:00:00.000Z',
    actor: 'a',
    action,
    subject: 's',
    evidenceHashes: [],
    detail,
    prevHash: '0'.repeat(64),
    hash: '1'.repeat(64),
  });
  const ev = eventOfAudit(rec('element.append', { chain: 'c', element: 'e', parent: 'p', seq: 3 }));
  assert.deepEqual(ev, {
    type: 'element.appended',
    chain: 'c',
    element: 'e',
    parent: 'p',
    seq: 3,
    recoveredFrom: 'audit',
    auditSeq: 7,
    at: '2025-01-01T00:00:00.000Z',
  });
  assert.equal(eventKey(ev), eventKey({ type: 'element.appended', chain: 'c', element: 'e' }));
  assert.equal(eventOfAudit(rec('chain.create', { chain: 'c' }))?.type, 'chain.created');
  assert.equal(eventOfAudit(rec('chain.delete', { chain: 'c' }))?.type, 'chain.deleted');
  assert.equal(eventOfAudit(rec('element.update', { chain: 'c', element: 'e' })), undefined);
  assert.equal(eventOfAudit(rec('token.create', { token: 't' })), undefined);
  assert.equal(eventKey({ type: 'element.status', chain: 'c', element: 'e' }), undefined);
});
