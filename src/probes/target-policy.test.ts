/**
 * Every probe driver under the probe target policy, against real sockets.
 * The refused target is 0.0.0.0 (unspecified: on Linux a connection to it
 * reaches this host's own listeners, so it is the loopback-safe stand-in
 * for "the service's own surroundings"); a listener on 127.0.0.1 proves that
 * nothing was sent. Host names are answered by an injected lookup or by the
 * DNS stand-in on node:dns (test/support/fake-dns.ts).
 */
import { createServer as createTlsServer } from 'node:https';
import { createServer, type AddressInfo, type Server } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installFakeDns, type FakeDns } from '../../test/support/fake-dns.js';
import { makeCertificate } from '../../test/support/fixtures.js';
import { deadline, probeTarget } from '../../test/support/probe-target.js';
import { ApiProbe } from './api.js';
import { AuthProbe } from './auth.js';
import { IcmpProbe } from './icmp.js';
import type { Probe } from './probe.js';
import type { HostLookup } from './resolve-host.js';
import { TcpProbe } from './tcp.js';

const REFUSED = /^refused by the probe target policy/;

describe('probes under the probe target policy', () => {
  let server: Server;
  let port = 0;
  let connections = 0;
  let dns: FakeDns;
  const probes: Probe[] = [];

  beforeAll(async () => {
    server = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    dns = installFakeDns((name, call) => {
      if (name === 'mixed.test') return ['127.0.0.1', '0.0.0.0'];
      // Rebinding: allowed to the first lookup, the refused address after.
      if (name === 'pin.test') return call === 0 ? ['127.0.0.1'] : ['0.0.0.0'];
      if (name === 'sni.test') return ['127.0.0.1'];
      return undefined;
    });
  });
  afterAll(async () => {
    dns.restore();
    for (const probe of probes) await probe.close?.();
    await new Promise((resolve) => server.close(resolve));
  });

  function make<T extends Probe>(probe: T): T {
    probes.push(probe);
    return probe;
  }

  it('sends nothing to a refused literal address, whichever probe', async () => {
    const target = probeTarget('openstack', `http://0.0.0.0:${port}/v3`, { username: 'u', password: 'p', user_domain_name: 'Default' }, { name: 'p', project_domain_name: 'Default' });
    for (const probe of [make(new TcpProbe()), make(new ApiProbe()), make(new AuthProbe()), make(new IcmpProbe())]) {
      expect(await probe.check(target, deadline(1000)), probe.name).toMatchObject({ ok: false, reason: expect.stringMatching(REFUSED) });
    }
    expect(connections).toBe(0);
  });

  it('checks every address a name resolves to at probe time, and refuses the host if one is refused', async () => {
    const lookup: HostLookup = async () => [{ address: '127.0.0.1', family: 4 }, { address: '0.0.0.0', family: 4 }];
    const target = probeTarget('openstack', `http://mixed.test:${port}/v3`);
    for (const probe of [make(new TcpProbe({ lookup })), make(new IcmpProbe({ lookup }))]) {
      expect(await probe.check(target, deadline(1000)), probe.name).toEqual({ ok: false, reason: 'refused by the probe target policy' });
    }
    expect(await make(new ApiProbe()).check(target, deadline(1000))).toMatchObject({ ok: false, reason: expect.stringMatching(REFUSED) });
    expect(connections).toBe(0);
  });

  it('connects an HTTP probe only to the address it checked, with one lookup per check', async () => {
    const target = probeTarget('kubernetes', `http://pin.test:${port}`, { bearer_token: 'not-shown' });
    const probe = make(new ApiProbe());
    const before = connections;
    // The listener hangs up at once: the probe fails, but it did connect, to the checked 127.0.0.1.
    expect(await probe.check(target, deadline(1000))).toMatchObject({ ok: false });
    expect(connections - before).toBe(1);
    expect(dns.calls('pin.test')).toBe(1);
    // The name now answers the refused address: nothing is sent.
    expect(await probe.check(target, deadline(1000))).toEqual({ ok: false, reason: `refused by the probe target policy (http://pin.test:${port}/readyz)` });
    expect(connections - before).toBe(1);
  });

  it('keeps the name for the Host header and TLS SNI while connecting to the checked address', async () => {
    const { cert, key } = makeCertificate('sni.test');
    const seen: { servername?: string | false | null; host?: string } = {};
    const server = createTlsServer({ cert, key }, (request, response) => {
      seen.servername = (request.socket as TLSSocket).servername;
      seen.host = request.headers.host;
      response.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const tlsPort = (server.address() as AddressInfo).port;
    try {
      const target = probeTarget('kubernetes', `https://sni.test:${tlsPort}`, { bearer_token: 'not-shown', ssl_ca_cert: cert });
      const outcome = await make(new ApiProbe()).check(target, deadline(2000));
      expect(outcome).toMatchObject({ ok: true, reason: `HTTP 200 from https://sni.test:${tlsPort}/readyz: ok` });
      expect(seen).toEqual({ servername: 'sni.test', host: `sni.test:${tlsPort}` });
      expect(dns.calls('sni.test')).toBe(1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
