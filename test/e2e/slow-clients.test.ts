import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, startServe, tempWorkdir, type ServeProcess } from '../support/cli-process.js';

interface RawClient {
  socket: Socket;
  /** Everything the server sent. */
  received(): string;
  /** Settles when the server closed the connection, with ms since the client connected. */
  closed: Promise<number>;
}

/** A raw loopback connection that writes what it is told; it keeps reading, so only the server can end it. */
function rawClient(port: number): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let text = '';
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const closed = new Promise<number>((done) => socket.once('close', () => done(Date.now() - started)));
    socket.once('connect', () => resolve({ socket, received: () => text, closed }));
    socket.once('error', (error) => {
      if (!socket.readyState || socket.connecting) reject(error);
    });
  });
}

/** Writes `text` one byte at a time, every `everyMs`, until the socket closes. */
function trickle(socket: Socket, text: string, everyMs: number): void {
  let at = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || socket.writableEnded) return clearInterval(timer);
    socket.write(text[at % text.length] ?? 'x');
    at += 1;
  }, everyMs);
  socket.once('close', () => clearInterval(timer));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A real `vim-monitor serve` against clients that send slowly or hold connections (small timeouts keep the test short). */
describe('slow and greedy clients of vim-monitor serve', () => {
  const clients: Socket[] = [];
  afterEach(() => {
    for (const socket of clients.splice(0)) socket.destroy();
  });
  async function client(port: number): Promise<RawClient> {
    const c = await rawClient(port);
    clients.push(c.socket);
    return c;
  }

  describe('with short timeouts', () => {
    let running: ServeProcess;
    let work: ReturnType<typeof tempWorkdir>;
    beforeAll(async () => {
      work = tempWorkdir();
      running = await startServe({
        cwd: work.dir,
        env: { VIM_MONITOR_MONITOR_PROBES: 'tcp', VIM_MONITOR_SERVER_HEADERS_TIMEOUT: '1', VIM_MONITOR_SERVER_REQUEST_TIMEOUT: '2' },
      });
    });
    afterAll(() => {
      running?.child.kill('SIGKILL');
      work?.remove();
    });

    it('cuts clients trickling their headers after headers_timeout with a TackerError 408, and serves others meanwhile', async () => {
      const slow = await Promise.all(Array.from({ length: 30 }, () => client(running.port)));
      for (const c of slow) {
        c.socket.write('GET /v1.0/vims HTTP/1.1\r\nHost: 127.0.0.1\r\n');
        trickle(c.socket, 'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 500);
      }
      await sleep(300);
      expect((await fetch(`${running.url}/v1.0/vims`)).status).toBe(200);

      const closedAfter = await Promise.all(slow.map((c) => c.closed));
      // headers_timeout (1 s) plus Node's check interval (a quarter of it) and some scheduling slack.
      expect(Math.max(...closedAfter)).toBeLessThan(2_500);
      for (const c of slow) {
        expect(c.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
        expect(JSON.parse(c.received().split('\r\n\r\n')[1] ?? '')).toEqual({
          TackerError: { type: 'HTTPRequestTimeout', message: expect.stringContaining('not received in time'), detail: '' },
        });
      }
    });

    it('cuts a request body that trickles for ever after request_timeout with a TackerError 408, and stores nothing', async () => {
      const c = await client(running.port);
      c.socket.write('POST /v1.0/vims HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"vim": ');
      trickle(c.socket, '                ', 200);
      const after = await c.closed;
      expect(after).toBeGreaterThanOrEqual(1_900);
      expect(after).toBeLessThan(4_000);
      expect(c.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      expect(c.received()).toContain('"type":"HTTPRequestTimeout"');
      expect(await (await fetch(`${running.url}/v1.0/vims`)).json()).toEqual({ vims: [] });
    });

    it('does not cut an event stream that lasts longer than request_timeout', async () => {
      const ended = await new Promise<boolean>((resolve, reject) => {
        const req = httpRequest(`${running.url}/v1.0/events/stream`, (res) => {
          let over = false;
          res.on('data', () => undefined);
          res.once('close', () => !over && resolve(true));
          setTimeout(() => {
            over = true;
            resolve(res.destroyed || res.complete);
            req.destroy();
          }, 3_500);
        });
        req.once('error', reject);
        req.end();
      });
      expect(ended).toBe(false);
    });
  });

  it('outlasts more trickling clients than it has descriptors: refuses the surplus, cuts the rest after headers_timeout, then serves', async () => {
    const work = tempWorkdir();
    // The 1,100 clients against 1,024 descriptors, scaled down: 600 against 512.
    const running = await startServe({
      cwd: work.dir,
      command: ['prlimit', '--nofile=512:512', '--', process.execPath, CLI, 'serve'],
      env: {
        VIM_MONITOR_MONITOR_PROBES: 'tcp',
        VIM_MONITOR_SERVER_MAX_CONNECTIONS: '200',
        VIM_MONITOR_SERVER_HEADERS_TIMEOUT: '1',
        VIM_MONITOR_SERVER_REQUEST_TIMEOUT: '2',
      },
    });
    try {
      const slow = await Promise.all(Array.from({ length: 600 }, () => client(running.port)));
      for (const c of slow) {
        c.socket.on('error', () => undefined);
        c.socket.write('GET /v1.0/vims HTTP/1.1\r\nHost: 127.0.0.1\r\n');
        trickle(c.socket, 'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 500);
      }
      const closedAfter = await Promise.all(slow.map((c) => c.closed));
      expect(Math.max(...closedAfter)).toBeLessThan(4_000);
      expect(slow.filter((c) => c.received().startsWith('HTTP/1.1 408 ')).length).toBeGreaterThan(0);
      expect((await fetch(`${running.url}/v1.0/vims`)).status).toBe(200);
      expect(running.output()).not.toMatch(/EMFILE/);
    } finally {
      running.child.kill('SIGKILL');
      work.remove();
    }
  });

  it('closes connections past max_connections at once, and serves again when some end', async () => {
    const work = tempWorkdir();
    const running = await startServe({
      cwd: work.dir,
      env: { VIM_MONITOR_MONITOR_PROBES: 'tcp', VIM_MONITOR_SERVER_MAX_CONNECTIONS: '5', VIM_MONITOR_SERVER_HEADERS_TIMEOUT: '20' },
    });
    try {
      const holders = await Promise.all(Array.from({ length: 5 }, () => client(running.port)));
      await sleep(200); // the server has accepted all five
      const extra = await client(running.port);
      extra.socket.write('GET /v1.0/vims HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      expect(await extra.closed).toBeLessThan(1_000);
      expect(extra.received()).toBe('');

      for (const h of holders) h.socket.destroy();
      await sleep(200);
      expect((await fetch(`${running.url}/v1.0/vims`)).status).toBe(200);
      await sleep(200);
      expect(running.output()).toMatch(/connection limit reached \(server.max_connections\)/);
    } finally {
      running.child.kill('SIGKILL');
      work.remove();
    }
  });
});
