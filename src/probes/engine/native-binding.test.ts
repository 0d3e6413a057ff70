/**
 * The native probe engine (native/probe-engine) against real targets only:
 * the kernel's echo replies on loopback (127/8 and ::1), a silent host in a
 * network namespace of the test's own (test/support/net-targets.ts), and
 * node:http, node:https and node:net servers on loopback, with certificates
 * from a private CA (test/support/pki.ts).
 *
 * When the addon is not built these tests are skipped with the loader's
 * reason, except under CI=true, where they fail: a CI run must not pass
 * silently without the engine it ships.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSilentHost, type SilentHost } from '../../../test/support/net-targets.js';
import { issueServerCertificate, makeCertificateAuthority, makeTestPki, type TestPki } from '../../../test/support/pki.js';
import { loadNativeBinding, type NativeBinding, type NativeEngine, type NativeResults } from './native-binding.js';

const loaded = loadNativeBinding();
const inCi = process.env.CI === 'true';
if (!loaded.ok && !inCi) console.warn(`native probe engine tests skipped: ${loaded.reason}`);
const describeNative = loaded.ok || inCi ? describe : describe.skip;

function binding(): NativeBinding {
  if (!loaded.ok) throw new Error(`CI=true but ${loaded.reason}`);
  return loaded.binding;
}

interface Answer {
  outcome: number;
  latencyUs: number;
  error: string | undefined;
  body: Buffer;
  /** performance.now() when the batch reached JavaScript. */
  at: number;
}

/** An engine whose answers are kept by job id, with a way to wait for a set of them. */
class Probe {
  readonly engine: NativeEngine;
  readonly answers = new Map<number, Answer>();
  batches = 0;
  private waiting: Array<{ ids: number[]; resolve: () => void }> = [];

  constructor(options?: { maxConnections?: number }) {
    this.engine = new (binding().Engine)((results) => this.take(results), options);
  }

  private take(results: NativeResults): void {
    const at = performance.now();
    this.batches += 1;
    for (let i = 0; i < results.count; i += 1) {
      const start = results.bodyStart[i] ?? 0;
      this.answers.set(results.ids[i] ?? -1, {
        outcome: results.outcome[i] ?? 0,
        latencyUs: results.latencyUs[i] ?? 0,
        error: results.errors[i],
        body: results.bodies.subarray(start, start + (results.bodyLength[i] ?? 0)),
        at,
      });
    }
    this.waiting = this.waiting.filter((w) => {
      if (!w.ids.every((id) => this.answers.has(id))) return true;
      w.resolve();
      return false;
    });
  }

  async wait(ids: number[], limitMs = 30_000): Promise<Answer[]> {
    if (!ids.every((id) => this.answers.has(id))) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          const missing = ids.filter((id) => !this.answers.has(id));
          reject(new Error(`${missing.length} of ${ids.length} jobs unanswered after ${limitMs} ms (first: ${missing.slice(0, 5).join(', ')})`));
        }, limitMs);
        this.waiting.push({ ids, resolve: () => (clearTimeout(timer), resolve()) });
      });
    }
    return ids.map((id) => this.answers.get(id) as Answer);
  }

  async ping(addresses: string[], timeoutMs: number, firstId = 1): Promise<Answer[]> {
    const ids = addresses.map((_, i) => firstId + i);
    this.engine.ping(Uint32Array.from(ids), addresses, timeoutMs);
    return this.wait(ids);
  }

  async http(targets: number[], timeoutMs: number, firstId = 1): Promise<Answer[]> {
    const ids = targets.map((_, i) => firstId + i);
    this.engine.http(Uint32Array.from(ids), Uint32Array.from(targets), timeoutMs);
    return this.wait(ids);
  }

  close(): void {
    this.engine.close();
  }
}

const request = (host: string, path = '/') => Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
const plain = { tlsContext: 0, serverName: '', maxBody: 0 };

async function listen(server: net.Server, host: string, backlog = 511): Promise<number> {
  server.listen({ host, port: 0, backlog });
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server, '127.0.0.1');
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The route the kernel takes to `address` must be loopback: these tests send nowhere else. */
function expectLoopbackRoute(address: string): void {
  expect(execFileSync('ip', ['route', 'get', address], { encoding: 'utf8' })).toMatch(/ dev lo /);
}

/** 127.20.0.1 … : `count` distinct addresses of 127/8, all answered by the kernel on lo. */
function loopbackAddresses(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `127.20.${Math.floor((i + 1) / 250)}.${((i + 1) % 250) + 1}`);
}

/** The engine resets connections it gives up on (no TIME_WAIT left behind): a test server need not hear about it. */
function quiet(socket: net.Socket): net.Socket {
  return socket.on('error', () => {});
}

/** A server on 127.0.0.1 that accepts connections and never answers; close() also drops what it accepted. */
async function muteServer(): Promise<{ port: number; close(): void }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => void sockets.push(quiet(socket)));
  const port = await listen(server, '127.0.0.1');
  return {
    port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

describeNative('the native probe engine', () => {
  let probe: Probe | undefined;
  afterEach(() => probe?.close());

  it('says its version and how it sends ICMP (raw sockets as root)', () => {
    expect(binding().version).toMatch(/^probe-engine \d+\.\d+\.\d+ \(OpenSSL 3\./);
    probe = new Probe();
    const expected = process.getuid?.() === 0 ? 'raw' : expect.stringMatching(/^(dgram|none)$/);
    expect(probe.engine.icmp).toMatchObject({ ipv4: expected, ipv6: expected });
  });

  describe('ICMP echo', () => {
    let silent: SilentHost;
    beforeAll(() => {
      silent = startSilentHost();
    });
    afterAll(() => silent?.close());

    it('gets echo replies from 127.0.0.1, other 127/8 addresses and ::1, with a latency', async () => {
      probe = new Probe();
      for (const address of ['127.0.0.1', '127.0.0.53', '127.255.3.9']) expectLoopbackRoute(address);
      const answers = await probe.ping(['127.0.0.1', '127.0.0.53', '127.255.3.9', '::1'], 2000);
      for (const answer of answers) {
        expect(answer).toMatchObject({ outcome: 1, error: undefined });
        expect(answer.latencyUs).toBeGreaterThan(0);
        expect(answer.latencyUs).toBeLessThan(1_000_000);
      }
      expect(probe.engine.stats()).toEqual({ submitted: 4, finished: 4, inFlight: 0, echoSent: 4 });
    });

    it('answers a silent IPv4 and IPv6 host with ETIMEDOUT at the deadline, not before and not much later', async () => {
      probe = new Probe();
      const started = performance.now();
      const answers = await probe.ping([silent.ipv4, silent.ipv6], 300);
      for (const answer of answers) {
        expect(answer).toMatchObject({ outcome: 0, latencyUs: 0, error: 'ETIMEDOUT' });
        expect(answer.at - started).toBeGreaterThanOrEqual(299);
        expect(answer.at - started).toBeLessThan(300 + 100);
      }
    });

    it('keeps its replies apart from those of another engine pinging the same addresses at the same time', async () => {
      probe = new Probe();
      const other = new Probe();
      try {
        const addresses = loopbackAddresses(200);
        const [mine, theirs] = await Promise.all([probe.ping(addresses, 2000), other.ping(addresses, 2000)]);
        expect(mine.every((a) => a.outcome === 1)).toBe(true);
        expect(theirs.every((a) => a.outcome === 1)).toBe(true);
        expect(probe.answers.size).toBe(200);
        expect(other.answers.size).toBe(200);
      } finally {
        other.close();
      }
    });

    it('sends 10,000 echo requests in one ping() call and gets every reply, in a few batches', async () => {
      probe = new Probe();
      const addresses = loopbackAddresses(10_000);
      expectLoopbackRoute(addresses[0] ?? '');
      expectLoopbackRoute(addresses.at(-1) ?? '');
      await probe.ping(addresses.slice(0, 100), 2000, 100_000); // warm up
      const cpu = cpuMicros();
      const answers = await probe.ping(addresses, 5000);
      const spent = cpuMicros() - cpu;
      const failed = answers.filter((a) => a.outcome !== 1);
      expect(failed.slice(0, 3)).toEqual([]);
      expect(probe.engine.stats()).toMatchObject({ finished: 10_100, inFlight: 0, echoSent: 10_100 });
      expect(probe.batches).toBeLessThan(2000);
      console.log(`native ICMP: 10,000 loopback echo checks cost ${spent} µs of CPU (${(spent / 10_000).toFixed(1)} µs each), ${probe.batches} batches`);
    });
  });

  it('without CAP_NET_RAW uses ping sockets where net.ipv4.ping_group_range allows, else says why and answers EPERM', () => {
    if (process.getuid?.() !== 0) return; // needs root to drop to nobody
    // A copy nobody can read, wherever the checkout lives (CI's may be under /root).
    const dir = mkdtempSync(path.join(tmpdir(), 'probe-engine-'));
    chmodSync(dir, 0o755);
    const addon = path.join(dir, 'probe_engine.node');
    copyFileSync(loaded.ok ? loaded.path : '', addon);
    chmodSync(addon, 0o755);
    const script = `
      const { Engine } = require(${JSON.stringify(addon)});
      const engine = new Engine((r) => { console.log(JSON.stringify({ icmp: engine.icmp, outcome: [...r.outcome], errors: [...r.errors] })); engine.close(); });
      engine.ping(Uint32Array.of(1), ['127.0.0.1'], 1000);
    `;
    let output: string;
    try {
      output = execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script], { encoding: 'utf8', timeout: 5000, cwd: dir });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ping_group_range', 'utf8').trim().split(/\s+/).map(Number);
    const allowed = (low ?? 1) <= 65534 && 65534 <= (high ?? 0);
    const seen = JSON.parse(output) as { icmp: { ipv4: string; reason?: string }; outcome: number[]; errors: Array<string | null> };
    if (allowed) {
      expect(seen).toMatchObject({ icmp: { ipv4: 'dgram' }, outcome: [1] });
    } else {
      expect(seen.icmp.ipv4).toBe('none');
      expect(seen.icmp.reason).toMatch(/CAP_NET_RAW.*ping_group_range excludes group 65534/);
      expect(seen).toMatchObject({ outcome: [0], errors: ['EPERM'] });
    }
  });

  describe('HTTP', () => {
    let server: http.Server;
    let v4Port: number;
    let v6Port: number;
    let v6Server: http.Server;
    beforeAll(async () => {
      const handler: http.RequestListener = (req, res) => {
        if (req.url === '/chunked') {
          res.write('abc');
          res.end('def');
          return;
        }
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ path: req.url, padding: 'x'.repeat(100) }));
      };
      server = http.createServer(handler);
      v6Server = http.createServer(handler);
      v4Port = await listen(server, '127.0.0.1');
      v6Port = await listen(v6Server, '::1');
    });
    afterAll(() => {
      server?.close();
      v6Server?.close();
    });

    it('gets the status and a latency from node:http on 127.0.0.1 and on ::1', async () => {
      probe = new Probe();
      probe.engine.defineHttpTarget(1, { address: '127.0.0.1', port: v4Port, request: request('127.0.0.1'), ...plain });
      probe.engine.defineHttpTarget(2, { address: '::1', port: v6Port, request: request('[::1]'), ...plain });
      const answers = await probe.http([1, 2, 1], 2000);
      for (const answer of answers) {
        expect(answer).toMatchObject({ outcome: 200, error: undefined });
        expect(answer.latencyUs).toBeGreaterThan(0);
        expect(answer.body.length).toBe(0);
      }
    });

    it('leaves jobs submitted with more queued until the next call wakes the engine, then answers both kinds in one delivery', async () => {
      probe = new Probe();
      probe.engine.defineHttpTarget(1, { address: '127.0.0.1', port: v4Port, request: request('127.0.0.1'), ...plain });
      expectLoopbackRoute('127.0.0.1');
      probe.engine.ping(Uint32Array.of(1), ['127.0.0.1'], 2000, true);
      await new Promise((r) => setTimeout(r, 100));
      // Queued, not taken: an echo on loopback is otherwise answered within a millisecond.
      expect(probe.answers.has(1)).toBe(false);
      expect(probe.engine.stats().echoSent).toBe(0);
      probe.engine.http(Uint32Array.of(2), Uint32Array.of(1), 2000);
      const [echo, exchange] = await probe.wait([1, 2]);
      expect(echo).toMatchObject({ outcome: 1 });
      expect(exchange).toMatchObject({ outcome: 200 });
      expect(probe.batches).toBe(1);
      expect(echo?.at).toBe(exchange?.at);
    });

    it('wakes the engine for queued jobs with an empty call', async () => {
      probe = new Probe();
      probe.engine.ping(Uint32Array.of(1), ['127.0.0.1'], 2000, true);
      await new Promise((r) => setTimeout(r, 50));
      expect(probe.answers.has(1)).toBe(false);
      probe.engine.ping(new Uint32Array(0), [], 1, false);
      const [echo] = await probe.wait([1], 2000);
      expect(echo).toMatchObject({ outcome: 1 });
    });

    it('hands back the body up to maxBody bytes, and a chunked body raw', async () => {
      probe = new Probe();
      probe.engine.defineHttpTarget(1, { address: '127.0.0.1', port: v4Port, request: request('127.0.0.1', '/v3'), ...plain, maxBody: 65_536 });
      probe.engine.defineHttpTarget(2, { address: '127.0.0.1', port: v4Port, request: request('127.0.0.1', '/v3'), ...plain, maxBody: 10 });
      probe.engine.defineHttpTarget(3, { address: '127.0.0.1', port: v4Port, request: request('127.0.0.1', '/chunked'), ...plain, maxBody: 100 });
      const [whole, cut, chunked] = await probe.http([1, 2, 3], 2000);
      expect(JSON.parse(whole?.body.toString() ?? '')).toMatchObject({ path: '/v3' });
      expect(cut?.body.toString()).toBe('{"path":"/');
      expect(chunked).toMatchObject({ outcome: 200 });
      expect(chunked?.body.toString()).toBe('3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n');
    });

    it('says ECONNREFUSED for a closed port', async () => {
      probe = new Probe();
      probe.engine.defineHttpTarget(1, { address: '127.0.0.1', port: await closedPort(), request: request('127.0.0.1'), ...plain });
      expect(await probe.http([1], 2000)).toEqual([expect.objectContaining({ outcome: 0, error: 'ECONNREFUSED' })]);
    });

    it('says HPE_INVALID when something other than HTTP answers', async () => {
      const garbage = net.createServer((socket) => quiet(socket).end('SSH-2.0-OpenSSH_9.2\r\n'));
      const port = await listen(garbage, '127.0.0.1');
      const lying = net.createServer((socket) => quiet(socket).once('data', () => socket.end('HTTP/1.1 abc nonsense\r\n\r\n')));
      const lyingPort = await listen(lying, '127.0.0.1');
      try {
        probe = new Probe();
        probe.engine.defineHttpTarget(1, { address: '127.0.0.1', port, request: request('127.0.0.1'), ...plain });
        probe.engine.defineHttpTarget(2, { address: '127.0.0.1', port: lyingPort, request: request('127.0.0.1'), ...plain });
        expect(await probe.http([1, 2], 2000)).toEqual([
          expect.objectContaining({ outcome: 0, error: 'HPE_INVALID' }),
          expect.objectContaining({ outcome: 0, error: 'HPE_INVALID' }),
        ]);
      } finally {
        garbage.close();
        lying.close();
      }
    });

    it('says ECONNRESET when the server closes before a status line', async () => {
      const rude = net.createServer((socket) => quiet(socket).once('data', () => socket.end()));
      const port = await listen(rude, '127.0.0.1');
      try {
        probe = new Probe();
        probe.engine.defineHttpTarget(1, { address: '127.0.0.1', port, request: request('127.0.0.1'), ...plain });
        expect(await probe.http([1], 2000)).toEqual([expect.objectContaining({ outcome: 0, error: 'ECONNRESET' })]);
      } finally {
        rude.close();
      }
    });

    it('skips 100 Continue for the real answer, and says HPE_HEADER_OVERFLOW past 16 KiB of headers', async () => {
      const continuing = net.createServer((socket) =>
        quiet(socket).once('data', () => socket.end('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n')),
      );
      const bloated = net.createServer((socket) =>
        quiet(socket).once('data', () => socket.end(`HTTP/1.1 200 OK\r\nX-Padding: ${'x'.repeat(20_000)}\r\n\r\n`)),
      );
      try {
        probe = new Probe();
        probe.engine.defineHttpTarget(1, { address: '127.0.0.1', port: await listen(continuing, '127.0.0.1'), request: request('127.0.0.1'), ...plain });
        probe.engine.defineHttpTarget(2, { address: '127.0.0.1', port: await listen(bloated, '127.0.0.1'), request: request('127.0.0.1'), ...plain });
        expect(await probe.http([1, 2], 2000)).toEqual([
          expect.objectContaining({ outcome: 204, error: undefined }),
          expect.objectContaining({ outcome: 0, error: 'HPE_HEADER_OVERFLOW' }),
        ]);
      } finally {
        continuing.close();
        bloated.close();
      }
    });

    it('reads a body that comes in many pieces, up to maxBody', async () => {
      const body = 'y'.repeat(300_000);
      const slow = http.createServer((_req, res) => {
        res.setHeader('Content-Length', body.length);
        for (let i = 0; i < body.length; i += 10_000) res.write(body.slice(i, i + 10_000));
        res.end();
      });
      try {
        probe = new Probe();
        const port = await listen(slow, '127.0.0.1');
        probe.engine.defineHttpTarget(1, { address: '127.0.0.1', port, request: request('127.0.0.1'), ...plain, maxBody: 1_000_000 });
        probe.engine.defineHttpTarget(2, { address: '127.0.0.1', port, request: request('127.0.0.1'), ...plain, maxBody: 123_456 });
        const [whole, part] = await probe.http([1, 2], 3000);
        expect(whole?.body.toString()).toBe(body);
        expect(part?.body.length).toBe(123_456);
      } finally {
        slow.close();
      }
    });

    it('answers ETIMEDOUT at the deadline when the server accepts and never answers', async () => {
      const mute = await muteServer();
      const { port } = mute;
      try {
        probe = new Probe();
        probe.engine.defineHttpTarget(1, { address: '127.0.0.1', port, request: request('127.0.0.1'), ...plain });
        const started = performance.now();
        const [answer] = await probe.http([1], 300);
        expect(answer).toMatchObject({ outcome: 0, error: 'ETIMEDOUT' });
        expect((answer?.at ?? 0) - started).toBeGreaterThanOrEqual(299);
        expect((answer?.at ?? 0) - started).toBeLessThan(400);
      } finally {
        mute.close();
      }
    });

    it('holds an answer up to 5 ms while other jobs are unanswered, then hands it over without waiting for them', async () => {
      // One wake-up of JavaScript per tick instead of one per kind of check: answers wait briefly for the rest.
      const mute = await muteServer();
      const { port } = mute;
      try {
        probe = new Probe();
        probe.engine.defineHttpTarget(1, { address: '127.0.0.1', port, request: request('127.0.0.1'), ...plain });
        expectLoopbackRoute('127.0.0.1');
        const started = performance.now();
        probe.engine.http(Uint32Array.of(1), Uint32Array.of(1), 2000);
        const [echo] = await probe.ping(['127.0.0.1'], 2000, 2);
        expect(echo).toMatchObject({ outcome: 1 });
        // The echo is answered within a millisecond on loopback; it waited for the exchange, but not for its 2 s.
        expect((echo?.at ?? 0) - started).toBeGreaterThanOrEqual(4.5);
        expect((echo?.at ?? 0) - started).toBeLessThan(1000);
        expect(probe.answers.has(1)).toBe(false);
      } finally {
        mute.close();
      }
    });

    it('answers ETIMEDOUT at the deadline for a host that drops SYNs, over IPv4 and IPv6', async () => {
      const silent = startSilentHost();
      try {
        probe = new Probe();
        probe.engine.defineHttpTarget(1, { address: silent.ipv4, port: 80, request: request(silent.ipv4), ...plain });
        probe.engine.defineHttpTarget(2, { address: silent.ipv6, port: 80, request: request(`[${silent.ipv6}]`), ...plain });
        const started = performance.now();
        for (const answer of await probe.http([1, 2], 300)) {
          expect(answer).toMatchObject({ outcome: 0, error: 'ETIMEDOUT' });
          expect(answer.at - started).toBeGreaterThanOrEqual(299);
          expect(answer.at - started).toBeLessThan(400);
        }
      } finally {
        silent.close();
      }
    });

    it('runs 10,000 exchanges in one batch with at most maxConnections open, every one answered', async () => {
      // The server runs in a process of its own, so that the CPU measured here is the engine's.
      const child: ChildProcess = spawn(process.execPath, ['-e', `
        const http = require('node:http');
        const server = http.createServer((req, res) => res.end('ok'));
        server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => console.log(server.address().port));
      `], { stdio: ['ignore', 'pipe', 'inherit'] });
      try {
        const [line] = (await once(child.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
        const port = Number(line.toString().trim());
        probe = new Probe({ maxConnections: 1000 });
        probe.engine.defineHttpTarget(1, { address: '127.0.0.1', port, request: request('127.0.0.1'), ...plain });
        await probe.http(Array.from({ length: 100 }, () => 1), 5000, 100_000); // warm up
        const cpu = cpuMicros();
        const answers = await probe.http(Array.from({ length: 10_000 }, () => 1), 20_000);
        const spent = cpuMicros() - cpu;
        const failed = answers.filter((a) => a.outcome !== 200);
        expect(failed.slice(0, 3)).toEqual([]);
        expect(probe.engine.stats()).toMatchObject({ submitted: 10_100, finished: 10_100, inFlight: 0 });
        console.log(`native HTTP: 10,000 loopback exchanges cost ${spent} µs of CPU in the test process (${(spent / 10_000).toFixed(1)} µs each), ${probe.batches} batches`);
      } finally {
        child.kill();
      }
    }, 60_000);

    it('refuses jobs for a target that is not defined, or no longer', () => {
      probe = new Probe();
      probe.engine.defineHttpTarget(1, { address: '127.0.0.1', port: v4Port, request: request('127.0.0.1'), ...plain });
      probe.engine.dropHttpTarget(1);
      expect(() => probe?.engine.http(Uint32Array.of(1), Uint32Array.of(1), 1000)).toThrow(/no HTTP target 1/);
      expect(() => probe?.engine.ping(Uint32Array.of(1), ['not-an-address'], 1000)).toThrow(/not an IPv4 or IPv6 literal/);
    });
  });

  describe('HTTPS with a private CA', () => {
    let pki: TestPki;
    const servers: net.Server[] = [];
    let goodPort: number;
    let expiredPort: number;
    let plainPort: number;
    beforeAll(async () => {
      pki = makeTestPki();
      const handler: http.RequestListener = (_req, res) => res.end('secure');
      const good = https.createServer({ cert: pki.server.cert, key: pki.server.key }, handler);
      const expiredCert = issueServerCertificate(pki.ca, {
        notBefore: new Date(Date.now() - 10 * 86_400_000),
        notAfter: new Date(Date.now() - 86_400_000),
        names: ['127.0.0.1', 'localhost'],
      });
      const expired = https.createServer({ cert: expiredCert.cert, key: expiredCert.key }, handler);
      const plainServer = http.createServer(handler);
      servers.push(good, expired, plainServer);
      goodPort = await listen(good, '127.0.0.1');
      expiredPort = await listen(expired, '127.0.0.1');
      plainPort = await listen(plainServer, '127.0.0.1');
    });
    afterAll(() => {
      for (const server of servers) server.close();
    });

    function target(engine: NativeEngine, key: number, port: number, tlsContext: number, serverName: string): void {
      engine.defineHttpTarget(key, { address: '127.0.0.1', port, request: request(serverName), tlsContext, serverName, maxBody: 100 });
    }

    it('gets 200 from a server whose certificate the given CA signed, by IP address and by name (SNI)', async () => {
      probe = new Probe();
      const trusted = probe.engine.tlsContext({ verify: true, caPem: pki.ca.cert });
      target(probe.engine, 1, goodPort, trusted, '127.0.0.1');
      target(probe.engine, 2, goodPort, trusted, 'localhost');
      for (const answer of await probe.http([1, 2], 3000)) {
        expect(answer).toMatchObject({ outcome: 200, error: undefined });
        expect(answer.body.toString()).toBe('secure');
      }
    });

    it('resumes the TLS session of a target on its next exchange', async () => {
      const reused: boolean[] = [];
      const resuming = https.createServer({ cert: pki.server.cert, key: pki.server.key }, (req, res) => {
        reused.push((req.socket as TLSSocket).isSessionReused());
        res.end('again');
      });
      try {
        const port = await listen(resuming, '127.0.0.1');
        probe = new Probe();
        target(probe.engine, 1, port, probe.engine.tlsContext({ verify: true, caPem: pki.ca.cert }), '127.0.0.1');
        for (let id = 1; id <= 3; id += 1) expect(await probe.http([1], 3000, id)).toEqual([expect.objectContaining({ outcome: 200 })]);
        expect(reused).toEqual([false, true, true]);
      } finally {
        resuming.close();
      }
    });

    it('names the failure the way Node.js does: untrusted CA, wrong name, expired, plain HTTP on the port', async () => {
      probe = new Probe();
      const trusted = probe.engine.tlsContext({ verify: true, caPem: pki.ca.cert });
      const otherCa = probe.engine.tlsContext({ verify: true, caPem: makeCertificateAuthority('another CA').cert });
      target(probe.engine, 1, goodPort, otherCa, '127.0.0.1');
      target(probe.engine, 2, goodPort, trusted, 'vim.example.org');
      target(probe.engine, 3, goodPort, trusted, '127.0.0.2');
      target(probe.engine, 4, expiredPort, trusted, '127.0.0.1');
      target(probe.engine, 5, plainPort, trusted, '127.0.0.1');
      const errors = (await probe.http([1, 2, 3, 4, 5], 3000)).map((a) => a.error);
      expect(errors).toEqual([
        'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
        'ERR_TLS_CERT_ALTNAME_INVALID',
        'ERR_TLS_CERT_ALTNAME_INVALID',
        'CERT_HAS_EXPIRED',
        'ERR_SSL_WRONG_VERSION_NUMBER',
      ]);
    });

    it('gets 200 with verification off whatever the certificate, and keeps targets working after their context is dropped', async () => {
      probe = new Probe();
      const unverified = probe.engine.tlsContext({ verify: false, caPem: makeCertificateAuthority('unrelated CA').cert });
      target(probe.engine, 1, goodPort, unverified, 'wrong.example.org');
      target(probe.engine, 2, expiredPort, unverified, '127.0.0.1');
      probe.engine.dropTlsContext(unverified);
      expect((await probe.http([1, 2], 3000)).map((a) => a.outcome)).toEqual([200, 200]);
      expect(() => target(probe!.engine, 3, goodPort, unverified, '127.0.0.1')).toThrow(/not a live TLS context/);
    });
  });

  describe('lifetime', () => {
    function threads(): number {
      return Number(/Threads:\s+(\d+)/.exec(execFileSync('cat', [`/proc/${process.pid}/status`], { encoding: 'utf8' }))?.[1]);
    }

    it('closes idempotently, stops its thread, and refuses work once closed', () => {
      const before = threads();
      const engines = Array.from({ length: 20 }, () => new Probe());
      expect(threads()).toBe(before + 20);
      for (const engine of engines) {
        engine.close();
        engine.close();
      }
      expect(threads()).toBe(before);
      const closed = engines[0];
      expect(() => closed?.engine.ping(Uint32Array.of(1), ['127.0.0.1'], 100)).toThrow(/closed/);
      expect(closed?.engine.stats()).toMatchObject({ inFlight: 0 });
    });

    it('does not answer jobs still in flight when closed, and never calls back after close()', async () => {
      probe = new Probe();
      const silent = startSilentHost();
      try {
        probe.engine.ping(Uint32Array.of(1, 2), [silent.ipv4, '127.0.0.1'], 200);
        probe.close();
        await new Promise((resolve) => setTimeout(resolve, 400));
        expect(probe.answers.size).toBe(0);
      } finally {
        silent.close();
      }
    });

    it('lets the process exit while an idle engine exists, and keeps it alive until busy jobs are answered', () => {
      const addon = loaded.ok ? loaded.path : '';
      // A mute server (it accepts and never answers) that does not itself keep the child alive: only the busy engine does.
      const script = `
        const net = require('node:net');
        const { Engine } = require(${JSON.stringify(addon)});
        new Engine(() => {});
        const mute = net.createServer((socket) => { socket.unref(); socket.on('error', () => {}); });
        mute.listen(0, '127.0.0.1', () => {
          mute.unref();
          const busy = new Engine((r) => console.log('answered', r.count, r.errors[0]));
          busy.defineHttpTarget(1, { address: '127.0.0.1', port: mute.address().port, request: Buffer.from('GET / HTTP/1.1\\r\\n\\r\\n'), tlsContext: 0, serverName: '', maxBody: 0 });
          busy.http(Uint32Array.of(1), Uint32Array.of(1), 300);
        });
      `;
      const output = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 5000 });
      expect(output).toBe('answered 1 ETIMEDOUT\n');
    });

    it('gives the pages of freed malloc memory back to the kernel with trimMemory', () => {
      const addon = loaded.ok ? loaded.path : '';
      // 200 MB of small buffers (malloc'd by Node), one in 16 kept: freed chunks between the kept ones stay in the
      // arena, where only malloc_trim releases their pages.
      const script = `
        const { trimMemory } = require(${JSON.stringify(addon)});
        const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
        const kept = [];
        let all = [];
        for (let i = 0; i < 100000; i++) { const b = Buffer.alloc(2000); all.push(b); if (i % 16 === 0) kept.push(b); }
        all = null;
        global.gc(); global.gc();
        setTimeout(() => {
          global.gc();
          const freed = rss();
          const released = trimMemory();
          console.log(JSON.stringify({ freed, released, trimmed: rss(), kept: kept.length }));
        }, 300);
      `;
      const output = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 20_000 })) as { freed: number; released: boolean; trimmed: number };
      expect(output.released).toBe(true);
      expect(output.freed - output.trimmed).toBeGreaterThan(100);
    });
  });
});
