/**
 * The TCP probe against real sockets on loopback, and against a silent host
 * in a network namespace of the test's own (test/support/net-targets.ts:
 * root, iproute2). Only DNS answers are injected.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSilentHost, type SilentHost } from '../../test/support/net-targets.js';
import { deadline, probeTarget } from '../../test/support/probe-target.js';
import type { HostLookup } from './resolve-host.js';
import { TcpProbe } from './tcp.js';

function listen(host: string): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0 });
    });
  });
}

/** A port that nothing listens on: bound once to learn a free number, then closed. */
async function closedPort(host: string): Promise<number> {
  const { server, port } = await listen(host);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const url = (host: string, port: number) => `https://${host.includes(':') ? `[${host}]` : host}:${port}`;

describe('TcpProbe', () => {
  let silent: SilentHost;
  let v4: { server: Server; port: number };
  let v6: { server: Server; port: number };

  beforeAll(async () => {
    silent = startSilentHost();
    v4 = await listen('127.0.0.1');
    v6 = await listen('::1');
  });
  afterAll(async () => {
    silent?.close();
    for (const s of [v4, v6]) await new Promise((resolve) => s?.server.close(resolve));
  });

  it('connects to a listening IPv4 server and reports the connect time', async () => {
    const outcome = await new TcpProbe().check(probeTarget('kubernetes', url('127.0.0.1', v4.port)), deadline(2000));
    expect(outcome).toEqual({ ok: true, latencyMs: expect.any(Number), reason: expect.stringMatching(new RegExp(`^connected to 127\\.0\\.0\\.1:${v4.port} in [\\d.]+ ms$`)) });
  });

  it('connects to a listening IPv6 server named by a bracketed literal', async () => {
    const outcome = await new TcpProbe().check(probeTarget('kubernetes', url('::1', v6.port)), deadline(2000));
    expect(outcome).toMatchObject({ ok: true, reason: expect.stringContaining(`[::1]:${v6.port}`) });
  });

  it('reports a closed port as connection refused', async () => {
    const port = await closedPort('127.0.0.1');
    expect(await new TcpProbe().check(probeTarget('openstack', url('127.0.0.1', port)), deadline(2000))).toEqual({ ok: false, reason: 'connection refused' });
  });

  it('counts a host name up when any of its addresses accepts', async () => {
    const port = v4.port;
    const lookup: HostLookup = async () => [{ address: '::1', family: 6 }, { address: '127.0.0.1', family: 4 }];
    const outcome = await new TcpProbe({ lookup }).check(probeTarget('openstack', `http://vim.test:${port}`), deadline(2000));
    expect(outcome).toMatchObject({ ok: true, reason: expect.stringContaining(`127.0.0.1:${port}`) });
  });

  it('names each address of a host name that refuses', async () => {
    const port = await closedPort('127.0.0.1');
    const lookup: HostLookup = async () => [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }];
    const outcome = await new TcpProbe({ lookup }).check(probeTarget('openstack', `http://vim.test:${port}`), deadline(2000));
    expect(outcome.ok).toBe(false);
    expect(outcome.reason).toContain(`127.0.0.1:${port}: connection refused`);
    expect(outcome.reason).toContain(`[::1]:${port}: connection refused`);
  });

  it('reports a failed DNS lookup with its code', async () => {
    const lookup: HostLookup = async () => {
      throw Object.assign(new Error('queryA ESERVFAIL'), { code: 'ESERVFAIL' });
    };
    expect(await new TcpProbe({ lookup }).check(probeTarget('openstack', 'http://vim.test:5000'), deadline(2000))).toEqual({
      ok: false,
      reason: 'DNS lookup of vim.test failed: ESERVFAIL',
    });
  });

  it('settles at its deadline when SYNs go unanswered', async () => {
    const started = Date.now();
    const outcome = await new TcpProbe().check(probeTarget('openstack', url(silent.ipv4, 5000)), deadline(300));
    expect(outcome).toEqual({ ok: false, reason: expect.stringMatching(/^timed out after \d+ ms$/) });
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('settles at its deadline when a DNS lookup hangs', async () => {
    const lookup: HostLookup = () => new Promise(() => undefined);
    const outcome = await new TcpProbe({ lookup }).check(probeTarget('openstack', 'http://vim.test:5000'), deadline(200));
    expect(outcome).toEqual({ ok: false, reason: expect.stringMatching(/^timed out after \d+ ms \(DNS lookup of vim\.test\)$/) });
  });
});
