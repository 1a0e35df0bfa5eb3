import { ServerError } from './errors.ts';

/** A JSON call to a manager or agent; non-2xx answers become ServerError with the problem's code. */
export async function callJson<T = unknown>(
  url: string,
  opts: { method?: string; body?: unknown; token?: string; timeoutMs?: number } = {},
): Promise<T> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'),
      headers,
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
    });
  } catch (e) {
    throw new ServerError('ERR_AGENT', `${opts.method ?? 'GET'} ${url}: ${(e as Error).message}`);
  }
  const text = await res.text();
  if (!res.ok) {
    let p: { code?: string; detail?: string; check?: string } = {};
    try {
      p = JSON.parse(text) as typeof p;
    } catch {
      /* not JSON */
    }
    const err = new ServerError('ERR_AGENT', `${url}: HTTP ${res.status} ${p.code ?? ''} ${p.detail ?? text.slice(0, 200)}`.trim(), p.check);
    (err as { httpStatus?: number }).httpStatus = res.status;
    (err as { problemCode?: string }).problemCode = p.code;
    throw err;
  }
  return (text ? JSON.parse(text) : undefined) as T;
}
