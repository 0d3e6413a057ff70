import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installErrorHandling } from './error-handler.js';
import { uiRoutes } from './ui-routes.js';

async function serve(directory: string): Promise<FastifyInstance> {
  const app = Fastify({ routerOptions: { ignoreTrailingSlash: true } });
  installErrorHandling(app);
  await app.register(uiRoutes, { directory });
  return app;
}

describe('the dashboard assets at /ui/', () => {
  let dir: string;
  let app: FastifyInstance;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vim-monitor-ui-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>vim-monitor</title><script type="module" src="/ui/assets/index-abc123.js"></script>');
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(tmpdir(), 'outside-the-dashboard.txt'), 'not for the web');
    app = await serve(dir);
  });
  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves index.html at /ui/ and /ui, revalidated on every load, with a strict content security policy', async () => {
    for (const url of ['/ui/', '/ui']) {
      const response = await app.inject({ url });
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/html/);
      expect(response.headers['cache-control']).toBe('no-cache');
      expect(response.headers['content-security-policy']).toContain("script-src 'self'");
      expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(response.body).toContain('vim-monitor');
    }
  });

  it('serves hashed assets as immutable for a year', async () => {
    const response = await app.inject({ url: '/ui/assets/index-abc123.js' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/javascript/);
    expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('answers 404 in Tacker shape for an unknown asset and never serves a file outside the dashboard', async () => {
    const missing = await app.inject({ url: '/ui/assets/nope.js' });
    expect(missing.statusCode).toBe(404);
    for (const url of ['/ui/assets/../../outside-the-dashboard.txt', '/ui/assets/%2e%2e/%2e%2e/outside-the-dashboard.txt', '/ui/assets/..%2f..%2foutside-the-dashboard.txt']) {
      const response = await app.inject({ url });
      expect(response.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(response.body, url).not.toContain('not for the web');
    }
  });

  it('answers 503 saying to run npm run build when the dashboard was not built', async () => {
    const empty = await serve(join(dir, 'not-built'));
    try {
      const response = await empty.inject({ url: '/ui/' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toEqual({
        TackerError: { type: 'ServiceUnavailable', message: expect.stringContaining('npm run build'), detail: '' },
      });
    } finally {
      await empty.close();
    }
  });
});
