import type { FastifyInstance } from 'fastify';
import * as S from '../schemas.ts';
import type { ManagerContext } from './context.ts';
import * as R from './responses.ts';

/** The audit log, paged, and its signed checkpoints (admin). */
export async function auditRoutes(app: FastifyInstance, { ctx }: { ctx: ManagerContext }): Promise<void> {
  app.get(
    '/v1/audit',
    {
      config: { auth: 'admin' },
      schema: { tags: ['audit'], querystring: S.AuditQuery, response: { 200: R.AuditPage } },
    },
    async (req) => {
      const q = req.query as { afterSeq?: string; limit?: string };
      const limit = q.limit ? Number(q.limit) : 100;
      const records = await ctx.store.listAudit({ afterSeq: q.afterSeq ? Number(q.afterSeq) : 0, limit });
      return { records, next: records.length === limit ? records[records.length - 1].seq : null };
    },
  );
  app.get(
    '/v1/audit/checkpoints',
    { config: { auth: 'admin' }, schema: { tags: ['audit'], response: { 200: R.Checkpoints } } },
    async () => ({ keyId: ctx.kid, key: ctx.jwk, checkpoints: await ctx.store.listCheckpoints() }),
  );
}
