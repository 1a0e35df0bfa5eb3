import type { FastifyInstance } from 'fastify';
import type { TokenRole } from '../../store/types.ts';
import { ServerError } from '../errors.ts';
import * as S from '../schemas.ts';
import { createToken, parseTtl } from '../tokens.ts';
import type { ManagerContext } from './context.ts';
import * as R from './responses.ts';
import { tokenView } from './views.ts';

/** Tokens: who am I; create, list and revoke (admin; the same as `catena admin token …`). */
export async function tokenRoutes(app: FastifyInstance, { ctx }: { ctx: ManagerContext }): Promise<void> {
  const { store, clock } = ctx;
  // Agents check operators' tokens with this.
  app.get(
    '/v1/auth/whoami',
    { config: { auth: 'reader' }, schema: { tags: ['tokens'], response: { 200: R.Whoami } } },
    async (req) => {
      const p = req.principal!;
      return { id: p.id, role: p.role, ...(p.agentId ? { agentId: p.agentId } : {}) };
    },
  );
  app.get(
    '/v1/tokens',
    { config: { auth: 'admin' }, schema: { tags: ['tokens'], response: { 200: R.TokenList } } },
    async () => ({ tokens: (await store.listTokens()).map(tokenView) }),
  );
  app.post(
    '/v1/tokens',
    {
      config: { auth: 'admin' },
      schema: { tags: ['tokens'], body: S.CreateTokenSchema, response: { 201: R.TokenCreated } },
    },
    async (req, reply) => {
      const b = req.body as { role: TokenRole; ttl?: string; agentId?: string };
      const ttlMs = b.ttl === undefined ? undefined : parseTtl(b.ttl);
      const t = await createToken(store, b.role, req.principal!.id, {
        ...(ttlMs !== undefined ? { ttlMs } : {}),
        ...(b.agentId ? { agentId: b.agentId } : {}),
        now: clock(),
      });
      return reply.code(201).send({ ...t, revokedAt: null });
    },
  );
  app.delete(
    '/v1/tokens/:id',
    { config: { auth: 'admin' }, schema: { tags: ['tokens'], params: S.IdParams, response: { 204: R.NoContent } } },
    async (req, reply) => {
      const id = (req.params as { id: string }).id;
      if (!(await store.listTokens()).some((t) => t.id === id))
        throw new ServerError('ERR_NOT_FOUND', `no token ${id}`);
      await store.revokeToken(id, { actor: req.principal!.id, at: clock() });
      return reply.code(204).send();
    },
  );
}
