import type { FastifyInstance } from 'fastify';
import { Type, type TSchema } from '@sinclair/typebox';
import { explainTcb, type TcbExplanation } from '../../attestation/dcap/tcb-explanation.ts';
import { pemCertificates } from '../../attestation/pem.ts';
import { fromHex } from '../../bytes/util.ts';
import type { Chain } from '../../chain/chain.ts';
import type { CollateralBlob, Link } from '../../chain/types.ts';
import { pckExtensionFromCertificate } from '../../formats/pck-extension.ts';
import { parseQuote } from '../../formats/quote.ts';
import { parseTcbInfo } from '../../formats/tcb-info.ts';
import { ServerError } from '../errors.ts';
import { collateralRequestOfQuote } from '../pcs-collateral.ts';
import * as S from '../schemas.ts';
import type { ManagerContext } from './context.ts';

/**
 * GET /v1/platforms/:id/tcb-status (reader): why a platform has its TCB status. From the newest
 * remote link of any chain admitting an enclave on the platform (its DCAP quote, and the collateral
 * the link was verified with when it was appended, or what the manager's monitor holds now): the PCK
 * certificate's TCB and explainTcb over that TCB info, and the early release when one is staged.
 */
const Shortfall = Type.Object({
  component: Type.Union([Type.Literal('sgx'), Type.Literal('pcesvn'), Type.Literal('tdx')]),
  index: Type.Optional(Type.Integer()),
  category: Type.Optional(Type.String()),
  type: Type.Optional(Type.String()),
  have: Type.Integer(),
  need: Type.Integer(),
});
const LevelRef = {
  index: Type.Integer(),
  tcbStatus: Type.String(),
  tcbDate: Type.String(),
  advisoryIds: Type.Array(Type.String()),
};
const Target = Type.Object({ ...LevelRef, shortfalls: Type.Array(Shortfall) });
const judgement: Record<string, TSchema> = {
  fmspc: Type.String(),
  tcbEvaluationDataNumber: Type.Integer(),
  platform: Type.Object({
    components: Type.Array(Type.Integer()),
    pceSvn: Type.Integer(),
    teeTcbSvn: Type.Optional(Type.String()),
  }),
  matched: Type.Union([Type.Object(LevelRef), Type.Null()]),
  tcbStatus: Type.Union([Type.String(), Type.Null()]),
  advisoryIds: Type.Array(Type.String()),
  next: Type.Union([Target, Type.Null()]),
  upToDate: Type.Union([Target, Type.Null()]),
  tdxModule: Type.Optional(
    Type.Object(
      {
        id: Type.String(),
        isvSvn: Type.Integer(),
        matched: Type.Union([
          Type.Object({
            isvSvn: Type.Integer(),
            tcbStatus: Type.String(),
            tcbDate: Type.String(),
            advisoryIds: Type.Array(Type.String()),
          }),
          Type.Null(),
        ]),
        upToDate: Type.Union([Type.Object({ isvSvn: Type.Integer(), tcbDate: Type.String() }), Type.Null()]),
      },
      { description: "TDX: the TDX module's level in tdxModuleIdentities (merged into the platform status)" },
    ),
  ),
};
export const TcbExplanationSchema = Type.Object({
  ...judgement,
  early: Type.Optional(Type.Object({ ...judgement, changed: Type.Boolean() })),
});
export const PlatformTcbStatus = Type.Object({
  platform: Type.String(),
  chain: Type.String(),
  element: Type.String(),
  at: Type.String({ description: 'RFC 3339 time of the link whose evidence is explained' }),
  linkTcbStatus: Type.Union([Type.String(), Type.Null()]),
  pckCa: Type.Union([Type.Literal('processor'), Type.Literal('platform')], {
    description: "the PCK certificate's issuing CA (Intel SGX PCK Processor CA or Platform CA)",
  }),
  tcbExplanation: TcbExplanationSchema,
});

/**
 * The explanation of a remote link's evidence: over the collateral the manager's monitor holds now
 * (and the early release when one is staged), else the collateral its chain verified it with.
 */
export function explainLink(
  chain: Chain,
  link: Link,
  held?: { standard?: CollateralBlob; early?: CollateralBlob },
): TcbExplanation {
  if (link.evidence.kind !== 'dcap-quote') throw new ServerError('ERR_INTERNAL', 'not a remote link');
  const blob = held?.standard ?? chain.heldCollateral(link.evidence.collateral);
  if (!blob)
    throw new ServerError('ERR_NOT_FOUND', `chain ${chain.id} holds no collateral ${link.evidence.collateral}`);
  const q = parseQuote(fromHex(link.evidence.quote), { allowZeroPadding: true });
  const leaf = pemCertificates(Buffer.from(q.signatureData.qe.certification.data).toString('latin1'))[0];
  if (!leaf) throw new ServerError('ERR_NOT_FOUND', 'the quote carries no PCK certificate');
  const tcb = pckExtensionFromCertificate(leaf).tcb;
  return explainTcb(
    {
      components: tcb.components,
      pceSvn: tcb.pceSvn,
      ...(q.body.kind === 'td10' ? { teeTcbSvn: q.body.report.teeTcbSvn } : {}),
    },
    parseTcbInfo((blob as { tcb_info: string }).tcb_info),
    held?.early ? parseTcbInfo((held.early as { tcb_info: string }).tcb_info) : undefined,
  );
}

export async function tcbStatusRoutes(app: FastifyInstance, { ctx }: { ctx: ManagerContext }): Promise<void> {
  app.get(
    '/v1/platforms/:id/tcb-status',
    {
      config: { auth: 'reader' },
      schema: { tags: ['platforms'], params: S.IdParams, response: { 200: PlatformTcbStatus } },
    },
    async (req) => {
      const ppid = (req.params as { id: string }).id.toLowerCase();
      let best: { chain: Chain; link: Link } | undefined;
      let after: string | undefined;
      for (;;) {
        const page = await ctx.store.listChains({ limit: 500, ...(after ? { after } : {}) });
        if (page.length === 0) break;
        for (const c of page) {
          if (c.deleted) continue;
          const chain = (await ctx.chains.entry(c.id)).chain;
          for (const l of chain.allLinks()) {
            if (l.type !== 'remote' || l.childPlatform !== ppid || l.evidence.kind !== 'dcap-quote') continue;
            if (!best || l.at > best.link.at) best = { chain, link: l };
          }
        }
        after = page[page.length - 1].id;
      }
      if (!best) throw new ServerError('ERR_NOT_FOUND', `no chain holds a quote from platform ${ppid}`);
      const quote = best.link.evidence.kind === 'dcap-quote' ? fromHex(best.link.evidence.quote) : undefined;
      return {
        platform: ppid,
        chain: best.chain.id,
        element: best.link.child,
        at: best.link.at,
        linkTcbStatus: best.link.appraisal.tcbStatus ?? null,
        pckCa: collateralRequestOfQuote(quote!).pckCa,
        tcbExplanation: explainLink(best.chain, best.link, quote ? ctx.heldCollateral?.(quote) : undefined),
      };
    },
  );
}
