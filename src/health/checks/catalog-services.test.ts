/**
 * Service:<type> against the real Keystone fixture's catalog. Keystone
 * itself is the `identity` service. The image and placement services are
 * loopback HTTP STAND-INS registered as real endpoints in that Keystone
 * catalog (the fixture with real Placement and Glance, test/support/
 * openstack-services.ts, was not on main when this was written): they answer
 * like the real APIs' version documents (300 Multiple Choices at the root).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpRecorder, type HttpRecorder } from '../../../test/support/http-recorder.js';
import { REGION, startKeystone, type KeystoneFixture } from '../../../test/support/keystone.js';
import { probeTarget } from '../../../test/support/probe-target.js';
import { AgentPool } from '../../probes/http-agents.js';
import { KeystoneAuthenticator } from '../../probes/keystone-auth.js';
import type { HealthSettings } from '../deep-check.js';
import { CatalogServiceCheck } from './catalog-services.js';

interface StandIn {
  url: string;
  /** 'up' answers the version document; 'error' answers 503. */
  mode: 'up' | 'error';
  seen: IncomingHttpHeaders[];
  server: Server;
}

/** validate: as keystonemiddleware does, the token is checked with Keystone and a refused one gets 401. */
async function standIn(validate?: (token: string) => Promise<boolean>): Promise<StandIn> {
  const self: Partial<StandIn> = { mode: 'up', seen: [] };
  const server = createServer(async (req, res) => {
    self.seen?.push(req.headers);
    if (self.mode === 'error') return void res.writeHead(503).end('unavailable');
    const token = req.headers['x-auth-token'];
    if (validate && (typeof token !== 'string' || !(await validate(token)))) return void res.writeHead(401).end('{"error": {"code": 401}}');
    if (req.url !== '/') return void res.writeHead(404).end();
    res.writeHead(300, { 'content-type': 'application/json' }).end(JSON.stringify({ versions: [{ id: 'v2.0', status: 'CURRENT' }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(self, { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` }) as StandIn;
}

const settings = (overrides: Partial<HealthSettings> = {}): HealthSettings => ({
  deep_interval: 60,
  required_services: ['identity'],
  watched_services: ['compute', 'network', 'image', 'placement'],
  endpoint_interface: 'public',
  expiry_warning_days: 14,
  capacity_warning_ratio: 0.1,
  nodes_ready_warning_ratio: 1,
  ...overrides,
});

describe('CatalogServiceCheck', () => {
  let keystone: KeystoneFixture;
  let relay: HttpRecorder;
  let image: StandIn;
  let placement: StandIn;
  const agents = new AgentPool();

  async function register(type: string, url: string, interfaces = ['public']): Promise<void> {
    const created = (await keystone.adminRequest('POST', '/services', { service: { type, name: `${type}-stand-in` } })) as { service: { id: string } };
    for (const iface of interfaces) {
      await keystone.adminRequest('POST', '/endpoints', { endpoint: { service_id: created.service.id, interface: iface, region_id: REGION, url } });
    }
  }

  beforeAll(async () => {
    keystone = await startKeystone();
    relay = await startHttpRecorder(keystone.baseUrl);
    // Self-validation, which Keystone's default policy allows a token's own subject.
    image = await standIn(async (token) => (await fetch(`${keystone.url}/auth/tokens?nocatalog`, { headers: { 'x-auth-token': token, 'x-subject-token': token } })).status === 200);
    placement = await standIn();
    await register('image', image.url);
    await register('placement', `${placement.url}/placement`, ['internal']);
  }, 120_000);
  afterAll(async () => {
    await agents.close();
    for (const s of [image, placement]) await new Promise((resolve) => s?.server.close(resolve));
    await relay?.stop();
    await keystone?.stop();
  });

  const target = () =>
    probeTarget('openstack', `${relay.url}/v3`, { username: keystone.member.username, password: keystone.member.password, user_domain_name: 'Default' }, { name: keystone.member.project, project_domain_name: 'Default' });
  const run = (check: CatalogServiceCheck, t = target(), s = settings()) => check.run({ target: t, settings: s, signal: AbortSignal.timeout(10_000), now: new Date() });

  it('checks every public endpoint of the required and watched types present in the catalog, with the token', async () => {
    image.seen.length = 0;
    const report = await run(new CatalogServiceCheck({ keystone: new KeystoneAuthenticator({ agents }), agents }));
    expect(report.conditions).toEqual([
      { type: 'Service:identity', layer: 'services', status: 'True', severity: 'info', reason: expect.stringMatching(/^HTTP 200 from http:\/\/127\.0\.0\.1:\d+\/v3/) },
      { type: 'Service:image', layer: 'services', status: 'True', severity: 'info', reason: `HTTP 300 from ${image.url}/` },
    ]);
    expect(image.seen[0]?.['x-auth-token']).toEqual(expect.any(String));
  });

  it('checks the configured interface: placement is registered internal only', async () => {
    const report = await run(new CatalogServiceCheck({ keystone: new KeystoneAuthenticator({ agents }), agents }), target(), settings({ endpoint_interface: 'internal' }));
    expect(report.conditions.map((c) => [c.type, c.status])).toEqual([
      ['Service:identity', 'True'],
      ['Service:placement', 'True'],
    ]);
    // The URL itself is 404 at the stand-in: the root's version document proves the service.
    expect(report.conditions[1]?.reason).toBe(`HTTP 300 from ${placement.url}/`);
  });

  it('reports a failing watched service as a warning that names it, and a failing required one as an error', async () => {
    const check = new CatalogServiceCheck({ keystone: new KeystoneAuthenticator({ agents }), agents });
    image.mode = 'error';
    try {
      const watched = await run(check);
      expect(watched.conditions.find((c) => c.type === 'Service:image')).toEqual({
        type: 'Service:image', layer: 'services', status: 'False', severity: 'warning', reason: `image: HTTP 503 from ${image.url}/`,
      });
      expect(watched.conditions.find((c) => c.type === 'Service:identity')).toMatchObject({ status: 'True' });
      const required = await run(check, target(), settings({ required_services: ['identity', 'image'] }));
      expect(required.conditions.find((c) => c.type === 'Service:image')).toMatchObject({ status: 'False', severity: 'error' });
    } finally {
      image.mode = 'up';
    }
    expect((await run(check)).conditions.find((c) => c.type === 'Service:image')).toMatchObject({ status: 'True' });
  });

  it('fails a required service absent from the catalog; a watched absent one is not shown', async () => {
    const report = await run(new CatalogServiceCheck({ keystone: new KeystoneAuthenticator({ agents }), agents }), target(), settings({ required_services: ['identity', 'volumev3'] }));
    expect(report.conditions.find((c) => c.type === 'Service:volumev3')).toEqual({
      type: 'Service:volumev3', layer: 'services', status: 'False', severity: 'error', reason: 'no volumev3 endpoint in the catalog (interface public)',
    });
    expect(report.conditions.find((c) => c.type === 'Service:compute')).toBeUndefined();
  });

  it('reuses the token and the catalog between runs, and reads the catalog again after the auth interval', async () => {
    let now = Date.now();
    const clock = { now: () => new Date(now) };
    const check = new CatalogServiceCheck({ keystone: new KeystoneAuthenticator({ agents, clock }), agents, clock, catalogMaxAgeMs: 300_000 });
    const count = (method: string, prefix: string) => relay.exchanges.filter((e) => e.method === method && e.path.startsWith(prefix)).length;
    const logins = count('POST', '/v3/auth/tokens');
    const catalogs = count('GET', '/v3/auth/catalog');
    const t = target();
    await run(check, t);
    await run(check, t);
    expect([count('POST', '/v3/auth/tokens') - logins, count('GET', '/v3/auth/catalog') - catalogs]).toEqual([1, 1]);
    now += 301_000;
    await run(check, t);
    expect([count('POST', '/v3/auth/tokens') - logins, count('GET', '/v3/auth/catalog') - catalogs]).toEqual([1, 2]);
  });

  it('logs in again once when the cached token was revoked, instead of failing every service', async () => {
    const keystoneAuth = new KeystoneAuthenticator({ agents });
    const check = new CatalogServiceCheck({ keystone: keystoneAuth, agents });
    const t = target();
    expect((await run(check, t)).conditions.every((c) => c.status === 'True')).toBe(true);
    const cached = await keystoneAuth.session(t, AbortSignal.timeout(10_000));
    if (!cached.ok) throw new Error(cached.reason);
    await keystone.revokeToken(cached.session.token);
    const logins = relay.exchanges.filter((e) => e.method === 'POST' && e.path.startsWith('/v3/auth/tokens')).length;
    const report = await run(check, t);
    expect(report.conditions.map((c) => [c.type, c.status])).toEqual([['Service:identity', 'True'], ['Service:image', 'True']]);
    expect(relay.exchanges.filter((e) => e.method === 'POST' && e.path.startsWith('/v3/auth/tokens')).length - logins).toBe(1);
  });

  it('says the catalog cannot be read when the credentials are refused, without the password', async () => {
    const bad = probeTarget('openstack', `${relay.url}/v3`, { username: keystone.member.username, password: 'wrong-pw-123', user_domain_name: 'Default' }, { name: keystone.member.project, project_domain_name: 'Default' });
    const report = await run(new CatalogServiceCheck({ keystone: new KeystoneAuthenticator({ agents }), agents }), bad);
    expect(report.conditions).toEqual([{ type: 'Service:identity', layer: 'services', status: 'Unknown', severity: 'info', reason: 'no Keystone token: the catalog cannot be read' }]);
  });
});
