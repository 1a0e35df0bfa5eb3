import type { FastifyRequest } from 'fastify';
import { HttpError } from './http-error.ts';

/** Percent-encoded `/`, `\`, `.` and NUL: spellings that let a path mean something else after decoding. */
const ENCODED = /%(2f|5c|2e|00)/i;

/**
 * Refuses request targets whose meaning depends on who decodes them, before any route-specific code
 * runs (the first onRequest hook): absolute-form and asterisk-form targets (only origin-form is
 * served), encoded separators, dots and NUL in the path, over-long targets (414).
 */
export function guardRequestTarget(req: FastifyRequest, maxUrlLength: number): void {
  const raw = req.raw.url ?? '';
  if (raw.length > maxUrlLength)
    throw new HttpError(414, 'ERR_URI_TOO_LONG', `the request target is ${raw.length} bytes; at most ${maxUrlLength}`);
  if (!raw.startsWith('/'))
    throw new HttpError(
      400,
      'ERR_REQUEST_TARGET',
      'only origin-form request targets (a path starting with /) are served',
    );
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  if (ENCODED.test(path))
    throw new HttpError(400, 'ERR_REQUEST_TARGET', 'percent-encoded "/", "\\", "." or NUL in the path');
  if (path.includes('\0')) throw new HttpError(400, 'ERR_REQUEST_TARGET', 'NUL in the path');
}
