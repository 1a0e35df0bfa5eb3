import type { FastifyInstance } from 'fastify';
import { checkAgentUrl } from '../agent-url.ts';
import type { ChainEvent } from '../chain-service.ts';
import { ServerError } from '../errors.ts';
import * as S from '../schemas.ts';
import type { ManagerContext } from './context.ts';
import * as R from './responses.ts';
import { agentView } from './views.ts';

/**
 * Agents: register (an agent is who its token says: a token bound to one agent id registers that id
 * only; an unbound agent token is bound to the first id it registers; moving a registered agent to
 * another URL needs admin), list, read.
 */
export async function agentRoutes(app: FastifyInstance, { ctx }: { ctx: ManagerContext }): Promise<void> {
  const { store, chains, clock } = ctx;
  app.post(
    '/v1/agents',
    {
      config: { auth: 'agent' },
      schema: { tags: ['agents'], body: S.RegisterAgentSchema, response: { 200: R.AgentView, 201: R.AgentView } },
    },
    async (req, reply) => {
      const p = req.principal!;
      const b = req.body as {
        id: string;
        cloud: string;
        url: string;
        platforms: Array<{ index: number; ppid: string }>;
      };
      const url = checkAgentUrl(b.url, ctx.agentHosts);
      const was = await store.getAgent(b.id);
      if (p.role !== 'admin') {
        if (p.agentId !== undefined && p.agentId !== b.id)
          throw new ServerError('ERR_FORBIDDEN', `this token speaks for agent ${p.agentId}, not ${b.id}`);
        if (was && new URL(was.url).origin !== url)
          throw new ServerError(
            'ERR_FORBIDDEN',
            `agent ${b.id} is registered at another URL; moving it needs an admin token`,
          );
        if (was && p.agentId === undefined && !p.id.startsWith('ratls:'))
          throw new ServerError(
            'ERR_FORBIDDEN',
            `agent ${b.id} is registered; only a token bound to it (or an admin) may register it again`,
          );
        // An unbound agent token becomes this agent's.
        if (p.agentId === undefined && !p.id.startsWith('ratls:'))
          await store.bindTokenAgent(p.id, b.id, { actor: p.id, at: clock() });
      }
      await store.putAgent(
        { id: b.id, cloud: b.cloud, url, status: 'active', info: { platforms: b.platforms }, lastSeen: clock() },
        { actor: p.id, at: clock() },
      );
      if (was && was.status === 'unreachable') await chains.markAgentElements(b.id, 'active', p.id);
      chains.events.emit('event', {
        type: 'agent.status',
        agent: b.id,
        status: 'active',
        at: clock().toISOString(),
      } satisfies ChainEvent);
      return reply.code(was ? 200 : 201).send(agentView((await store.getAgent(b.id))!));
    },
  );
  app.get(
    '/v1/agents',
    { config: { auth: 'reader' }, schema: { tags: ['agents'], response: { 200: R.AgentList } } },
    async () => ({ agents: (await store.listAgents()).map(agentView) }),
  );
  app.get(
    '/v1/agents/:id',
    { config: { auth: 'reader' }, schema: { tags: ['agents'], params: S.IdParams, response: { 200: R.AgentView } } },
    async (req) => {
      const a = await store.getAgent((req.params as { id: string }).id);
      if (!a) throw new ServerError('ERR_NOT_FOUND', 'no such agent');
      return agentView(a);
    },
  );
}
