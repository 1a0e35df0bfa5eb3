import { attestedHttpRequest } from '../channel/attested-http.ts';
import { ChannelError } from '../channel/errors.ts';
import type { PeerVerification } from '../channel/verify-peer.ts';
import { ServerError } from './errors.ts';

/** How an https peer (an agent) is called: its RA-TLS certificate judged by `verify`, ours presented if given. */
export interface RatlsCall {
  verify: PeerVerification;
  credentials?: { keyPem: string; certPem: string };
}

/**
 * A JSON call to a manager or agent; non-2xx answers become ServerError with the problem's code.
 * An https URL is called over RA-TLS only (`ratls` required): the server's certificate is verified
 * before the request is written; a refused server becomes ERR_AGENT with check `peer.<check>` and
 * the channel's code in `channelCode`.
 */
export async function callJson<T = unknown>(
  url: string,
  opts: { method?: string; body?: unknown; token?: string; timeoutMs?: number; ratls?: RatlsCall } = {},
): Promise<T> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const method = opts.method ?? (opts.body === undefined ? 'GET' : 'POST');
  let status: number;
  let text: string;
  if (url.startsWith('https:')) {
    if (!opts.ratls)
      throw new ServerError(
        'ERR_AGENT',
        `${method} ${url}: an https peer is called over RA-TLS only, and no verification was configured`,
      );
    try {
      const r = await attestedHttpRequest(url, {
        method,
        headers,
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
        verify: opts.ratls.verify,
        ...(opts.ratls.credentials ? { credentials: opts.ratls.credentials } : {}),
        timeoutMs: opts.timeoutMs ?? 30_000,
      });
      status = r.status;
      text = r.body;
    } catch (e) {
      if (e instanceof ChannelError) {
        const err = new ServerError(
          'ERR_AGENT',
          `${method} ${url}: peer refused: ${e.code}: ${e.message}`,
          `peer.${e.check}`,
        );
        (err as { channelCode?: string }).channelCode = e.code;
        throw err;
      }
      throw new ServerError('ERR_AGENT', `${method} ${url}: ${(e as Error).message}`);
    }
  } else {
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
      });
    } catch (e) {
      throw new ServerError('ERR_AGENT', `${method} ${url}: ${(e as Error).message}`);
    }
    status = res.status;
    text = await res.text();
  }
  if (status < 200 || status > 299) throw upstreamError(url, status, text);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** A non-2xx answer from an agent or manager as ERR_AGENT, carrying its status and problem code (and check). */
export function upstreamError(url: string | URL, status: number, text: string): ServerError {
  let p: { code?: string; detail?: string; check?: string } = {};
  try {
    p = JSON.parse(text) as typeof p;
  } catch {
    /* not JSON */
  }
  const err = new ServerError(
    'ERR_AGENT',
    `${url}: HTTP ${status} ${p.code ?? ''} ${p.detail ?? text.slice(0, 200)}`.trim(),
    p.check,
  );
  (err as { httpStatus?: number }).httpStatus = status;
  (err as { problemCode?: string }).problemCode = p.code;
  return err;
}
