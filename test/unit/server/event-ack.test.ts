import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyAuditLog } from '../../../src/store/index.ts';
import { ManagerFixture } from './fixture.ts';
import { readEventsUntil } from '../../helpers/read-events.ts';

/** POST /v1/events/:id/ack: admin only, kept in the store, audited, idempotent, announced on /v1/events. */
let f: ManagerFixture;
let url: string;
before(async () => {
  f = await ManagerFixture.create();
  url = await f.app.listen({ host: '127.0.0.1', port: 0 });
});
after(() => f.close());

/** The stream from the start of the replay buffer until `needle` shows (or 10 s pass). */
const readUntil = (needle: string) => readEventsUntil(url, f.reader, { 'last-event-id': '0' }, needle);

const idOf = (stream: string, type: string, chain: string): number => {
  const m = new RegExp(`id: (\\d+)\\nevent: ${type.replace('.', '\\.')}\\ndata: [^\\n]*"chain":"${chain}"`).exec(
    stream,
  );
  assert.ok(m, stream);
  return Number(m[1]);
};

const audits = async () => {
  const r = await f.req('GET', '/v1/audit?limit=1000');
  assert.equal(r.statusCode, 200, r.body);
  return r.json().records as { action: string; subject: string; actor: string; detail: Record<string, unknown> }[];
};

test('an admin acknowledges an event once: stored, audited, announced; again answers the first; unknown ids are 404', async () => {
  const chain = await f.createChain();
  const id = idOf(await readUntil(`"chain":"${chain}"`), 'chain.created', chain);
  const adminId = (await f.req('GET', '/v1/auth/whoami')).json().id as string;

  // Who may: admin only.
  const asReader = await f.req('POST', `/v1/events/${id}/ack`, {}, f.reader);
  assert.equal(asReader.statusCode, 403);
  assert.equal(asReader.json().code, 'ERR_FORBIDDEN');
  assert.equal((await f.req('POST', `/v1/events/${id}/ack`, {}, null)).statusCode, 401);

  // Malformed ids and notes; an id the manager never sent.
  for (const bad of ['abc', '0', '-1', '1.5']) {
    const r = await f.req('POST', `/v1/events/${bad}/ack`, {});
    assert.equal(r.statusCode, 400, bad);
    assert.equal(r.json().code, 'ERR_MALFORMED');
  }
  const long = await f.req('POST', `/v1/events/${id}/ack`, { note: 'n'.repeat(1001) });
  assert.equal(long.statusCode, 400);
  assert.equal((await f.req('POST', `/v1/events/${id}/ack`, { note: 'x', extra: 1 })).statusCode, 400);
  const unknown = await f.req('POST', `/v1/events/${id + 100_000}/ack`, { note: 'x' });
  assert.equal(unknown.statusCode, 404);
  assert.match(String(unknown.headers['content-type']), /^application\/problem\+json/);
  assert.equal(unknown.json().code, 'ERR_NOT_FOUND');
  assert.equal((await audits()).filter((a) => a.action === 'event.ack').length, 0, 'nothing written by a refusal');

  const first = await f.req('POST', `/v1/events/${id}/ack`, { note: 'seen: new chain expected' });
  assert.equal(first.statusCode, 200, first.body);
  const ack = first.json();
  assert.deepEqual(
    { ...ack, at: undefined },
    { event: id, type: 'chain.created', by: adminId, note: 'seen: new chain expected', at: undefined, created: true },
  );
  assert.ok(!Number.isNaN(Date.parse(ack.at)));

  // The other dashboards learn it from the stream.
  const stream = await readUntil('event: event.acknowledged');
  const m = /event: event\.acknowledged\ndata: ([^\n]*)/.exec(stream);
  assert.ok(m, stream);
  const announced = JSON.parse(m[1]);
  assert.equal(announced.event, id);
  assert.equal(announced.eventType, 'chain.created');
  assert.equal(announced.chain, chain);
  assert.equal(announced.by, adminId);
  assert.equal(announced.note, 'seen: new chain expected');
  assert.equal(announced.acknowledgedAt, ack.at);

  // Idempotent: no body at all, the first acknowledgement stands; one audit record.
  const again = await f.req('POST', `/v1/events/${id}/ack`);
  assert.equal(again.statusCode, 200, again.body);
  assert.deepEqual(again.json(), { ...ack, created: false });
  const records = (await audits()).filter((a) => a.action === 'event.ack');
  assert.equal(records.length, 1);
  assert.equal(records[0].subject, `event:${id}`);
  assert.equal(records[0].actor, adminId);
  assert.deepEqual(records[0].detail, { event: id, type: 'chain.created', chain, note: 'seen: new chain expected' });
  const all = (await f.req('GET', '/v1/audit?limit=1000')).json().records;
  assert.equal(verifyAuditLog(all, [], () => true).ok, true);
});

test('after a restart the acknowledgement is still there, and new events are numbered above it', async () => {
  const chain = await f.createChain();
  const id = idOf(await readUntil(`"chain":"${chain}"`), 'chain.created', chain);
  const ack = await f.req('POST', `/v1/events/${id}/ack`, {});
  assert.equal(ack.statusCode, 200, ack.body);
  assert.equal(ack.json().note, null);

  await f.app.close();
  await f.restart();
  url = await f.app.listen({ host: '127.0.0.1', port: 0 });
  const kept = await f.req('POST', `/v1/events/${id}/ack`, { note: 'later' });
  assert.equal(kept.statusCode, 200, kept.body);
  assert.deepEqual(kept.json(), { ...ack.json(), created: false });

  const next = await f.createChain();
  const nextId = idOf(await readUntil(`"chain":"${next}"`), 'chain.created', next);
  assert.ok(nextId > id, `${nextId} > ${id}`);
  // An id of the previous run that nobody acknowledged is not among the kept events any more.
  const gone = await f.req('POST', `/v1/events/${id - 1}/ack`, {});
  assert.equal(gone.statusCode, 404, gone.body);

  // A dashboard opened now lists it (the stream of this run never carried it): a reader may, newest first.
  assert.equal((await f.req('GET', '/v1/events/acks', undefined, null)).statusCode, 401);
  const listed = await f.req('GET', '/v1/events/acks', undefined, f.reader);
  assert.equal(listed.statusCode, 200, listed.body);
  const { acks, next: more } = listed.json<{ acks: { event: number }[]; next: number | null }>();
  const { created: _, ...view } = ack.json<Record<string, unknown>>();
  assert.deepEqual(acks[0], view);
  assert.deepEqual(
    acks.map((a) => a.event),
    [...acks.map((a) => a.event)].sort((a, b) => b - a),
  );
  assert.equal(more, null);
  // Paged by event id.
  const page = await f.req('GET', `/v1/events/acks?limit=1`, undefined, f.reader);
  assert.deepEqual([page.json().acks.length, page.json().next], [1, id]);
  const rest = (await f.req('GET', `/v1/events/acks?before=${id}`, undefined, f.reader)).json();
  assert.deepEqual(rest.acks, acks.slice(1));
  for (const bad of ['before=0', 'before=x', 'limit=0']) {
    const r = await f.req('GET', `/v1/events/acks?${bad}`, undefined, f.reader);
    assert.equal(r.statusCode, 400, bad);
  }
});
