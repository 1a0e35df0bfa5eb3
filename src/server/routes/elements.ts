import type { FastifyInstance } from 'fastify';
import type { ChainService } from '../chain-service.ts';
import { ServerError } from '../errors.ts';
import { reattestElement, type ReattestDeps } from '../reattest.ts';
import * as S from '../schemas.ts';
import type { ManagerContext } from './context.ts';
import * as R from './responses.ts';
import { elementView } from './views.ts';

/** Elements: challenge, append, list, read, revoke, re-attest. */
export async function elementRoutes(
  app: FastifyInstance,
  { ctx, reattestDeps }: { ctx: ManagerContext; reattestDeps: ReattestDeps },
): Promise<void> {
  const { chains, store, metrics } = ctx;
  app.post(
    '/v1/chains/:id/challenge',
    { config: { auth: 'agent' }, schema: { tags: ['elements'], params: S.IdParams, response: { 201: R.Challenge } } },
    async (req, reply) => reply.code(201).send(await chains.challenge((req.params as { id: string }).id)),
  );
  app.post(
    '/v1/chains/:id/elements',
    {
      config: { auth: 'agent' },
      schema: { tags: ['elements'], params: S.IdParams, body: S.AppendSchema, response: { 201: R.Appended } },
    },
    async (req, reply) => {
      const id = (req.params as { id: string }).id;
      const body = req.body as Parameters<ChainService['append']>[1];
      try {
        const r = await chains.append(id, body, req.principal!.id);
        metrics.appends.inc({ result: 'accepted', type: body.link.type });
        return reply
          .code(201)
          .header('location', `/v1/chains/${id}/elements/${r.element.id}`)
          .send({ element: r.element, seq: r.row.seq, status: r.row.status, link: r.link });
      } catch (e) {
        metrics.appends.inc({ result: 'refused', type: body.link.type });
        throw e;
      }
    },
  );
  app.get(
    '/v1/chains/:id/elements',
    {
      config: { auth: 'reader' },
      schema: { tags: ['elements'], params: S.IdParams, response: { 200: R.ElementList } },
    },
    async (req) => {
      const id = (req.params as { id: string }).id;
      await chains.row(id);
      return { elements: (await store.listElements(id)).map(elementView) };
    },
  );
  app.get(
    '/v1/chains/:id/elements/:element',
    {
      config: { auth: 'reader' },
      schema: { tags: ['elements'], params: S.ElementParams, response: { 200: R.ElementView } },
    },
    async (req) => {
      const { id, element } = req.params as { id: string; element: string };
      await chains.row(id);
      const row = await store.getElement(id, element);
      if (row) return elementView(row);
      // Platforms and QEs live in the chain model, not as element rows.
      const el = (await chains.entry(id)).chain.element(element);
      if (!el) throw new ServerError('ERR_NOT_FOUND', `no element ${element} in chain ${id}`);
      return { id: el.id, element: el, status: 'active' };
    },
  );
  app.post(
    '/v1/chains/:id/elements/:element/revoke',
    {
      config: { auth: 'admin' },
      schema: { tags: ['elements'], params: S.ElementParams, body: S.RevokeSchema, response: { 200: R.Revoked } },
    },
    async (req) => {
      const { id, element } = req.params as { id: string; element: string };
      return {
        revocation: await chains.revoke(id, element, (req.body as { reason: string }).reason, req.principal!.id),
      };
    },
  );
  app.post(
    '/v1/chains/:id/elements/:element/reattest',
    {
      config: { auth: 'admin' },
      schema: { tags: ['elements'], params: S.ElementParams, response: { 200: R.Reattested } },
    },
    async (req) => {
      const { id, element } = req.params as { id: string; element: string };
      await chains.row(id);
      const r = await reattestElement(reattestDeps, id, element, req.principal!.id);
      metrics.reattests.inc({ verdict: r.result.verdict });
      return { chain: id, element, status: r.status, ...r.result, ear: await ctx.ear.element(id, element, r) };
    },
  );
}
