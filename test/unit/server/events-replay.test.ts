import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManagerFixture } from './fixture.ts';
import { readEventsUntil } from '../../helpers/read-events.ts';

/** /v1/events: one id sequence for every stream, and `Last-Event-ID` replays what a reconnecting client missed. */
let f: ManagerFixture;
let url: string;
before(async () => {
  f = await ManagerFixture.create();
  url = await f.app.listen({ host: '127.0.0.1', port: 0 });
});
after(() => f.close());

const readUntil = (headers: Record<string, string>, needle: string) => readEventsUntil(url, f.reader, headers, needle);

test('a client reconnecting with Last-Event-ID gets the events after that id, and not the ones before', async () => {
  const c1 = await f.createChain();
  const c2 = await f.createChain();
  const all = await readUntil({ 'last-event-id': '0' }, `"chain":"${c2}"`);
  const id1 = /id: (\d+)\nevent: chain\.created\ndata: [^\n]*"chain":"([^"]+)"/.exec(all);
  assert.ok(id1, all);
  assert.equal(id1[2], c1);
  const missed = await readUntil({ 'last-event-id': id1[1] }, `"chain":"${c2}"`);
  assert.ok(missed.includes(`"chain":"${c2}"`));
  assert.ok(!missed.includes(`"chain":"${c1}"`), missed);
  assert.match(missed, new RegExp(`id: ${Number(id1[1]) + 1}\\nevent: chain\\.created`));
});
