import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { ManagerFixture } from './fixture.ts';

/** Health checks never follow a redirect and give up after their timeout. */
let f: ManagerFixture;
const servers: Server[] = [];
const listen = (handler: Parameters<typeof createServer>[1]): Promise<string> =>
  new Promise((resolve) => {
    const s = createServer(handler);
    servers.push(s);
    s.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as { port: number }).port}`));
  });
before(async () => {
  f = await ManagerFixture.create({ agentCheckTimeoutMs: 300 });
});
after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  await f.close();
});

test('an agent answering /healthz with a redirect to a healthy service is unreachable; so is one that never answers', async () => {
  const healthy = await listen((_q, r) => r.end('{"ok":true}'));
  const redirecting = await listen((_q, r) => r.writeHead(302, { location: `${healthy}/healthz` }).end());
  const silent = await listen(() => {});
  // Stored as a manager before schema checks would have kept them (http URLs are refused at registration now).
  const put = (id: string, url: string) =>
    f.store.putAgent(
      { id, cloud: 'c', url, status: 'active', info: {}, lastSeen: new Date() },
      { actor: 'test', at: new Date() },
    );
  await put('a-healthy', healthy);
  await put('a-redirect', redirecting);
  await put('a-silent', silent);
  const t0 = Date.now();
  await f.app.checkAgents();
  assert.ok(Date.now() - t0 < 3000, 'the silent agent held the health check past its timeout');
  const status = async (id: string) => (await f.req('GET', `/v1/agents/${id}`)).json().status;
  assert.equal(await status('a-healthy'), 'active');
  assert.equal(await status('a-redirect'), 'unreachable');
  assert.equal(await status('a-silent'), 'unreachable');
});
