import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/authenticator.js';
import type { VimRegistry } from '../vims/registry.js';
import { installErrorHandling } from './error-handler.js';
import { installAuthentication } from './request-context.js';
import { versionRoutes } from './versions.js';
import { describeSchemaError } from './vims/schemas.js';
import { vimRoutes } from './vims/routes.js';

export interface ApiServerOptions {
  registry: VimRegistry;
  authenticator: Authenticator;
  logger: Logger;
  bodyLimit: number;
}

/** python-tackerclient appends `.json` to every path; routes are declared without it. */
export function stripJsonSuffix(url: string): string {
  return url.replace(/^([^?]*?)\.json(?=\?|$)/, '$1');
}

export async function buildApiServer(options: ApiServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimit,
    rewriteUrl: (req) => stripJsonSuffix(req.url ?? '/'),
    routerOptions: { ignoreTrailingSlash: true },
    ajv: {
      // Refuse what we do not know instead of quietly dropping or converting it.
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false },
    },
    schemaErrorFormatter: (errors, dataVar) => new Error(describeSchemaError(errors, dataVar)),
  });
  installErrorHandling(app);
  installAuthentication(app, options.authenticator);
  // Generated from the routes' own validation schemas, so it cannot drift from what is enforced.
  await app.register(swagger, {
    openapi: {
      info: { title: 'vim-monitor', version: '1.0', description: 'Tacker v1.0 compatible VIM registry and monitor' },
      components: { securitySchemes: { keystone: { type: 'apiKey', in: 'header', name: 'X-Auth-Token' } } },
      security: [{ keystone: [] }],
    },
  });
  await app.register(versionRoutes);
  await app.register(vimRoutes, { registry: options.registry });
  // Served as /v1.0/openapi and /v1.0/openapi.json (the suffix is stripped like every other path).
  app.get('/v1.0/openapi', { schema: { hide: true }, config: { public: true } }, async () => app.swagger());
  return app;
}
