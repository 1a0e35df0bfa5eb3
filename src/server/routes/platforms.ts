import type { FastifyInstance } from 'fastify';
import type { ChainService } from '../chain-service.ts';
import { ServerError } from '../errors.ts';
import * as S from '../schemas.ts';
import type { ManagerContext } from './context.ts';
import * as R from './responses.ts';

/**
 * Platforms: registered by the agent hosting them (POST /v1/agents, `platforms`); a platform's status
 * is its agent's, and every chain that admitted an enclave on it over a quote records its TCB status.
 */
export async function platformRoutes(app: FastifyInstance, { ctx }: { ctx: ManagerContext }): Promise<void> {
  const { store, chains } = ctx;
  async function platformViews(only?: string) {
    const chainsSeen: Array<{ id: string; chain: Awaited<ReturnType<ChainService['entry']>>['chain'] }> = [];
    let after: string | undefined;
    for (;;) {
      const page = await store.listChains({ limit: 500, ...(after ? { after } : {}) });
      if (page.length === 0) break;
      for (const c of page) if (!c.deleted) chainsSeen.push({ id: c.id, chain: (await chains.entry(c.id)).chain });
      after = page[page.length - 1].id;
    }
    const out = [];
    for (const a of await store.listAgents()) {
      for (const p of (a.info as { platforms?: Array<{ index: number; ppid: string }> }).platforms ?? []) {
        if (only !== undefined && p.ppid !== only) continue;
        const inChains = chainsSeen.flatMap(({ id, chain }) => {
          const el = chain.element(`platform:${p.ppid}`);
          return el
            ? [
                {
                  chain: id,
                  ...(el.fmspc ? { fmspc: el.fmspc } : {}),
                  ...(el.tcbStatus ? { tcbStatus: el.tcbStatus } : {}),
                  advisoryIds: el.advisoryIds ?? [],
                },
              ]
            : [];
        });
        out.push({
          ppid: p.ppid,
          agent: a.id,
          cloud: a.cloud,
          index: p.index,
          status: a.status,
          lastSeen: a.lastSeen.toISOString(),
          chains: inChains,
        });
      }
    }
    return out;
  }
  app.get(
    '/v1/platforms',
    { config: { auth: 'reader' }, schema: { tags: ['platforms'], response: { 200: R.PlatformList } } },
    async () => ({ platforms: await platformViews() }),
  );
  app.get(
    '/v1/platforms/:id',
    {
      config: { auth: 'reader' },
      schema: { tags: ['platforms'], params: S.IdParams, response: { 200: R.PlatformView } },
    },
    async (req) => {
      const id = (req.params as { id: string }).id.toLowerCase();
      const [p] = await platformViews(id);
      if (!p) throw new ServerError('ERR_NOT_FOUND', `no registered platform ${id}`);
      return p;
    },
  );
}
