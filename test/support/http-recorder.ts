/**
 * A recording HTTP relay on loopback: forwards every request to a real
 * server unchanged and remembers method, path and status, so a test can see
 * which calls a client made (e.g. that a cached Keystone token was validated
 * instead of a new login).
 */
import { createServer, request, type Server } from 'node:http';

export interface RecordedExchange {
  method: string;
  path: string;
  status: number;
}

export interface HttpRecorder {
  /** http://127.0.0.1:<port>, standing in for the upstream's origin. */
  url: string;
  readonly exchanges: RecordedExchange[];
  stop(): Promise<void>;
}

export async function startHttpRecorder(upstream: string): Promise<HttpRecorder> {
  const target = new URL(upstream);
  const exchanges: RecordedExchange[] = [];
  const server: Server = createServer((req, res) => {
    const forward = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
      (answer) => {
        exchanges.push({ method: req.method ?? 'GET', path: req.url ?? '/', status: answer.statusCode ?? 0 });
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.writeHead(502).end());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
