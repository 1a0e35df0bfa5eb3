import type { FastifyInstance } from 'fastify';
import type { ChainPolicy } from '../../chain/types.ts';
import type { StoredPolicy } from '../chain-service.ts';
import * as S from '../schemas.ts';
import type { ManagerContext } from './context.ts';
import * as R from './responses.ts';

/** A chain's policy: read, replace (the chain is re-evaluated under the new one). */
export async function policyRoutes(app: FastifyInstance, { ctx }: { ctx: ManagerContext }): Promise<void> {
  app.get(
    '/v1/chains/:id/policy',
    { config: { auth: 'reader' }, schema: { tags: ['policies'], params: S.IdParams, response: { 200: R.PolicyView } } },
    async (req) => {
      const row = await ctx.chains.row((req.params as { id: string }).id);
      return { chain: row.id, version: row.version, policy: (row.policy as StoredPolicy).policy };
    },
  );
  app.put(
    '/v1/chains/:id/policy',
    {
      config: { auth: 'admin' },
      schema: { tags: ['policies'], params: S.IdParams, body: S.PolicySchema, response: { 200: R.PolicyUpdated } },
    },
    async (req) => {
      const id = (req.params as { id: string }).id;
      const v = await ctx.chains.updatePolicy(id, req.body as ChainPolicy, req.principal!.id);
      return { chain: id, policy: req.body, verification: v };
    },
  );
}
