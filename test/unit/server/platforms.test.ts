import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManagerFixture } from './fixture.ts';

/** Platforms: registered by their agent, status from the agent, TCB status from every chain that quoted them. */
let f: ManagerFixture;
before(async () => {
  f = await ManagerFixture.create();
});
after(() => f.close());

test('GET /v1/platforms lists the platforms agents registered, with agent status and the TCB status each chain recorded', async () => {
  const [p0, p1] = f.world.platforms.map((p) => p.ppid) as [string, string];
  const reg = await f.req(
    'POST',
    '/v1/agents',
    {
      id: 'agent-p',
      cloud: 'cloud-p',
      url: 'https://127.0.0.1:9',
      platforms: [
        { index: 0, ppid: p0 },
        { index: 1, ppid: p1 },
      ],
    },
    f.agent,
  );
  assert.equal(reg.statusCode, 201, reg.body);
  const chainId = await f.createChain();
  const first = await f.load(0);
  assert.equal(
    (
      await f.req('POST', `/v1/chains/${chainId}/elements`, {
        ...(await f.firstLink(chainId, first)),
        agent: 'agent-p',
      })
    ).statusCode,
    201,
  );

  const list = (await f.req('GET', '/v1/platforms', undefined, f.agent)).json().platforms as Array<{
    ppid: string;
    agent: string;
    cloud: string;
    index: number;
    status: string;
    chains: Array<{ chain: string; tcbStatus: string; fmspc: string }>;
  }>;
  assert.deepEqual(
    list.map((p) => [p.ppid, p.index, p.agent, p.cloud, p.status]),
    [
      [p0, 0, 'agent-p', 'cloud-p', 'active'],
      [p1, 1, 'agent-p', 'cloud-p', 'active'],
    ],
  );
  // Platform 0 was quoted in the chain (the first enclave's remote link); platform 1 not yet.
  assert.equal(list[0].chains.length, 1);
  assert.equal(list[0].chains[0].chain, chainId);
  assert.equal(list[0].chains[0].tcbStatus, 'UpToDate');
  assert.match(list[0].chains[0].fmspc, /^[0-9a-f]{12}$/);
  assert.deepEqual(list[1].chains, []);

  const one = await f.req('GET', `/v1/platforms/${p0.toUpperCase()}`);
  assert.equal(one.statusCode, 200, one.body);
  assert.equal(one.json().ppid, p0);
  const none = await f.req('GET', `/v1/platforms/${'00'.repeat(16)}`);
  assert.equal(none.statusCode, 404);
  assert.equal(none.json().code, 'ERR_NOT_FOUND');
  assert.equal((await f.req('GET', '/v1/platforms', undefined, null)).statusCode, 401);

  // The agent stops answering: its platforms are unreachable too.
  await f.app.checkAgents();
  const after = (await f.req('GET', '/v1/platforms')).json().platforms as Array<{ status: string }>;
  assert.deepEqual(
    after.map((p) => p.status),
    ['unreachable', 'unreachable'],
  );
});
