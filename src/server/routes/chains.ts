import type { ElementRecord } from '../chain-service.ts';
import type { FastifyInstance } from 'fastify';
import { fromHex } from '../../bytes/util.ts';
import { checkRootCertificate } from '../root-check.ts';
import { ServerError } from '../errors.ts';
import * as S from '../schemas.ts';
import type { ManagerContext } from './context.ts';
import * as R from './responses.ts';
import { chainView } from './views.ts';

/** Chains: create, list, read, delete; verification and proof bundles. */
export async function chainRoutes(app: FastifyInstance, { ctx }: { ctx: ManagerContext }): Promise<void> {
  const { chains, store, clock } = ctx;
  app.post(
    '/v1/chains',
    {
      config: { auth: 'admin' },
      schema: { tags: ['chains'], body: S.CreateChainSchema, response: { 201: R.ChainView } },
    },
    async (req, reply) => {
      const b = req.body as S.CreateChainBody;
      const root = fromHex(b.root);
      checkRootCertificate(root);
      const row = await chains.create(
        { name: b.name, root, emulatedRoot: b.emulatedRoot, policy: b.policy ?? {} },
        req.principal!.id,
      );
      return reply.code(201).header('location', `/v1/chains/${row.id}`).send(chainView(row));
    },
  );
  app.get(
    '/v1/chains',
    {
      config: { auth: 'reader' },
      schema: { tags: ['chains'], querystring: S.PageQuery, response: { 200: R.ChainList } },
    },
    async (req) => {
      const q = req.query as { after?: string; limit?: string };
      const limit = q.limit ? Number(q.limit) : 100;
      const rows = await store.listChains({ limit, ...(q.after ? { after: q.after } : {}) });
      return { chains: rows.map(chainView), next: rows.length === limit ? rows[rows.length - 1].id : null };
    },
  );
  app.get(
    '/v1/chains/:id',
    { config: { auth: 'reader' }, schema: { tags: ['chains'], params: S.IdParams, response: { 200: R.ChainDetail } } },
    async (req) => {
      const { id } = req.params as { id: string };
      const row = await chains.row(id);
      const els = await store.listElements(id);
      const counts: Record<string, number> = {};
      for (const e of els) counts[e.status] = (counts[e.status] ?? 0) + 1;
      return { ...chainView(row), elements: els.length, statuses: counts };
    },
  );
  app.delete(
    '/v1/chains/:id',
    { config: { auth: 'admin' }, schema: { tags: ['chains'], params: S.IdParams, response: { 204: R.NoContent } } },
    async (req, reply) => {
      await chains.delete((req.params as { id: string }).id, req.principal!.id);
      return reply.code(204).send();
    },
  );
  app.get(
    '/v1/chains/:id/verify',
    {
      config: { auth: 'reader' },
      schema: { tags: ['verification'], params: S.IdParams, querystring: S.VerifyQuery, response: { 200: R.Verified } },
    },
    async (req) => {
      const id = (req.params as { id: string }).id;
      const q = req.query as { at?: string };
      const at = q.at ? new Date(q.at) : clock();
      if (Number.isNaN(at.getTime())) throw new ServerError('ERR_MALFORMED', 'at: not a date');
      await chains.row(id);
      const v = await chains.verify(id, at);
      const rows = await store.listElements(id);
      const statuses: Record<string, string> = {};
      for (const r of rows) if (r.status !== 'active') statuses[r.id] = r.status;
      // Each element's state as self-management last appraised it (docs/self-management.md), with its cause.
      const states: Record<string, { state: string; cause?: string; predictedAt?: string; explanation?: string }> = {};
      for (const r of rows) {
        const h = (r.record as ElementRecord).health;
        if (h)
          states[r.id] = {
            state: h.state,
            ...(h.cause ? { cause: h.cause } : {}),
            ...(h.predictedAt ? { predictedAt: h.predictedAt } : {}),
            ...(h.explanation ? { explanation: h.explanation } : {}),
          };
      }
      return { chain: id, at: at.toISOString(), ...v, statuses, states, ear: await ctx.ear.chain(id, v, at, statuses) };
    },
  );
  app.get(
    '/v1/chains/:id/proof',
    { config: { auth: 'reader' }, schema: { tags: ['verification'], params: S.IdParams, response: { 200: R.Proof } } },
    async (req) => {
      const id = (req.params as { id: string }).id;
      await chains.row(id);
      return chains.bundle(id);
    },
  );
}
