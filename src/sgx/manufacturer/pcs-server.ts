import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { fromHex, hex } from '../../bytes/util.ts';
import { createHttpApp, HttpError, type LogLevel, type ServerLimits } from '../../http/index.ts';
import { randomBytes } from '../../crypto/random.ts';
import { adminPrincipal, registerAdminRoutes } from './admin-routes.ts';
import { ManufacturerError } from './errors.ts';
import type { ReleaseSelector } from './tcb-state.ts';
import { certificatePem, crlPem } from './keys.ts';
import type { Manufacturer } from './manufacturer.ts';

/**
 * An Intel PCS v4-compatible collateral service over an emulated manufacturer (Intel "Provisioning
 * Certification Service for ECDSA Attestation" API v4, and the PCCS conventions where PCS has no
 * equivalent). Paths, parameters, headers:
 *
 *   GET /sgx/certification/v4/pckcert?encrypted_ppid=&cpusvn=&pcesvn=&pceid=
 *       encrypted_ppid: the PPID, 32 hex digits — the emulated PCE does not encrypt it (Intel's is
 *       RSA-3072-OAEP under Intel's key); cpusvn: 32 hex; pcesvn, pceid: 4 hex, little-endian (as
 *       Intel). cpusvn/pcesvn may be left out (then: the latest PCK of the platform). qeid is ignored.
 *       200 application/x-pem-file: the PCK certificate, with
 *         SGX-PCK-Certificate-Issuer-Chain   URL-encoded PEM, PCK CA ‖ root
 *         SGX-TCBm                           hex CPUSVN(16) ‖ PCESVN(2, LE) of the certificate returned
 *         SGX-FMSPC                          hex
 *         SGX-PCK-Certificate-CA-Type        processor | platform
 *   GET /sgx/certification/v4/tcb?fmspc=[&update=early|standard | &tcbEvaluationDataNumber=N]
 *       200 application/json: {"tcbInfo":…,"signature":…}, with TCB-Info-Issuer-Chain (v4) and
 *       SGX-TCB-Info-Issuer-Chain (v3 name), URL-encoded PEM, TCB Signing ‖ root. `update` and
 *       `tcbEvaluationDataNumber` together: 400 (as Intel); an unknown number: 404.
 *   GET /sgx/certification/v4/qe/identity[?update=… | ?tcbEvaluationDataNumber=N]
 *       200 application/json: {"enclaveIdentity":…,"signature":…}, with SGX-Enclave-Identity-Issuer-Chain.
 *   GET /sgx/certification/v4/tcbevaluationdatanumbers
 *       200 application/json: {"tcbEvaluationDataNumbers":{id,version,issueDate,nextUpdate,tcbEvalNumbers[]},"signature":…},
 *       with TCB-Evaluation-Data-Numbers-Issuer-Chain (TCB Signing ‖ root).
 *   GET /sgx/certification/v4/pckcrl?ca=processor|platform[&encoding=pem|der]
 *       200 the CRL, PEM (default, as PCS v4) or DER (application/pkix-crl), with SGX-PCK-CRL-Issuer-Chain.
 *   GET /sgx/certification/v4/rootcacrl[?encoding=hex|der|pem]
 *       200 the Root CA CRL; hex text by default (as Intel's PCCS serves it), DER with encoding=der
 *       (the form the certificates' CRL distribution points name).
 *   GET /tdx/certification/v4/tcb?fmspc=[&update=… | &tcbEvaluationDataNumber=N]   the TDX TCB info (id
 *       TDX, tdxModule, tdxModuleIdentities, tdxtcbcomponents), headers and releases as /sgx/…/tcb
 *   GET /tdx/certification/v4/qe/identity[?update=… | ?tcbEvaluationDataNumber=N]   the TD_QE identity,
 *       header SGX-Enclave-Identity-Issuer-Chain
 *   GET /tdx/certification/v4/tcbevaluationdatanumbers   as the SGX list, id TDX
 *
 * Every 200 answer to a GET under /sgx/certification/v4 or /tdx/certification/v4 carries a strong ETag (the SHA-256 of the body,
 * quoted hex); a request whose If-None-Match names it (or `*`) is answered 304 with no body, as
 * HTTP caches expect of conditional requests (RFC 9110 §13.1.2).
 *
 * Every response carries Request-ID. Errors are application/problem+json (RFC 9457) with a `code`
 * (the shared handler of src/http): 400 ERR_MALFORMED for a malformed parameter, 404 ERR_NOT_FOUND for
 * an unknown FMSPC / PCK / path, 503 ERR_UNAVAILABLE while no manufacturer is attached. Every
 * collateral route is public (collateral is public data).
 *
 * The admin API (only when `adminToken` is given; routes declared `auth: 'admin'`, the bearer token
 * compared in constant time) changes the emulated world — see admin-routes.ts.
 */
export interface PcsServerOptions {
  /** The manufacturer, or a getter (lets a server start listening before the manufacturer exists). */
  manufacturer: Manufacturer | (() => Manufacturer | undefined);
  /** pino level of the JSON logs on stderr; default silent. */
  logLevel?: LogLevel;
  limits?: Partial<ServerLimits>;
  /** Enables the admin API (/admin/v1/…) for callers presenting `Authorization: Bearer <adminToken>`. */
  adminToken?: string;
}

const V4 = '/sgx/certification/v4';
const TDX_V4 = '/tdx/certification/v4';

const bad = (detail: string) => new HttpError(400, 'ERR_MALFORMED', detail);
const notFound = (detail: string) => new HttpError(404, 'ERR_NOT_FOUND', detail);

function hexParam(
  q: Record<string, string | undefined>,
  name: string,
  bytes: number,
  required: boolean,
): Uint8Array | undefined {
  const v = q[name];
  if (v === undefined || v === '') {
    if (required) throw bad(`missing parameter ${name}`);
    return undefined;
  }
  if (!new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(v)) throw bad(`${name} must be ${bytes * 2} hex digits`);
  return fromHex(v.toLowerCase());
}

function u16le(b: Uint8Array): number {
  return b[0] | (b[1] << 8);
}

/** Intel's release selection: `update=early|standard` or `tcbEvaluationDataNumber=N`, never both (400). */
function releaseParam(q: Record<string, string | undefined>): ReleaseSelector {
  const update = q.update;
  const number = q.tcbEvaluationDataNumber;
  if (update !== undefined && number !== undefined)
    throw bad('update and tcbEvaluationDataNumber cannot be used together');
  if (number !== undefined) {
    if (!/^\d{1,9}$/.test(number)) throw bad('tcbEvaluationDataNumber must be a decimal number');
    return Number(number);
  }
  if (update === undefined || update === 'standard') return 'standard';
  if (update === 'early') return 'early';
  throw bad('update must be early or standard');
}

/** A strong ETag: the SHA-256 of the body, quoted hex. */
function strongEtag(body: string | Buffer): string {
  return `"${createHash('sha256').update(body).digest('hex')}"`;
}

/** Does an If-None-Match header name `tag` (or `*`)? Weak comparison (RFC 9110 §13.1.2): W/ prefixes are ignored. */
function etagMatches(header: string | string[] | undefined, tag: string): boolean {
  if (header === undefined) return false;
  const list = (Array.isArray(header) ? header.join(',') : header).split(',').map((t) => t.trim());
  return list.some((t) => t === '*' || t.replace(/^W\//, '') === tag);
}

const chainHeader = (chain: Uint8Array[]) => encodeURIComponent(chain.map(certificatePem).join(''));

/** Builds the service (not listening): `await app.listen({ host: '127.0.0.1', port })`, or `app.inject()` in tests. */
export function buildPcsServer(opts: PcsServerOptions): FastifyInstance {
  const app = createHttpApp({
    service: 'pcs',
    ...(opts.logLevel ? { logLevel: opts.logLevel } : {}),
    ...(opts.limits ? { limits: opts.limits } : {}),
    mapError: (err) =>
      err instanceof ManufacturerError && err.code === 'ERR_MANUFACTURER_UNKNOWN'
        ? notFound(err.message)
        : err instanceof ManufacturerError && err.code === 'ERR_MANUFACTURER_ARGUMENT'
          ? bad(err.message)
          : err instanceof ManufacturerError && err.code === 'ERR_MANUFACTURER_STATE'
            ? new HttpError(409, 'ERR_CONFLICT', err.message)
            : undefined,
    auth: {
      authenticate: async (req) =>
        opts.adminToken === undefined ? null : adminPrincipal(req.headers.authorization, opts.adminToken),
    },
  });
  const open = { config: { auth: 'public' as const } };
  const get = typeof opts.manufacturer === 'function' ? opts.manufacturer : () => opts.manufacturer as Manufacturer;
  const manufacturer = (): Manufacturer => {
    const m = get();
    if (!m) throw new HttpError(503, 'ERR_UNAVAILABLE', 'the emulated manufacturer is not ready');
    return m;
  };

  app.addHook('onRequest', async (_req, reply) => {
    reply.header('Request-ID', hex(randomBytes(16)));
  });
  app.addHook('onSend', async (req, reply, payload) => {
    if (
      req.method !== 'GET' ||
      reply.statusCode !== 200 ||
      !(req.url.startsWith(`${V4}/`) || req.url.startsWith(`${TDX_V4}/`))
    )
      return payload;
    if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload;
    const tag = strongEtag(payload);
    reply.header('ETag', tag);
    if (!etagMatches(req.headers['if-none-match'], tag)) return payload;
    reply.code(304);
    reply.removeHeader('Content-Type');
    reply.removeHeader('Content-Length');
    return '';
  });

  app.get(`${V4}/pckcert`, open, async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const ppid = hexParam(q, 'encrypted_ppid', 16, true)!;
    const pceId = u16le(hexParam(q, 'pceid', 2, true)!);
    const cpuSvn = hexParam(q, 'cpusvn', 16, false);
    const pceSvnBytes = hexParam(q, 'pcesvn', 2, false);
    const m = manufacturer();
    const rec = m.findPck({ ppid, pceId, cpuSvn, pceSvn: pceSvnBytes ? u16le(pceSvnBytes) : undefined });
    if (!rec) throw notFound('no PCK certificate for this platform at or below the given TCB');
    const pcesvnLe = new Uint8Array([rec.pceSvn & 0xff, rec.pceSvn >> 8]);
    return reply
      .header('SGX-PCK-Certificate-Issuer-Chain', chainHeader(m.pckIssuerChain(rec.ca)))
      .header('SGX-TCBm', (hex(rec.cpuSvn) + hex(pcesvnLe)).toUpperCase())
      .header('SGX-FMSPC', hex(rec.fmspc).toUpperCase())
      .header('SGX-PCK-Certificate-CA-Type', rec.ca)
      .type('application/x-pem-file')
      .send(certificatePem(rec.der));
  });

  app.get(`${V4}/tcb`, open, async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const fmspc = hexParam(q, 'fmspc', 6, true)!;
    const which = releaseParam(q);
    const m = manufacturer();
    const signed = m.tcbInfo(fmspc, which);
    const chain = chainHeader(m.tcbSigningChain());
    return reply
      .header('TCB-Info-Issuer-Chain', chain)
      .header('SGX-TCB-Info-Issuer-Chain', chain)
      .type('application/json')
      .send(signed.body);
  });

  app.get(`${V4}/qe/identity`, open, async (req, reply) => {
    const which = releaseParam(req.query as Record<string, string | undefined>);
    const m = manufacturer();
    const signed = m.qeIdentity(which);
    return reply
      .header('SGX-Enclave-Identity-Issuer-Chain', chainHeader(m.tcbSigningChain()))
      .type('application/json')
      .send(signed.body);
  });

  app.get(`${TDX_V4}/tcb`, open, async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const fmspc = hexParam(q, 'fmspc', 6, true)!;
    const which = releaseParam(q);
    const m = manufacturer();
    const chain = chainHeader(m.tcbSigningChain());
    return reply
      .header('TCB-Info-Issuer-Chain', chain)
      .header('SGX-TCB-Info-Issuer-Chain', chain)
      .type('application/json')
      .send(m.tdxTcbInfo(fmspc, which).body);
  });

  app.get(`${TDX_V4}/qe/identity`, open, async (req, reply) => {
    const which = releaseParam(req.query as Record<string, string | undefined>);
    const m = manufacturer();
    return reply
      .header('SGX-Enclave-Identity-Issuer-Chain', chainHeader(m.tcbSigningChain()))
      .type('application/json')
      .send(m.tdQeIdentity(which).body);
  });

  app.get(`${TDX_V4}/tcbevaluationdatanumbers`, open, async (_req, reply) => {
    const m = manufacturer();
    return reply
      .header('TCB-Evaluation-Data-Numbers-Issuer-Chain', chainHeader(m.tcbSigningChain()))
      .type('application/json')
      .send(m.tdxTcbEvaluationDataNumbers().body);
  });

  app.get(`${V4}/tcbevaluationdatanumbers`, open, async (_req, reply) => {
    const m = manufacturer();
    return reply
      .header('TCB-Evaluation-Data-Numbers-Issuer-Chain', chainHeader(m.tcbSigningChain()))
      .type('application/json')
      .send(m.tcbEvaluationDataNumbers().body);
  });

  if (opts.adminToken !== undefined) registerAdminRoutes(app, manufacturer);

  app.get(`${V4}/pckcrl`, open, async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const ca = (q.ca ?? '').toLowerCase();
    if (ca !== 'processor' && ca !== 'platform') throw bad('ca must be processor or platform');
    const encoding = (q.encoding ?? 'pem').toLowerCase();
    if (encoding !== 'pem' && encoding !== 'der') throw bad('encoding must be pem or der');
    const m = manufacturer();
    const der = await m.pckCrl(ca);
    reply.header('SGX-PCK-CRL-Issuer-Chain', chainHeader(m.pckIssuerChain(ca)));
    return encoding === 'der'
      ? reply.type('application/pkix-crl').send(Buffer.from(der))
      : reply.type('application/x-pem-file').send(crlPem(der));
  });

  app.get(`${V4}/rootcacrl`, open, async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const encoding = (q.encoding ?? 'hex').toLowerCase();
    if (encoding !== 'hex' && encoding !== 'der' && encoding !== 'pem') throw bad('encoding must be hex, der or pem');
    const der = await manufacturer().rootCaCrl();
    if (encoding === 'der') return reply.type('application/pkix-crl').send(Buffer.from(der));
    if (encoding === 'pem') return reply.type('application/x-pem-file').send(crlPem(der));
    return reply.type('text/plain').send(hex(der));
  });

  return app;
}
