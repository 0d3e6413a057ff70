import { connect, type Socket } from 'node:net';
import Fastify from 'fastify';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiShutdown } from './graceful-close.js';

/** A real Fastify server on loopback, with a client whose request body never completes. */
async function serverWithStuckUpload(graceMs: number) {
  const lines: Array<{ msg: string; connections?: number }> = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) });
  const app = Fastify({ requestTimeout: 60_000 });
  app.post('/upload', async () => ({ ok: true }));
  const shutdown = new ApiShutdown(app, { graceMs, logger });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const socket = await new Promise<Socket>((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
  });
  socket.on('error', () => undefined);
  socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{');
  await new Promise((resolve) => setTimeout(resolve, 100));
  return { app, shutdown, socket, lines };
}

describe('ApiShutdown', () => {
  const sockets: Socket[] = [];
  afterEach(() => {
    for (const s of sockets.splice(0)) s.destroy();
  });

  it('cuts a connection that outlives the grace period, logs it, and settles every close() with the first', async () => {
    const { shutdown, socket, lines } = await serverWithStuckUpload(300);
    sockets.push(socket);
    const started = Date.now();
    const first = shutdown.close();
    expect(shutdown.close()).toBe(first);
    await first;
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(lines).toEqual([expect.objectContaining({ connections: 1, msg: expect.stringMatching(/^shutdown: cutting 1 API connection\(s\) still open/) })]);
  });

  it('cuts at once on destroy(), during a close() or without one, and is idempotent', async () => {
    const { shutdown, socket, lines } = await serverWithStuckUpload(60_000);
    sockets.push(socket);
    const started = Date.now();
    const closing = shutdown.close();
    await Promise.all([shutdown.destroy(), shutdown.destroy(), closing]);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(lines.filter((l) => l.msg.includes('cut at once'))).toHaveLength(1);
  });
});
