import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startServe, tempWorkdir, type ServeProcess } from '../support/cli-process.js';

/** Connects an event stream client and settles once the stream has started. */
function openEventStream(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/v1.0/events/stream`, (res) => {
      res.once('data', () => resolve(res));
    });
    req.once('error', reject);
    req.end();
  });
}

/** A raw connection that sends a request line and headers, then never reads and never hangs up. */
function stubbornClient(port: number, request: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.write(request);
      socket.pause(); // never reads what the server writes
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** SIGTERM to a real `vim-monitor serve` with clients that do not cooperate. */
describe('shutting down vim-monitor serve', () => {
  const processes: ServeProcess[] = [];
  const sockets: Socket[] = [];
  const dirs: Array<() => void> = [];
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.destroy();
    for (const p of processes.splice(0)) p.child.kill('SIGKILL');
    for (const remove of dirs.splice(0)) remove();
  });

  async function serve(cwd: string, env: Record<string, string> = {}): Promise<ServeProcess> {
    const started = await startServe({ cwd, env: { VIM_MONITOR_MONITOR_PROBES: 'tcp', ...env } });
    processes.push(started);
    return started;
  }

  it('ends event streams at once on SIGTERM, exits 0 and lets a new instance take the SQLite file straight away', async () => {
    const work = tempWorkdir();
    dirs.push(work.remove);
    const first = await serve(work.dir);
    const stream = await openEventStream(first.url);
    const streamEnded = new Promise<void>((resolve) => stream.once('end', resolve));

    const exited = first.exited();
    first.child.kill('SIGTERM');
    const { code, afterMs } = await Promise.race([exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit 5 s after SIGTERM: ${first.output()}`)), 5_000))]);
    expect(code).toBe(0);
    expect(afterMs).toBeLessThan(5_000);
    await streamEnded; // a clean end of the stream, not a cut

    const second = await serve(work.dir); // the SQLite lock was released
    expect((await fetch(`${second.url}/v1.0/vims`)).status).toBe(200);
  });

  it('cuts clients that never read or never finish their request after server.shutdown_timeout, and says so', async () => {
    const work = tempWorkdir();
    dirs.push(work.remove);
    // request_timeout is long on purpose: only the shutdown bound may end the trickling upload here.
    const running = await serve(work.dir, { VIM_MONITOR_SERVER_SHUTDOWN_TIMEOUT: '1', VIM_MONITOR_SERVER_REQUEST_TIMEOUT: '60' });
    sockets.push(await stubbornClient(running.port, 'GET /v1.0/events/stream HTTP/1.1\r\nHost: x\r\n\r\n'));
    sockets.push(
      await stubbornClient(running.port, 'POST /v1.0/vims HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"vim":'),
    );
    await new Promise((resolve) => setTimeout(resolve, 300)); // both requests are in the server's hands

    const exited = running.exited();
    running.child.kill('SIGTERM');
    const { code, afterMs } = await Promise.race([exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit 6 s after SIGTERM: ${running.output()}`)), 6_000))]);
    expect(code).toBe(0);
    expect(afterMs).toBeGreaterThanOrEqual(900);
    expect(afterMs).toBeLessThan(4_000);
    expect(running.output()).toMatch(/"connections":1,.*shutdown: cutting 1 API connection\(s\) still open \d+ ms after shutdown began/);

    const next = await serve(work.dir);
    expect((await fetch(`${next.url}/v1.0/vims`)).status).toBe(200);
  });

  it('cuts every connection at once on a second SIGTERM', async () => {
    const work = tempWorkdir();
    dirs.push(work.remove);
    const running = await serve(work.dir, { VIM_MONITOR_SERVER_SHUTDOWN_TIMEOUT: '30', VIM_MONITOR_SERVER_REQUEST_TIMEOUT: '60' });
    sockets.push(
      await stubbornClient(running.port, 'POST /v1.0/vims HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"vim":'),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const exited = running.exited();
    running.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500));
    running.child.kill('SIGTERM');
    const { code, afterMs } = await exited;
    expect(code).toBe(0);
    expect(afterMs).toBeLessThan(3_000);
    expect(running.output()).toMatch(/shutdown: cutting 1 API connection\(s\) cut at once/);
  });
});
