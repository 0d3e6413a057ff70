/**
 * The fast probes' results as conditions. Where the reason decides the
 * condition (a certificate failure), the reason comes from the real API probe
 * against a real TLS server on loopback.
 */
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki, type TestPki } from '../../test/support/pki.js';
import { deadline, probeTarget } from '../../test/support/probe-target.js';
import { ApiProbe } from '../probes/api.js';
import { probeConditions } from './probe-conditions.js';

describe('probeConditions', () => {
  it('makes icmp and tcp one NetworkReachable condition, False when either failed, with the failing reason', () => {
    const conditions = probeConditions(['icmp', 'tcp'], { icmp: { ok: true, reason: 'ICMP echo reply in 0.1 ms' }, tcp: { ok: false, reason: 'connection refused' } });
    expect(conditions).toEqual([{ type: 'NetworkReachable', layer: 'network', status: 'False', severity: 'error', reason: 'tcp: connection refused' }]);
  });

  it('maps api to IdentityAPI and auth to Authenticated, error severity because they decide status', () => {
    const conditions = probeConditions(['api', 'auth'], { api: { ok: true, reason: 'HTTP 200' }, auth: { ok: false, reason: 'Keystone rejected the credentials (HTTP 401)' } });
    expect(conditions).toEqual([
      { type: 'IdentityAPI', layer: 'identity', status: 'True', severity: 'error', reason: 'HTTP 200' },
      { type: 'Authenticated', layer: 'authentication', status: 'False', severity: 'error', reason: 'Keystone rejected the credentials (HTTP 401)' },
    ]);
  });

  it('gives no condition for a probe that is not configured or has not answered yet', () => {
    expect(probeConditions(['icmp'], { auth: { ok: true, reason: 'token' } })).toEqual([]);
  });

  describe('with the real API probe over TLS', () => {
    let pki: TestPki;
    let https: ReturnType<typeof createHttpsServer>;
    let plain: Server;
    let httpsPort = 0;
    let plainPort = 0;
    const probe = new ApiProbe();

    beforeAll(async () => {
      pki = makeTestPki();
      https = createHttpsServer({ cert: pki.server.cert, key: pki.server.key }, (_req, res) => res.writeHead(200).end('{"version":{}}'));
      // Answers TLS with plain text: a handshake failure that is not about a certificate.
      plain = createTcpServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
      httpsPort = await new Promise<number>((resolve) => https.listen(0, '127.0.0.1', () => resolve((https.address() as { port: number }).port)));
      plainPort = await new Promise<number>((resolve) => plain.listen(0, '127.0.0.1', () => resolve((plain.address() as { port: number }).port)));
    });
    afterAll(async () => {
      await probe.close();
      https?.close();
      plain?.close();
    });

    it('reports an untrusted certificate as CertificateValid False in the tls layer', async () => {
      const outcome = await probe.check(probeTarget('openstack', `https://127.0.0.1:${httpsPort}/v3`), deadline(3000));
      expect(outcome.ok).toBe(false);
      const conditions = probeConditions(['api'], { api: outcome });
      expect(conditions[0]).toMatchObject({ type: 'CertificateValid', layer: 'tls', status: 'False', severity: 'error', reason: expect.stringContaining('TLS certificate not trusted') });
      expect(conditions[1]).toMatchObject({ type: 'IdentityAPI', status: 'False' });
    });

    it('reports no certificate condition once the CA is trusted', async () => {
      const outcome = await probe.check(probeTarget('openstack', `https://127.0.0.1:${httpsPort}/v3`, { ssl_ca_cert: pki.ca.cert }), deadline(3000));
      expect(outcome.ok).toBe(true);
      expect(probeConditions(['api'], { api: outcome }).map((c) => c.type)).toEqual(['IdentityAPI']);
    });

    it('leaves a handshake with a server that does not speak TLS to IdentityAPI', async () => {
      const outcome = await probe.check(probeTarget('openstack', `https://127.0.0.1:${plainPort}/v3`), deadline(3000));
      expect(outcome.ok).toBe(false);
      expect(probeConditions(['api'], { api: outcome })).toEqual([{ type: 'IdentityAPI', layer: 'identity', status: 'False', severity: 'error', reason: outcome.reason }]);
    });
  });
});
