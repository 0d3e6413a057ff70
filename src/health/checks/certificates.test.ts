/**
 * CertificateValid against real TLS servers on 127.0.0.1 presenting
 * certificates issued by a throw-away CA (test/support/pki.ts, openssl).
 * Host names (`vim.test`) are answered by an injected lookup, never by DNS.
 */
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { createServer, type Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueServerCertificate, makeCertificateAuthority, type KeyPair } from '../../../test/support/pki.js';
import { probeTarget } from '../../../test/support/probe-target.js';
import type { HostLookup } from '../../net/egress-guard.js';
import { PROBE_TARGET_REFUSED, probeTargetGuard } from '../../probes/target-policy.js';
import type { HealthSettings } from '../deep-check.js';
import { CertificateCheck, inspectTlsEndpoint } from './certificates.js';

const DAY = 86_400_000;
// A minute ahead: the test CA made in beforeAll is valid from the second openssl makes it, which on a slow run comes after module load.
const now = new Date(Date.now() + 60_000);
const settings: HealthSettings = {
  deep_interval: 60,
  required_services: ['identity'],
  watched_services: [],
  endpoint_interface: 'public',
  expiry_warning_days: 14,
  capacity_warning_ratio: 0.1,
  nodes_ready_warning_ratio: 1,
};
const lookupCalls: string[] = [];
/** vim.test is loopback; evil.test is the metadata address (refused before any connect). */
const lookup: HostLookup = async (host) => {
  lookupCalls.push(host);
  if (host === 'vim.test') return [{ address: '127.0.0.1', family: 4 }];
  if (host === 'evil.test') return [{ address: '169.254.169.254', family: 4 }];
  throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
};
const guard = probeTargetGuard({ lookup });

let ca: KeyPair;
const servers: Array<Server | TcpServer> = [];
const sockets = new Set<Socket>();
function track(server: Server | TcpServer): void {
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  servers.push(server);
}

async function serve(cert: KeyPair): Promise<number> {
  const server = createServer({ cert: cert.cert, key: cert.key }, (socket) => socket.end());
  track(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

function leaf(notBefore: number, notAfter: number, names = ['127.0.0.1', 'vim.test']): KeyPair {
  return issueServerCertificate(ca, { notBefore: new Date(now.getTime() + notBefore), notAfter: new Date(now.getTime() + notAfter), names });
}

async function checkUrl(url: string, cred: Record<string, string> = { ssl_ca_cert: ca.cert }) {
  const report = await new CertificateCheck({ guard }).run({ target: probeTarget('openstack', url, cred), settings, signal: AbortSignal.timeout(5_000), now });
  return report.conditions;
}

describe('CertificateCheck', () => {
  let valid: number, soon: number, expired: number, future: number, otherName: number, silent: number;

  beforeAll(async () => {
    ca = makeCertificateAuthority('deep-check test CA', 3650);
    valid = await serve(leaf(-DAY, 365 * DAY));
    soon = await serve(leaf(-DAY, 3 * DAY + 3_600_000));
    expired = await serve(leaf(-30 * DAY, -DAY));
    future = await serve(leaf(2 * DAY, 30 * DAY));
    otherName = await serve(leaf(-DAY, 365 * DAY, ['other.test']));
    const tcp = createTcpServer(() => undefined); // accepts, never answers the TLS hello
    track(tcp);
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    silent = (tcp.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
  });

  it('reports a certificate valid for a year, from a trusted CA, naming the host, as True', async () => {
    expect(await checkUrl(`https://vim.test:${valid}/v3`)).toEqual([
      { type: 'CertificateValid', layer: 'tls', status: 'True', severity: 'info', reason: expect.stringMatching(/^the certificate of https:\/\/vim\.test:\d+\/v3 valid until /) },
    ]);
  });

  it('warns about a certificate that expires in 3 days', async () => {
    const [condition] = await checkUrl(`https://127.0.0.1:${soon}/v3`);
    expect(condition).toMatchObject({ status: 'False', severity: 'warning', reason: expect.stringContaining('expires in 3 days') });
  });

  it('fails an expired certificate', async () => {
    const [condition] = await checkUrl(`https://127.0.0.1:${expired}/v3`);
    expect(condition).toMatchObject({ status: 'False', severity: 'error', reason: expect.stringContaining('expired on') });
  });

  it('fails a certificate that is not valid yet', async () => {
    const [condition] = await checkUrl(`https://127.0.0.1:${future}/v3`);
    expect(condition).toMatchObject({ status: 'False', severity: 'error', reason: expect.stringContaining('is not valid before') });
  });

  it('fails a certificate that names another host', async () => {
    const [condition] = await checkUrl(`https://vim.test:${otherName}/v3`);
    expect(condition).toMatchObject({ status: 'False', severity: 'error', reason: expect.stringContaining('does not name vim.test') });
  });

  it('fails a certificate from a CA the VIM does not trust, naming the fix', async () => {
    const [condition] = await checkUrl(`https://127.0.0.1:${valid}/v3`, {});
    expect(condition).toMatchObject({ status: 'False', severity: 'error', reason: expect.stringContaining('is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE): set ssl_ca_cert') });
  });

  it('judges only the dates when cert_verify is False', async () => {
    const [condition] = await checkUrl(`https://vim.test:${otherName}/v3`, { cert_verify: 'False' });
    expect(condition).toMatchObject({ status: 'True', severity: 'info' });
  });

  it('warns about the CA in ssl_ca_cert when it expires soon', async () => {
    const shortCa = makeCertificateAuthority('short-lived CA', 2);
    const target = probeTarget('openstack', `https://127.0.0.1:${valid}/v3`, { ssl_ca_cert: `${ca.cert}${shortCa.cert}` });
    const report = await new CertificateCheck({ guard }).run({ target, settings, signal: AbortSignal.timeout(5_000), now: new Date(Date.now() + 60_000) });
    const [condition] = report.conditions;
    expect(condition).toMatchObject({ status: 'False', severity: 'warning', reason: expect.stringContaining('ssl_ca_cert certificate 2 expires in 1 days') });
  });

  it('judges the Kubernetes client certificate and CA held in auth_cred', async () => {
    const client = issueServerCertificate(ca, { notBefore: new Date(now.getTime() - 10 * DAY), notAfter: new Date(now.getTime() - DAY), names: ['kube-user'] });
    const target = probeTarget('kubernetes', `https://127.0.0.1:${valid}`, { ssl_ca_cert: ca.cert, client_cert: client.cert, client_key: client.key });
    const report = await new CertificateCheck({ guard }).run({ target, settings, signal: AbortSignal.timeout(5_000), now });
    expect(report.conditions[0]).toMatchObject({ status: 'False', severity: 'error', reason: expect.stringMatching(/^client_cert certificate expired on/) });
  });

  it('refuses a host the probe target policy refuses, before connecting, without naming the address', async () => {
    const finding = await inspectTlsEndpoint('https://evil.test:443/v3', { verify: true }, { guard, now, warningDays: 14, signal: AbortSignal.timeout(5_000) });
    expect(finding).toEqual({ status: 'Unknown', severity: 'info', reason: PROBE_TARGET_REFUSED });
    expect(lookupCalls).toContain('evil.test');
  });

  it('settles by the deadline with Unknown when the server never completes the handshake', async () => {
    const started = Date.now();
    const finding = await inspectTlsEndpoint(`https://127.0.0.1:${silent}/`, { verify: true }, { guard, now, warningDays: 14, signal: AbortSignal.timeout(300) });
    expect(finding).toMatchObject({ status: 'Unknown', reason: expect.stringContaining('timed out during the TLS handshake') });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('judges the further URLs it is given (the catalog endpoints) with auth_url', async () => {
    const extra = `https://127.0.0.1:${expired}/image`;
    const check = new CertificateCheck({ guard, extraUrls: (vimId) => (vimId === target.vimId ? [extra] : []) });
    const target = probeTarget('openstack', `https://vim.test:${valid}/v3`, { ssl_ca_cert: ca.cert });
    const report = await check.run({ target, settings, signal: AbortSignal.timeout(5_000), now });
    expect(report.conditions[0]).toMatchObject({ status: 'False', severity: 'error', reason: expect.stringContaining(`the certificate of ${extra} expired on`) });
  });

  it('reports nothing for a plain HTTP auth_url without certificates in auth_cred', async () => {
    expect(await checkUrl('http://127.0.0.1:1/v3', {})).toEqual([]);
  });
});
