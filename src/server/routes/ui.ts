import { existsSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * The dashboard's Content-Security-Policy: scripts, styles and connections from the manager's own
 * origin only; no inline script or style, no framing, no plugins, no forms posted anywhere.
 */
export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Where the built dashboard is: dist/web beside dist/server (built), or the repository's dist/web (sources). */
export function defaultUiRoot(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  return [join(here, '..', '..', 'web'), join(here, '..', '..', '..', 'dist', 'web')].find((d) =>
    existsSync(join(d, 'index.html')),
  );
}

const secure = (reply: FastifyReply) =>
  reply
    .header('content-security-policy', UI_CSP)
    .header('x-frame-options', 'DENY')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin')
    .header('cache-control', 'no-cache');

/**
 * The dashboard (web/, built by Vite into dist/web) at /ui/: static files, public (the app itself asks
 * for a token and calls the token-guarded API). Every answer carries the strict CSP and X-Frame-Options.
 */
export async function uiRoutes(app: FastifyInstance, { root }: { root: string | undefined }): Promise<void> {
  if (root) await app.register(fastifyStatic, { root, serve: false });
  const send = (file: string, reply: FastifyReply) => {
    secure(reply);
    if (!root)
      return reply
        .code(404)
        .type('text/plain; charset=utf-8')
        .send('The dashboard is not built (npm run build writes dist/web).\n');
    const path = resolve(root, file);
    if (!path.startsWith(resolve(root) + sep) || !existsSync(path))
      return reply.code(404).type('text/plain; charset=utf-8').send('Not found.\n');
    return reply.sendFile(file, root);
  };
  const opts = { config: { auth: 'public' as const }, schema: { hide: true } };
  app.get('/ui', opts, async (_req, reply) => reply.redirect('/ui/'));
  app.get('/ui/', opts, async (_req, reply) => send('index.html', reply));
  app.get<{ Params: { '*': string } }>('/ui/*', opts, async (req, reply) => {
    const file = req.params['*'];
    // Asset files have an extension; any other path is a view of the single-page app.
    return send(/\.[a-z0-9]+$/i.test(file) ? file : 'index.html', reply);
  });
}
