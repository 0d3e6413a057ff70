/**
 * The outbound address policy end to end (issue 9, items 1 and 2): what a
 * tenant may make the service connect to. Everything stays on loopback:
 * refused addresses (metadata, link-local, 198.18.0.0/15) are refused before
 * any connect, and names are answered by a DNS stand-in installed on node:dns
 * (test/support/fake-dns.ts), which can answer differently to a check and to
 * a connection, as a rebinding DNS server would.
 */
import { lookup } from 'node:dns/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { installFakeDns, type FakeDns } from '../support/fake-dns.js';
import { kubernetesVim, openstackVim } from '../support/fixtures.js';
import { waitFor } from '../support/monitoring.js';
import { ScriptedProbe } from '../support/scripted-probe.js';
import { startTestService, type TestService } from '../support/service.js';

/** name → answers by call number; the last entry repeats. */
const SCRIPT = new Map<string, string[][]>();
let dns: FakeDns;

beforeAll(async () => {
  dns = installFakeDns((name, call) => {
    const script = SCRIPT.get(name);
    return script ? script[Math.min(call, script.length - 1)] : undefined;
  });
  // The stand-in must hold for the resolver the service uses, or a .test name would go to real DNS.
  SCRIPT.set('sanity.test', [['127.0.0.9']]);
  expect(await lookup('sanity.test', { all: true })).toEqual([{ address: '127.0.0.9', family: 4 }]);
});
afterAll(() => dns.restore());

/** Counts TCP connections on address:port; never answers. */
async function silentListener(address: string, port = 0): Promise<{ server: Server; port: number; connections: () => number }> {
  let count = 0;
  const server = createNetServer((socket) => {
    count += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, address, resolve));
  return { server, port: (server.address() as AddressInfo).port, connections: () => count };
}

function close(server: Server | HttpServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe.each(['sqlite', 'postgres'] as const)('VIM targets the probe target policy refuses, on %s', (dialect) => {
  let db: TestDatabase;
  let service: TestService;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    service = await startTestService({ databaseUrl: db.url });
  });
  afterAll(async () => {
    await service?.stop();
    await db?.drop();
  });

  async function vimCount(): Promise<number> {
    return (await service.api('GET', '/v1.0/vims')).json.vims.length;
  }

  it.each([
    'http://169.254.169.254/latest/meta-data',
    'http://[fe80::1]:5000/v3',
    'http://[fd00:ec2::254]/v3',
    'http://100.100.100.200/v3',
    'http://[::ffff:169.254.169.254]/v3',
    'http://0.0.0.0:5000/v3',
  ])('refuses auth_url %s with a 400 and stores nothing', async (authUrl) => {
    const response = await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: `refused ${authUrl}`, auth_url: authUrl }) } });
    expect(response.status, response.text).toBe(400);
    expect(response.json.TackerError).toMatchObject({ type: expect.any(String), message: expect.stringContaining('probe target policy') });
    expect(await vimCount()).toBe(0);
  });

  it('refuses a host name when any of its addresses is refused, without naming the address', async () => {
    SCRIPT.set(`mixed-${dialect}.test`, [['127.0.0.1', '169.254.169.254']]);
    const response = await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'mixed', auth_url: `http://mixed-${dialect}.test:5000` }) } });
    expect(response.status, response.text).toBe(400);
    expect(response.text).toContain('probe target policy');
    expect(response.text).not.toContain('169.254');
    expect(await vimCount()).toBe(0);
  });

  it('refuses an OIDC token URL at a metadata address at creation and at update, changing nothing', async () => {
    const oidc = { oidc_token_url: 'http://169.254.169.254/token', client_id: 'c', username: 'u', password: 'p-not-shown' };
    const created = await service.api('POST', '/v1.0/vims', { body: { vim: kubernetesVim({ name: 'oidc', auth_cred: oidc }) } });
    expect(created.status, created.text).toBe(400);
    expect(await vimCount()).toBe(0);

    const good = await service.api('POST', '/v1.0/vims', { body: { vim: kubernetesVim({ name: 'k8s-good' }) } });
    expect(good.status, good.text).toBe(201);
    const id = good.json.vim.id as string;
    const before = (await service.api('GET', `/v1.0/vims/${id}`)).json.vim;
    const updated = await service.api('PUT', `/v1.0/vims/${id}`, { body: { vim: { auth_cred: oidc } } });
    expect(updated.status, updated.text).toBe(400);
    expect((await service.api('GET', `/v1.0/vims/${id}`)).json.vim).toEqual(before);
    expect((await service.api('DELETE', `/v1.0/vims/${id}`)).status).toBe(204);
  });

  it('accepts a host name that does not resolve at creation (DNS may be down); the probes check it later', async () => {
    const response = await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'no-dns', auth_url: `http://nowhere-${dialect}.test:5000` }) } });
    expect(response.status, response.text).toBe(201);
    expect((await service.api('DELETE', `/v1.0/vims/${response.json.vim.id}`)).status).toBe(204);
  });
});

describe.each(['sqlite', 'postgres'] as const)('configured egress CIDRs, on %s', (dialect) => {
  let db: TestDatabase;
  let service: TestService;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    service = await startTestService({ databaseUrl: db.url, egress: { deny_cidrs: ['198.18.0.0/15', '127.0.0.64/26'], allow_cidrs: ['198.19.7.0/24'] } });
  });
  afterAll(async () => {
    await service?.stop();
    await db?.drop();
  });

  it('refuses literal addresses and names inside a denied CIDR, storing nothing', async () => {
    SCRIPT.set(`lab-${dialect}.test`, [['127.0.0.70']]);
    for (const authUrl of ['http://198.18.0.1:5000', 'http://127.0.0.100:5000', `http://lab-${dialect}.test:5000`]) {
      const response = await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'denied', auth_url: authUrl }) } });
      expect(response.status, `${authUrl}: ${response.text}`).toBe(400);
    }
    expect((await service.api('GET', '/v1.0/vims')).json.vims).toEqual([]);
  });

  it('lets a more specific allow CIDR win over the deny that covers it', async () => {
    const response = await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'allowed', auth_url: 'http://198.19.7.10:5000' }) } });
    expect(response.status, response.text).toBe(201);
  });
});

describe('a VIM whose name resolves to a refused address at probe time', () => {
  let service: TestService;
  let target: Awaited<ReturnType<typeof silentListener>>;

  beforeAll(async () => {
    target = await silentListener('127.0.0.6');
    service = await startTestService({
      egress: { deny_cidrs: ['127.0.0.6/32'] },
      monitoring: { monitor: { probes: ['icmp', 'tcp', 'api', 'auth'], interval: 0.5, timeout: 0.4, failure_threshold: 1, success_threshold: 1 } },
    });
  });
  afterAll(async () => {
    await service?.stop();
    await close(target.server);
  });

  it('is probed by no probe; the monitor view says only that the policy refused it', async () => {
    // Allowed at creation, re-pointed at a denied address afterwards.
    SCRIPT.set('late.test', [['127.0.0.5'], ['127.0.0.6']]);
    const created = await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'late', auth_url: `http://late.test:${target.port}` }) } });
    expect(created.status, created.text).toBe(201);
    const id = created.json.vim.id as string;
    const probes = await waitFor(
      'the monitor to report every probe',
      async () => {
        const view = (await service.api('GET', `/v1.0/vims/${id}/monitor`)).json?.monitor?.probes;
        return view && ['icmp', 'tcp', 'api', 'auth'].every((name) => view[name]) ? view : undefined;
      },
      8_000,
    );
    // HTTP probes add the URL the tenant gave (its name, never the address it resolved to).
    for (const name of ['icmp', 'tcp', 'api', 'auth']) {
      expect(probes[name], name).toMatchObject({ ok: false, reason: expect.stringMatching(/^refused by the probe target policy( \(http:\/\/late\.test:\d+\/v3[^)]*\))?$/) });
    }
    expect(target.connections()).toBe(0);
  });
});

describe('webhook callbacks whose DNS rebinds', () => {
  it('never reach loopback when the name answers an allowed address to the check and 127.0.0.1 to the connection', async () => {
    let hits = 0;
    const receiver = createHttpServer((request, response) => {
      hits += 1;
      request.resume();
      response.writeHead(204).end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const port = (receiver.address() as AddressInfo).port;
    // 198.18.0.1 sits behind a blackhole route: were it connected to, nothing would leave the host.
    SCRIPT.set('rebind.test', [['198.18.0.1'], ['127.0.0.1']]);
    const service = await startTestService({ webhooks: { allow_loopback: false } });
    try {
      const created = await service.api('POST', '/v1.0/subscriptions', { body: { subscription: { callback_url: `http://rebind.test:${port}/hook` } } });
      expect(hits).toBe(0);
      expect(created.status, created.text).toBe(400);
    } finally {
      await service.stop();
      await close(receiver);
    }
  });

  it('deliver each event only to an address checked for that connection', async () => {
    const forbidden = await silentListener('127.0.0.3');
    const posts: string[] = [];
    const hosts = new Set<string | undefined>();
    let gets = 0;
    const allowed = createHttpServer((request, response) => {
      hosts.add(request.headers.host);
      if (request.method === 'GET') gets += 1;
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        if (request.method === 'POST') posts.push(Buffer.concat(chunks).toString('utf8'));
        // A new connection (and so a new lookup) for every delivery.
        response.writeHead(204, { connection: 'close' }).end();
      });
    });
    await new Promise<void>((resolve) => allowed.listen(forbidden.port, '127.0.0.2', resolve));
    const probe = new ScriptedProbe('tcp');
    const service = await startTestService({
      webhooks: { allow_loopback: true },
      egress: { deny_cidrs: ['127.0.0.3/32'] },
      monitoring: { probes: [probe], monitor: { probes: ['tcp'], interval: 0.2, timeout: 0.1, failure_threshold: 1, success_threshold: 1 } },
    });
    try {
      // Creation: the check and the test GET see 127.0.0.2; every lookup after that answers 127.0.0.3.
      SCRIPT.set('hook.test', [['127.0.0.2'], ['127.0.0.2'], ['127.0.0.3']]);
      const created = await service.api('POST', '/v1.0/subscriptions', { body: { subscription: { callback_url: `http://hook.test:${forbidden.port}/hook` } } });
      expect(created.status, created.text).toBe(201);
      expect(gets).toBe(1);
      await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'hooked' }) } });
      await waitFor('a refused delivery', () => (service.logText().includes('ERR_EGRESS_REFUSED') ? true : undefined), 5_000);
      expect(posts).toEqual([]);
      expect(forbidden.connections()).toBe(0);

      // The name points back at the allowed address: the retry delivers there.
      SCRIPT.set('hook.test', [['127.0.0.2']]);
      await waitFor('the delivery', () => (posts.length > 0 ? true : undefined), 5_000);
      expect(forbidden.connections()).toBe(0);
      // Connected to the checked address, but still addressed to the name.
      expect([...hosts]).toEqual([`hook.test:${forbidden.port}`]);
    } finally {
      await service.stop();
      await close(allowed);
      await close(forbidden.server);
    }
  });
});
