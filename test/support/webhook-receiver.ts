import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/**
 * A real webhook receiver on loopback: answers the creation-time GET with
 * 204, records every POST, and can be taken down (port closed) or made to
 * answer 500, then brought back on the same port.
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  readonly checks: number[] = [];
  mode: 'ok' | 'error' = 'ok';
  port = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/vim`;
  }

  async up(): Promise<void> {
    const server = createServer((request, response: ServerResponse) => {
      if (request.method === 'GET') {
        this.checks.push(Date.now());
        response.writeHead(204).end();
        return;
      }
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        if (this.mode === 'error') {
          response.writeHead(500).end('receiver failing');
          return;
        }
        this.received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
        response.writeHead(204).end();
      });
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', () => resolve()));
    const address = server.address();
    if (typeof address === 'object' && address) this.port = address.port;
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  events(): Array<{ id: number; resource_id: string; resource_state: string; event_details: { old_status: string } }> {
    return this.received.map((r) => (JSON.parse(r.body) as { event: never }).event);
  }
}
