/**
 * One conditional GET of a PCS document: `If-None-Match` with the ETag and `If-Modified-Since` with the
 * Last-Modified of the copy last accepted. The outcome is data, never an exception:
 *   unchanged    304 — the PCS still serves the copy held
 *   fetched      200 — body and headers, with the validators to send next time
 *   unreachable  a network error, the timeout, or a 5xx (the PCS is down, not wrong)
 *   failed       any other status (the PCS answered, but not with the document)
 */
export interface Validators {
  etag?: string;
  lastModified?: string;
}

export type GetOutcome =
  | { status: 'unchanged' }
  | { status: 'fetched'; body: Uint8Array; headers: Headers; validators: Validators }
  | { status: 'unreachable'; detail: string }
  | { status: 'failed'; httpStatus: number; detail: string };

export async function conditionalGet(
  url: string,
  held: Validators | undefined,
  opts: { fetch: typeof globalThis.fetch; timeoutMs: number },
): Promise<GetOutcome> {
  const headers: Record<string, string> = {};
  if (held?.etag) headers['if-none-match'] = held.etag;
  if (held?.lastModified) headers['if-modified-since'] = held.lastModified;
  try {
    const res = await opts.fetch(url, { headers, signal: AbortSignal.timeout(opts.timeoutMs) });
    if (res.status === 304) {
      await res.body?.cancel();
      return { status: 'unchanged' };
    }
    if (res.status >= 500) {
      await res.body?.cancel();
      return { status: 'unreachable', detail: `GET ${url}: HTTP ${res.status}` };
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      return { status: 'failed', httpStatus: res.status, detail: `GET ${url}: HTTP ${res.status}` };
    }
    const body = new Uint8Array(await res.arrayBuffer());
    const validators: Validators = {};
    const etag = res.headers.get('etag');
    const lastModified = res.headers.get('last-modified');
    if (etag) validators.etag = etag;
    if (lastModified) validators.lastModified = lastModified;
    return { status: 'fetched', body, headers: res.headers, validators };
  } catch (e) {
    const err = e as Error;
    const why = err.name === 'TimeoutError' ? `no answer within ${opts.timeoutMs} ms` : err.message;
    return { status: 'unreachable', detail: `GET ${url}: ${why}` };
  }
}
