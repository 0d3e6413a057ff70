/**
 * The API probe, on both engines (the native probe engine when built, and
 * node:http), against a real Keystone (test/support/keystone.ts), plain
 * node:http servers for broken answers, and a FAKE Kubernetes API server
 * (test/support/kubernetes-api.ts is a mock: no real kube-apiserver runs in
 * the suite) over HTTPS with a certificate of a test CA.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKeystone, type KeystoneFixture } from '../../test/support/keystone.js';
import { startFakeKubeApi, type FakeKubeApi } from '../../test/support/kubernetes-api.js';
import { makeCertificate } from '../../test/support/fixtures.js';
import { startSilentHost } from '../../test/support/net-targets.js';
import { issueServerCertificate, makeCertificateAuthority, makeTestPki } from '../../test/support/pki.js';
import { probeEngineNames, startNativeEngine } from '../../test/support/probe-engines.js';
import { deadline, probeTarget } from '../../test/support/probe-target.js';
import { deadline as tickDeadline } from '../time/deadline.js';
import { ApiProbe, judgeKeystone, judgeReadyz } from './api.js';
import type { ProbeEngine } from './engine/probe-engine.js';
import type { EgressGuard } from '../net/egress-guard.js';
import { probeTargetGuard } from './target-policy.js';
import { AgentPool } from './http-agents.js';

async function listening(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

describe.each(probeEngineNames())('ApiProbe on the %s engine', (engineName) => {
  let keystone: KeystoneFixture;
  let kube: FakeKubeApi;
  let engine: ProbeEngine | undefined;
  let probe: ApiProbe;
  const native = engineName === 'native';
  /** A probe on this engine: the native one, or node:http with its own agents (or `agents`). */
  const make = (agents?: AgentPool, guard?: EgressGuard): ApiProbe => new ApiProbe({ ...(agents && { agents }), ...(guard && { guard }), ...(engine && { engine }) });

  beforeAll(async () => {
    if (native) engine = startNativeEngine();
    probe = make();
    [keystone, kube] = await Promise.all([startKeystone(), startFakeKubeApi()]);
  });
  afterAll(async () => {
    await probe?.close();
    engine?.close();
    await Promise.all([keystone?.stop(), kube?.stop()]);
  });

  describe('on an OpenStack VIM', () => {
    it('finds Keystone healthy on /v3 (HTTP 200)', async () => {
      const outcome = await probe.check(probeTarget('openstack', keystone.url), deadline(5000));
      expect(outcome).toEqual({ ok: true, latencyMs: expect.any(Number), reason: `HTTP 200 from ${keystone.url}` });
    });

    it('finds Keystone healthy on / (HTTP 300, version discovery)', async () => {
      const outcome = await probe.check(probeTarget('openstack', `${keystone.baseUrl}/`), deadline(5000));
      expect(outcome).toMatchObject({ ok: true, reason: `HTTP 300 from ${keystone.baseUrl}/` });
    });

    it('finds a server answering 500 unhealthy, and one answering 404 not an identity service', async () => {
      const server = createHttpServer((req, res) => res.writeHead(req.url === '/v3' ? 500 : 404).end());
      const port = await listening(server);
      try {
        expect(await probe.check(probeTarget('openstack', `http://127.0.0.1:${port}/v3`), deadline(2000))).toMatchObject({
          ok: false,
          reason: `HTTP 500 from http://127.0.0.1:${port}/v3`,
        });
        expect(await probe.check(probeTarget('openstack', `http://127.0.0.1:${port}/identity/v3`), deadline(2000))).toMatchObject({
          ok: false,
          reason: `HTTP 404 from http://127.0.0.1:${port}/identity/v3: no identity service answers at this URL`,
        });
      } finally {
        server.close();
      }
    });

    it('sends nothing to an address the probe target policy refuses', async () => {
      // 0.0.0.0 (unspecified) reaches this host's own listeners on Linux: a connection would show here.
      let connections = 0;
      const server = createTcpServer((socket) => {
        connections += 1;
        socket.destroy();
      });
      await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      try {
        expect(await probe.check(probeTarget('openstack', `http://0.0.0.0:${port}/v3`), deadline(1000))).toEqual({
          ok: false,
          reason: `refused by the probe target policy (http://0.0.0.0:${port}/v3)`,
        });
        expect(connections).toBe(0);
      } finally {
        server.close();
      }
    });

    it('finds a server on ::1 healthy, naming the bracketed URL', async () => {
      const server = createHttpServer((req, res) => res.writeHead(req.url === '/v3' && req.headers.host?.startsWith('[::1]:') ? 200 : 400).end());
      await new Promise<void>((resolve) => server.listen(0, '::1', () => resolve()));
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      try {
        expect(await probe.check(probeTarget('openstack', `http://[::1]:${port}/v3`), deadline(2000))).toEqual({
          ok: true,
          latencyMs: expect.any(Number),
          reason: `HTTP 200 from http://[::1]:${port}/v3`,
        });
      } finally {
        server.close();
      }
    });

    it('settles at its deadline when the host drops SYNs (IPv4 and IPv6)', async () => {
      const silent = startSilentHost();
      try {
        const started = Date.now();
        const outcomes = await Promise.all([silent.ipv4, `[${silent.ipv6}]`].map((host) => probe.check(probeTarget('openstack', `http://${host}:5000/v3`), deadline(300))));
        for (const outcome of outcomes) expect(outcome).toEqual({ ok: false, reason: expect.stringMatching(/^timed out after \d+ ms$/) });
        expect(Date.now() - started).toBeLessThan(500);
      } finally {
        silent.close();
      }
    });

    it('reports a refused connection with the URL', async () => {
      const server = createTcpServer();
      const port = await listening(server);
      await new Promise((resolve) => server.close(resolve));
      expect(await probe.check(probeTarget('openstack', `http://127.0.0.1:${port}/v3`), deadline(2000))).toEqual({
        ok: false,
        reason: `connection refused (http://127.0.0.1:${port}/v3)`,
      });
    });

    it('says so when the port answers in something other than HTTP', async () => {
      const server = createTcpServer((socket) => socket.on('error', () => undefined).end('SSH-2.0-OpenSSH_9.2\r\n'));
      const port = await listening(server);
      try {
        expect(await probe.check(probeTarget('openstack', `http://127.0.0.1:${port}/v3`), deadline(2000))).toEqual({
          ok: false,
          reason: expect.stringMatching(new RegExp(`^the answer is not valid HTTP \\(HPE_\\w+\\) \\(http://127\\.0\\.0\\.1:${port}/v3\\)$`)),
        });
      } finally {
        server.close();
      }
    });

    it('settles at its deadline when the server accepts and never answers', async () => {
      const sockets: Socket[] = [];
      const server = createTcpServer((socket) => {
        // The native engine resets the connection at the deadline: nothing of the test's own to report.
        socket.on('error', () => undefined);
        sockets.push(socket);
      });
      const port = await listening(server);
      try {
        const started = Date.now();
        const outcome = await probe.check(probeTarget('openstack', `http://127.0.0.1:${port}/v3`), deadline(300));
        expect(outcome).toEqual({ ok: false, reason: expect.stringMatching(/^timed out after \d+ ms$/) });
        expect(Date.now() - started).toBeLessThan(500);
      } finally {
        for (const socket of sockets) socket.destroy();
        server.close();
      }
    });
  });

  describe('on a Kubernetes VIM', () => {
    const kubeTarget = (credentials: Record<string, string> = {}) => probeTarget('kubernetes', kube.url, { ssl_ca_cert: kube.ca, bearer_token: 'unused', ...credentials });

    it("finds the API server ready when /readyz answers 200 'ok'", async () => {
      expect(await probe.check(kubeTarget(), deadline(2000))).toEqual({ ok: true, latencyMs: expect.any(Number), reason: `HTTP 200 from ${kube.url}/readyz: ok` });
      expect(kube.requests.at(-1)).toEqual({ method: 'GET', path: '/readyz', user: undefined });
    });

    it('finds the API server up when /readyz answers 401 because anonymous access is off', async () => {
      kube.anonymousReadyz = false;
      try {
        expect(await probe.check(kubeTarget(), deadline(2000))).toMatchObject({
          ok: true,
          reason: `HTTP 401 from ${kube.url}/readyz: anonymous access is disabled; the API server answers`,
        });
      } finally {
        kube.anonymousReadyz = true;
      }
    });

    it('finds the API server not ready on 500, naming the failed checks', async () => {
      kube.mode = 'error';
      try {
        expect(await probe.check(kubeTarget(), deadline(2000))).toMatchObject({ ok: false, reason: `HTTP 500 from ${kube.url}/readyz: not ready (failed: etcd)` });
      } finally {
        kube.mode = 'serve';
      }
    });

    it('finds the API server down when it closes the connection without answering', async () => {
      kube.mode = 'close';
      try {
        expect(await probe.check(kubeTarget(), deadline(2000))).toMatchObject({ ok: false, reason: expect.stringMatching(/^connection (closed|reset)/) });
      } finally {
        kube.mode = 'serve';
      }
    });

    it('settles at its deadline when the API server hangs', async () => {
      kube.mode = 'hang';
      try {
        const started = Date.now();
        expect(await probe.check(kubeTarget(), deadline(300))).toEqual({ ok: false, reason: expect.stringMatching(/^timed out after \d+ ms$/) });
        expect(Date.now() - started).toBeLessThan(500);
      } finally {
        kube.mode = 'serve';
      }
    });

    it('refuses a server certificate its CA did not sign, unless cert_verify is False', async () => {
      const otherCa = makeTestPki().ca.cert;
      const isolated = make();
      try {
        expect(await isolated.check(probeTarget('kubernetes', kube.url, { ssl_ca_cert: otherCa }), deadline(2000))).toMatchObject({
          ok: false,
          reason: expect.stringMatching(/^TLS certificate not trusted \(\w+\); set ssl_ca_cert/),
        });
        expect(await isolated.check(probeTarget('kubernetes', kube.url, {}), deadline(2000))).toMatchObject({ ok: false, reason: expect.stringContaining('TLS certificate not trusted') });
        expect(await isolated.check(probeTarget('kubernetes', kube.url, { cert_verify: 'False' }), deadline(2000))).toMatchObject({ ok: true });
      } finally {
        await isolated.close();
      }
    });

    it('names the TLS problem as node:https does: expired, another name, not TLS at all', async () => {
      const ca = makeCertificateAuthority();
      const day = 86_400_000;
      const expired = issueServerCertificate(ca, { notBefore: new Date(Date.now() - 3 * day), notAfter: new Date(Date.now() - day), names: ['127.0.0.1'] });
      const elsewhere = issueServerCertificate(ca, { notBefore: new Date(Date.now() - day), notAfter: new Date(Date.now() + day), names: ['other.vim.test'] });
      const servers = [expired, elsewhere].map(({ cert, key }) => createHttpsServer({ cert, key }, (_request, response) => response.end('ok')));
      const plain = createHttpServer((_request, response) => response.end('ok'));
      const ports = await Promise.all([...servers, plain].map((server) => listening(server as Server)));
      const checker = make();
      try {
        const at = (port: number) => probeTarget('kubernetes', `https://127.0.0.1:${port}`, { ssl_ca_cert: ca.cert });
        const [expiredPort = 0, elsewherePort = 0, plainPort = 0] = ports;
        expect(await checker.check(at(expiredPort), deadline(2000))).toEqual({ ok: false, reason: `TLS certificate not valid now (CERT_HAS_EXPIRED) (https://127.0.0.1:${expiredPort}/readyz)` });
        expect(await checker.check(at(elsewherePort), deadline(2000))).toEqual({
          ok: false,
          reason: `TLS certificate does not name this host (ERR_TLS_CERT_ALTNAME_INVALID) (https://127.0.0.1:${elsewherePort}/readyz)`,
        });
        expect(await checker.check(at(plainPort), deadline(2000))).toEqual({ ok: false, reason: expect.stringMatching(new RegExp(`^TLS handshake failed.* \\(https://127\\.0\\.0\\.1:${plainPort}/readyz\\)$`)) });
      } finally {
        await checker.close();
        for (const server of [...servers, plain]) server.close();
      }
    });

    it('keeps the host name for Host and SNI while connecting to the address the guard resolved', async () => {
      const { cert, key } = makeCertificate('sni.vim.test');
      const seen: { servername?: string | false | null; host?: string | undefined } = {};
      const server = createHttpsServer({ cert, key }, (request, response) => {
        seen.servername = (request.socket as TLSSocket).servername;
        seen.host = request.headers.host;
        response.end('ok');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      let lookups = 0;
      const guard = probeTargetGuard({
        lookup: async () => {
          lookups += 1;
          return [{ address: '127.0.0.1', family: 4 }];
        },
      });
      const named = make(undefined, guard);
      try {
        const target = probeTarget('kubernetes', `https://sni.vim.test:${port}`, { ssl_ca_cert: cert });
        expect(await named.check(target, deadline(2000))).toMatchObject({ ok: true, reason: `HTTP 200 from https://sni.vim.test:${port}/readyz: ok` });
        expect(seen).toEqual({ servername: 'sni.vim.test', host: `sni.vim.test:${port}` });
        expect(lookups).toBe(1);
      } finally {
        await named.close();
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it('closes each connection after its answer, holds no idle socket between rounds, and resumes the TLS session', async () => {
      if (native) return; // the engine's connections: the next test
      const agents = new AgentPool();
      const pooled = new ApiProbe({ agents });
      const target = kubeTarget();
      const before = { connections: kube.connections(), resumed: kube.resumedSessions() };
      try {
        for (let i = 0; i < 3; i += 1) expect((await pooled.check(target, deadline(2000))).ok).toBe(true);
        expect(kube.connections() - before.connections).toBe(3);
        // The first handshake is a full one; the later ones resume its session.
        expect(kube.resumedSessions() - before.resumed).toBe(2);
        await expect.poll(() => kube.openConnections(), { timeout: 2000 }).toBe(0);
        expect(agents.size()).toBe(1);
        pooled.forget(target.vimId);
        expect(agents.size()).toBe(0);
        expect((await pooled.check(target, deadline(2000))).ok).toBe(true);
      } finally {
        await pooled.close();
        await agents.close();
      }
    });

    it('closes each engine connection after its answer, resumes the TLS session, and forget() drops the VIM\'s target and its TLS context', async () => {
      if (!native) return; // node:http's agents: the test above
      const own = make();
      const target = kubeTarget();
      const before = { connections: kube.connections(), resumed: kube.resumedSessions() };
      try {
        for (let i = 0; i < 3; i += 1) expect((await own.check(target, deadline(2000))).ok).toBe(true);
        expect(kube.connections() - before.connections).toBe(3);
        // The first handshake is a full one; the later ones resume its session (the engine keeps one per target).
        expect(kube.resumedSessions() - before.resumed).toBe(2);
        await expect.poll(() => kube.openConnections(), { timeout: 2000 }).toBe(0);
        expect(own.engineTargets()).toEqual({ targets: 1, tlsContexts: 1 });
        own.forget(target.vimId);
        expect(own.engineTargets()).toEqual({ targets: 0, tlsContexts: 0 });
        expect((await own.check(target, deadline(2000))).ok).toBe(true);
      } finally {
        await own.close();
      }
    });

    it("answers by a tick's deadline (the monitor's shared signal) when the API server hangs", async () => {
      kube.mode = 'hang';
      const tick = tickDeadline(300);
      try {
        const started = Date.now();
        expect(await probe.check(kubeTarget(), tick.signal)).toEqual({ ok: false, reason: expect.stringMatching(/^timed out after \d+ ms$/) });
        expect(Date.now() - started).toBeLessThan(500);
      } finally {
        tick.dispose();
        kube.mode = 'serve';
      }
    });
  });
});

describe('the verdict on an answer', () => {
  const answer = (status: number, body = '') => ({ status, body, headers: {}, latencyMs: 1 });
  const url = 'https://vim.test/v3';

  it('counts Keystone 401, 403 and 429 as serving, other 4xx and 5xx as not', () => {
    expect(judgeKeystone(answer(401), url)).toEqual({ ok: true, reason: `HTTP 401 from ${url}: the server answers but requires authentication` });
    expect(judgeKeystone(answer(403), url).ok).toBe(true);
    expect(judgeKeystone(answer(429), url)).toEqual({ ok: true, reason: `HTTP 429 from ${url}: rate limited, but serving` });
    expect(judgeKeystone(answer(405), url)).toEqual({ ok: false, reason: `HTTP 405 from ${url}: no identity service answers at this URL` });
    expect(judgeKeystone(answer(503), url)).toEqual({ ok: false, reason: `HTTP 503 from ${url}` });
  });

  it("counts /readyz 200 as ready only with the body 'ok'", () => {
    expect(judgeReadyz(answer(200, 'ok\n'), url).ok).toBe(true);
    expect(judgeReadyz(answer(200, '<html>login</html>'), url)).toEqual({
      ok: false,
      reason: `HTTP 200 from ${url}, but the body is not 'ok': no Kubernetes API server answers at this URL`,
    });
    expect(judgeReadyz(answer(403), url).ok).toBe(true);
    expect(judgeReadyz(answer(404), url).ok).toBe(false);
    expect(judgeReadyz(answer(503, 'nothing to list'), url)).toEqual({ ok: false, reason: `HTTP 503 from ${url}` });
  });
});
