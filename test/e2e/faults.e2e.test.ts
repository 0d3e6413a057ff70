/**
 * Targets really go away and come back, and the status follows within
 * interval × failure_threshold + timeout + 1 s, with the right reason:
 * - a host that stops answering ICMP (a veth link in a namespace of our own),
 * - a TCP port that closes,
 * - an identity API that starts answering 500,
 * - credentials revoked in a real Keystone (the VIM user's password changed).
 * Real service, real probe drivers, real fping, real Keystone.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKeystone, type KeystoneFixture, type KeystoneUser } from '../support/keystone.js';
import { waitFor } from '../support/monitoring.js';
import { startTestHost, type TestHost } from '../support/net-targets.js';
import { startTestService, type TestService } from '../support/service.js';
import { TcpTarget } from '../support/tcp-target.js';

const SETTINGS = { interval: 1, timeout: 0.5, failure_threshold: 2, success_threshold: 2 };
const DETECTION_BOUND_MS = (SETTINGS.interval * SETTINGS.failure_threshold + SETTINGS.timeout + 1) * 1000;
const RECOVERY_BOUND_MS = (SETTINGS.interval * SETTINGS.success_threshold + SETTINGS.timeout + 1) * 1000;

/** An identity endpoint of our own that answers like Keystone, or with 500 when told to. */
class FlakyIdentity {
  failing = false;
  private server: Server | undefined;
  port = 0;
  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      if (this.failing) {
        response.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"internal"}');
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ version: { id: 'v3.14', status: 'stable' } }));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', () => resolve()));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

describe('faults the monitors must follow', () => {
  let service: TestService;
  let keystone: KeystoneFixture;
  let vimUser: KeystoneUser;
  let host: TestHost;
  const tcp = new TcpTarget();
  const identity = new FlakyIdentity();
  const figures: Array<{ fault: string; detection_ms: number; recovery_ms: number }> = [];

  beforeAll(async () => {
    keystone = await startKeystone();
    vimUser = await keystone.createUser('vim-user', 'nfv', ['member']);
    host = startTestHost();
    await tcp.up();
    await identity.start();
    service = await startTestService({ monitoring: { monitor: { ...SETTINGS, auth_interval: 60 }, manager: { sweep_interval: 1 } } });
  }, 120_000);

  afterAll(async () => {
    console.log('detection and recovery times (bound %d / %d ms):', DETECTION_BOUND_MS, RECOVERY_BOUND_MS);
    console.table(figures);
    await service?.stop();
    await keystone?.stop();
    host?.close();
    await tcp.down();
    await identity.stop();
  });

  async function register(
    name: string,
    authUrl: string,
    probes: string[],
    authCred: Record<string, string> = { username: 'u', password: 'p' },
    settings: Record<string, number> = {},
  ) {
    const response = await service.api('POST', '/v1.0/vims', {
      body: {
        vim: {
          name,
          type: 'openstack',
          auth_url: authUrl,
          auth_cred: authCred,
          vim_project: { name: 'nfv', project_domain_name: 'Default' },
          monitor_settings: { probes, ...settings },
        },
      },
    });
    expect(response.status, response.text).toBe(201);
    const id = response.json.vim.id as string;
    await waitFor(`${name} REACHABLE`, async () => ((await statusOf(id)) === 'REACHABLE' ? true : undefined), 10_000);
    return id;
  }

  async function statusOf(id: string): Promise<string> {
    return (await service.api('GET', `/v1.0/vims/${id}`)).json.vim.status as string;
  }

  /** Injects a fault, times the way to UNREACHABLE and back, and checks the reason the event gives. */
  async function follow(fault: string, id: string, breakIt: () => Promise<void> | void, mendIt: () => Promise<void> | void, reason: RegExp) {
    const brokenAt = Date.now();
    await breakIt();
    await waitFor(`${fault}: UNREACHABLE`, async () => ((await statusOf(id)) === 'UNREACHABLE' ? true : undefined), DETECTION_BOUND_MS + 5_000);
    const detection = Date.now() - brokenAt;
    const mendedAt = Date.now();
    await mendIt();
    await waitFor(`${fault}: REACHABLE`, async () => ((await statusOf(id)) === 'REACHABLE' ? true : undefined), RECOVERY_BOUND_MS + 5_000);
    const recovery = Date.now() - mendedAt;
    figures.push({ fault, detection_ms: detection, recovery_ms: recovery });
    const events = (await service.api('GET', `/v1.0/events?resource_id=${id}&event_type=MONITOR`)).json.events as Array<{ resource_state: string; event_details: { reason: string } }>;
    expect(events.map((e) => e.resource_state)).toEqual(['REACHABLE', 'UNREACHABLE', 'REACHABLE']);
    expect(events[1]?.event_details.reason).toMatch(reason);
    expect(detection).toBeLessThanOrEqual(DETECTION_BOUND_MS);
    expect(recovery).toBeLessThanOrEqual(RECOVERY_BOUND_MS);
  }

  it('notices a host that stops answering ICMP and its return', async () => {
    const id = await register('icmp-host', `http://${host.ipv4}:5000`, ['icmp']);
    await follow('icmp: host gone', id, () => host.down(), () => host.up(), /^failed: icmp: no ICMP echo reply from /);
  });

  it('notices a TCP port that closes and reopens', async () => {
    const id = await register('tcp-port', `http://127.0.0.1:${tcp.port}`, ['tcp']);
    await follow('tcp: port closed', id, () => tcp.down(), () => tcp.up().then(() => undefined), /^failed: tcp: .*refused/i);
  });

  it('notices an identity API that answers 500 and recovers', async () => {
    const id = await register('api-500', `http://127.0.0.1:${identity.port}/identity`, ['api']);
    await follow('api: HTTP 500', id, () => void (identity.failing = true), () => void (identity.failing = false), /^failed: api: .*500/);
  });

  it('notices credentials revoked in Keystone and restored, and fills placement from Keystone regions', async () => {
    // The detection bound holds for credentials when they are checked every round (auth_interval = interval);
    // with a longer auth_interval a revocation is seen within that interval instead.
    const id = await register(
      'keystone-auth',
      keystone.url,
      ['api', 'auth'],
      { username: vimUser.username, password: vimUser.password, user_domain_name: 'Default' },
      { auth_interval: SETTINGS.interval },
    );
    const placement = await waitFor('regions', async () => {
      const regions = (await service.api('GET', `/v1.0/vims/${id}`)).json.vim.placement_attr.regions as string[];
      return regions.length > 0 ? regions : undefined;
    });
    expect(placement).toEqual(['RegionOne']);
    const original = vimUser.password;
    await follow(
      'auth: password changed',
      id,
      async () => {
        await keystone.changePassword(vimUser, 'a-completely-new-password');
      },
      async () => {
        await keystone.changePassword(vimUser, original);
      },
      /^failed: auth: .*401/,
    );
  });
});
