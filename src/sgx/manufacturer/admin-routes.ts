import { createHash, timingSafeEqual, X509Certificate } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { HttpError, type Principal } from '../../http/index.ts';
import type { Manufacturer } from './manufacturer.ts';
import { normalizeSerial } from './pki.ts';

/**
 * The emulated PCS's admin API: it changes the emulated world on demand (TCB recoveries, revocations),
 * as Intel does to the real one. Routes are declared `auth: 'admin'`; the caller is the admin when it
 * presents `Authorization: Bearer <adminToken>` (compared in constant time, over SHA-256 digests so
 * the lengths never differ).
 *
 *   POST /admin/v1/tcb-recovery  {"fmspc"?: hex12, "stage": "early" | "standard",
 *                                 "tee"?: "sgx" | "tdx", "tdxComponent"?: "module" | "tee-tcb-svn",
 *                                 "downgradeTo"?: "OutOfDate" | "Revoked"}
 *        200 {stage, tcbEvaluationDataNumber, standard, early} (and tee: "tdx" for a TDX recovery)
 *        409 ERR_CONFLICT: `early` while a recovery is already staged
 *        `tee: "tdx"` stages (or promotes) a TDX TCB recovery: the TDX TCB of every FMSPC raised
 *        (`module`, the default: TDX_01 ISVSVN; `tee-tcb-svn`: the TDX late microcode SVN), SGX levels kept.
 *   POST /admin/v1/revocations   {"pck": serialHex} | {"platform": ppidHex} | {"pckCertificate": derHex} | {"ca": "processor" | "platform"}
 *        200 {revoked: [{list, serial}]} — the PCK CRL or Root CA CRL is reissued with the next CRL number
 */
const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** The principal of an admin request, null without credentials; 401 ERR_UNAUTHENTICATED for a wrong token. */
export function adminPrincipal(authorization: string | undefined, adminToken: string): Principal | null {
  if (authorization === undefined) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(authorization);
  if (!m || !timingSafeEqual(digest(m[1]), digest(adminToken)))
    throw new HttpError(401, 'ERR_UNAUTHENTICATED', 'the admin token is wrong');
  return { id: 'pcs-admin', role: 'admin' };
}

const RecoveryBody = Type.Object(
  {
    fmspc: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{12}$' })),
    stage: Type.Union([Type.Literal('early'), Type.Literal('standard')]),
    tee: Type.Optional(Type.Union([Type.Literal('sgx'), Type.Literal('tdx')])),
    tdxComponent: Type.Optional(Type.Union([Type.Literal('module'), Type.Literal('tee-tcb-svn')])),
    downgradeTo: Type.Optional(Type.Union([Type.Literal('OutOfDate'), Type.Literal('Revoked')])),
  },
  { additionalProperties: false },
);
const RevocationBody = Type.Union([
  Type.Object({ pck: Type.String({ pattern: '^[0-9a-fA-F]{1,64}$' }) }, { additionalProperties: false }),
  Type.Object({ platform: Type.String({ pattern: '^[0-9a-fA-F]{32}$' }) }, { additionalProperties: false }),
  // A PCK certificate (DER, hex) issued by this manufacturer, also by a copy of it in another process.
  Type.Object(
    { pckCertificate: Type.String({ pattern: '^([0-9a-fA-F]{2}){16,8192}$' }) },
    { additionalProperties: false },
  ),
  Type.Object(
    { ca: Type.Union([Type.Literal('processor'), Type.Literal('platform')]) },
    { additionalProperties: false },
  ),
]);

export function registerAdminRoutes(app: FastifyInstance, manufacturer: () => Manufacturer): void {
  const admin = { auth: 'admin' as const };
  app.post('/admin/v1/tcb-recovery', { config: admin, schema: { body: RecoveryBody } }, async (req) => {
    const b = req.body as {
      fmspc?: string;
      stage: 'early' | 'standard';
      tee?: 'sgx' | 'tdx';
      tdxComponent?: 'module' | 'tee-tcb-svn';
      downgradeTo?: 'OutOfDate' | 'Revoked';
    };
    const tee = b.tee ?? 'sgx';
    if (tee === 'sgx' && b.tdxComponent !== undefined)
      throw new HttpError(400, 'ERR_MALFORMED', 'tdxComponent is for a TDX recovery (tee: "tdx")');
    const r = manufacturer().tcbRecovery(b.stage, tee === 'tdx' ? undefined : b.fmspc?.toLowerCase(), {
      ...(b.downgradeTo ? { downgradeTo: b.downgradeTo } : {}),
      ...(tee === 'tdx' ? { tdx: { component: b.tdxComponent ?? 'module' } } : {}),
    });
    return tee === 'tdx' ? { ...r, tee } : r;
  });

  app.post('/admin/v1/revocations', { config: admin, schema: { body: RevocationBody } }, async (req) => {
    const b = req.body as { pck?: string; platform?: string; pckCertificate?: string; ca?: 'processor' | 'platform' };
    const m = manufacturer();
    if (b.pckCertificate !== undefined) {
      const der = Buffer.from(b.pckCertificate, 'hex');
      m.revokePck(der);
      const x = new X509Certificate(der);
      return {
        revoked: [
          { list: /platform/i.test(x.issuer) ? 'platform' : 'processor', serial: normalizeSerial(x.serialNumber) },
        ],
      };
    }
    if (b.pck !== undefined) {
      const serial = normalizeSerial(b.pck);
      const rec = m.listPcks().find((p) => p.serial === serial);
      m.revokePck(serial);
      return { revoked: [{ list: rec?.ca ?? 'processor', serial }] };
    }
    if (b.platform !== undefined) {
      const serials = m.revokePlatform(b.platform);
      return {
        revoked: serials.map((serial) => ({ list: m.listPcks().find((p) => p.serial === serial)!.ca, serial })),
      };
    }
    m.revokeCa(b.ca!);
    return {
      revoked: [{ list: 'root', serial: normalizeSerial(new X509Certificate(m.caCertificate(b.ca!)).serialNumber) }],
    };
  });
}
