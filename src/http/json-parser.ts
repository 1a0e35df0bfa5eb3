import type { FastifyInstance } from 'fastify';
import { HttpError } from './http-error.ts';

/**
 * The only body parser: JSON, refusing what JSON.parse would silently change — integral numbers
 * beyond ±(2^53 − 1) (rounded on parse, so a signed or hashed value would no longer be what the
 * client sent), non-finite numbers, and `__proto__` keys. Any other media type gets 415.
 */
export function installJsonParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonStrict(body as string));
    } catch (e) {
      done(
        e instanceof HttpError ? e : new HttpError(400, 'ERR_MALFORMED', `body: not JSON (${(e as Error).message})`),
        undefined,
      );
    }
  });
}

export function parseJsonStrict(text: string): unknown {
  if (text.length === 0) throw new HttpError(400, 'ERR_MALFORMED', 'body: empty, with content-type application/json');
  return JSON.parse(text, (key, value: unknown) => {
    if (key === '__proto__') throw new HttpError(400, 'ERR_MALFORMED', 'body: a "__proto__" key');
    if (
      typeof value === 'number' &&
      (!Number.isFinite(value) || (Number.isInteger(value) && !Number.isSafeInteger(value)))
    ) {
      throw new HttpError(
        400,
        'ERR_UNSAFE_INTEGER',
        `body${key ? ` (at "${key.slice(0, 100)}")` : ''}: a number JSON cannot carry exactly (integers must be within ±(2^53 − 1))`,
      );
    }
    return value;
  });
}
