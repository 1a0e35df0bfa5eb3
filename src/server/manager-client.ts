import { request as httpsRequest } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { ctEqual } from '../bytes/util.ts';
import { sha256 } from '../crypto/sha256.ts';
import { ServerError } from './errors.ts';
import { tokenHash } from './tokens.ts';
import { callJson, upstreamError } from './http-json.ts';

/**
 * How an agent reaches its manager: plain http (registration token as bearer), or the manager's
 * agent TLS listener (https), where the agent presents its RA-TLS certificate as client certificate
 * and the manager verifies its quote. The manager's own certificate is not an RA-TLS one (the manager
 * is not an enclave): it is pinned (`managerCert`, the DER the manager published) and anything else
 * is refused before a byte of the request is sent.
 */
export interface ManagerLink {
  url: string;
  /** Registration token (bearer). Optional over https, where the RA-TLS client certificate authenticates. */
  token?: string;
  /** The agent's RA-TLS credentials: the client certificate on an https manager URL. */
  tls?: { keyPem: string; certPem: string };
  /** The manager listener's certificate (DER): required for an https manager URL. */
  managerCert?: Uint8Array;
}

export async function callManager<T>(
  link: ManagerLink,
  path: string,
  opts: { body?: unknown; token?: string; timeoutMs?: number } = {},
): Promise<T> {
  const url = `${link.url.replace(/\/+$/, '')}${path}`;
  const token = opts.token ?? link.token;
  if (!url.startsWith('https:'))
    return callJson<T>(url, {
      ...(opts.body !== undefined ? { body: opts.body } : {}),
      ...(token ? { token } : {}),
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    });
  const managerCert = link.managerCert;
  if (!managerCert)
    throw new ServerError('ERR_AGENT', `${url}: an https manager needs its certificate pinned (--manager-cert)`);
  const pin = sha256(managerCert);
  const body = opts.body !== undefined ? Buffer.from(JSON.stringify(opts.body)) : undefined;
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: body ? 'POST' : 'GET',
        headers: {
          ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        ...(link.tls ? { key: link.tls.keyPem, cert: link.tls.certPem } : {}),
        minVersion: 'TLSv1.3',
        rejectUnauthorized: true,
        agent: false,
        // Pinned: the chain check is replaced by "exactly the published certificate".
        checkServerIdentity: (_host, cert) =>
          cert.raw && ctEqual(sha256(new Uint8Array(cert.raw)), pin)
            ? undefined
            : new Error('the manager presented a certificate other than the pinned one'),
        ca: [new X509Certificate(managerCert).toString()],
        timeout: opts.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.once('error', reject);
      },
    );
    req.once('timeout', () => req.destroy(new Error('no answer from the manager')));
    req.once('error', (e) => reject(new ServerError('ERR_AGENT', `${url}: ${e.message}`)));
    req.end(body);
  });
  if (status < 200 || status > 299) throw upstreamError(url, status, text);
  return (text ? JSON.parse(text) : undefined) as T;
}

export interface TokenPrincipal {
  id: string;
  role: string;
}

/**
 * Checks bearer tokens presented to the agent API with the manager (GET /v1/auth/whoami): the
 * manager is the one token authority. Accepted tokens are remembered for `ttlMs` (by hash; default
 * 30 s, so a revoked token stops working within that); refusals are not remembered.
 */
export function managerTokenChecker(
  link: ManagerLink,
  ttlMs = 30_000,
): (token: string) => Promise<TokenPrincipal | null> {
  const cache = new Map<string, { p: TokenPrincipal; until: number }>();
  return async (token) => {
    const k = tokenHash(token);
    const hit = cache.get(k);
    if (hit && hit.until > Date.now()) return hit.p;
    try {
      const p = await callManager<TokenPrincipal>({ ...link, token }, '/v1/auth/whoami', { token, timeoutMs: 10_000 });
      if (cache.size >= 1024) cache.delete(cache.keys().next().value!);
      cache.set(k, { p, until: Date.now() + ttlMs });
      return p;
    } catch (e) {
      const s = (e as { httpStatus?: number }).httpStatus;
      if (s === 401 || s === 403) return null;
      throw e;
    }
  };
}
