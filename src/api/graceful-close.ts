import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

/** How many peers a "cut" log line names; the count is always complete. */
const PEERS_LOGGED = 20;

/**
 * Closes the API within a bounded time, undici style: close() is graceful
 * (event streams end, running requests finish, then the server closes);
 * connections still open after the grace period are cut and logged, so a
 * client that never reads or never hangs up cannot hold the process.
 * destroy() cuts every connection at once. Both are idempotent and settle
 * when the server is closed.
 */
export class ApiShutdown {
  private readonly sockets = new Set<Socket>();
  private closing: Promise<void> | undefined;
  private cut = false;

  constructor(
    private readonly app: FastifyInstance,
    private readonly options: { graceMs: number; logger: Logger },
  ) {
    // Attached before listen(), so every connection is known; after a cut, late arrivals are cut too.
    app.server.on('connection', (socket: Socket) => {
      if (this.cut) {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  close(): Promise<void> {
    if (!this.closing) {
      const startedAt = Date.now();
      const timer = setTimeout(() => this.cutAll(`still open ${Date.now() - startedAt} ms after shutdown began (server.shutdown_timeout)`), this.options.graceMs);
      this.closing = this.app.close().finally(() => clearTimeout(timer));
    }
    return this.closing;
  }

  destroy(): Promise<void> {
    const closed = this.close();
    this.cutAll('cut at once (destroy)');
    return closed;
  }

  private cutAll(why: string): void {
    this.cut = true;
    const open = [...this.sockets];
    if (open.length === 0) return;
    const peers = open.slice(0, PEERS_LOGGED).map((s) => `${s.remoteAddress ?? '?'}:${s.remotePort ?? '?'}`);
    this.options.logger.warn({ connections: open.length, peers }, `shutdown: cutting ${open.length} API connection(s) ${why}`);
    for (const socket of open) {
      this.sockets.delete(socket); // now, not at its 'close' event: a second cut must not count it again
      socket.destroy();
    }
  }
}
