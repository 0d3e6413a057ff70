import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { DashboardNotBuiltError } from '../errors.js';

export interface UiRoutesOptions {
  /** Where the built dashboard is (index.html and assets/); default: dist/dashboard of this package. */
  directory?: string;
}

/**
 * The package's built dashboard. From src/api (tests run the sources) and
 * from dist/api (the built service) alike, two levels up is the package root.
 */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../dist/dashboard/', import.meta.url));

// Vite names every asset after a hash of its content: a changed file is a new URL, so a cached one never goes stale.
const IMMUTABLE = 'public, max-age=31536000, immutable';
// The dashboard loads nothing from anywhere else; uPlot and Preact set styles through the CSSOM, which style-src does not govern.
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * `/ui/` (the dashboard's static assets, public: its data calls authenticate
 * as any API call) and `GET /`, which sends browsers there and keeps the
 * version document for API clients.
 */
export const uiRoutes: FastifyPluginAsync<UiRoutesOptions> = async (app, options) => {
  const directory = options.directory ?? DEFAULT_DASHBOARD_DIR;
  // Looked up per request, not once: `npm run build` while the service runs makes the dashboard appear.
  const built = (): boolean => existsSync(`${directory}/index.html`);
  await app.register(fastifyStatic, { serve: false, decorateReply: true });

  const send = (reply: FastifyReply, file: string, cacheControl: string) => {
    if (!built()) throw new DashboardNotBuiltError();
    void reply
      .header('cache-control', cacheControl)
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer');
    return reply.sendFile(file, directory, { cacheControl: false });
  };

  // index.html names the current hashed assets: revalidated on every load.
  app.get('/ui/', { config: { public: true }, schema: { hide: true } }, async (_request, reply) => send(reply, 'index.html', 'no-cache'));
  app.get<{ Params: { '*': string } }>('/ui/assets/*', { config: { public: true }, schema: { hide: true } }, async (request, reply) =>
    send(reply, `assets/${request.params['*']}`, IMMUTABLE),
  );
  app.get('/ui/favicon.svg', { config: { public: true }, schema: { hide: true } }, async (_request, reply) => send(reply, 'favicon.svg', 'public, max-age=86400'));
};

