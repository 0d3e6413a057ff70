/**
 * Layered health wired into monitoring, against real OpenStack services:
 * the real Keystone fixture and real Placement, Glance and nova-api (Debian's
 * python3-placement, python3-glance and python3-nova) in its catalog, the real service
 * with its real probe drivers and deep checks. A watched service that stops
 * makes the VIM DEGRADED (status unchanged), a required one UNREACHABLE;
 * Placement's inventories and usages, and nova's project quotas, are the
 * VIM's capacity figures; the `region` setting picks the catalog's endpoints.
 */
import { connect } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { startKeystone, type KeystoneFixture } from '../support/keystone.js';
import { issueServerCertificate, makeCertificateAuthority } from '../support/pki.js';
import { waitFor } from '../support/monitoring.js';
import { startOpenStackServices, type OpenStackServices } from '../support/openstack-services.js';
import { startTestService, type TestService } from '../support/service.js';

const DEEP_INTERVAL = 2;
const FAST = { probes: ['api', 'auth'], interval: 1, timeout: 0.9, failure_threshold: 2, success_threshold: 1, auth_interval: 5 };
/** A change is seen by the next deep run (≤ deep_interval, plus its own deadline) and decided by the following fast rounds. */
const DETECTION_BOUND_MS = (2 * DEEP_INTERVAL + FAST.interval * (FAST.failure_threshold + 1) + 2) * 1000;

interface WireCondition {
  type: string;
  status: string;
  severity: string;
  reason: string;
}

interface WireVim {
  status: string;
  health: string | null;
  conditions: WireCondition[];
  capacity: { resources: Record<string, { total: number; used: number; free: number }>; quotas?: Record<string, { limit: number | null; used: number; free: number | null }> } | null;
}

describe('layered health with real OpenStack services', () => {
  let keystone: KeystoneFixture;
  let os: OpenStackServices;
  let service: TestService;
  let vimId: string;
  const figures: Array<{ change: string; detection_ms: number }> = [];

  beforeAll(async () => {
    keystone = await startKeystone();
    os = await startOpenStackServices(keystone, { services: ['placement', 'image', 'compute'] });
    service = await startTestService({ monitoring: { monitor: { interval: 1, timeout: 0.9 }, manager: { sweep_interval: 1 } } });
  }, 180_000);

  afterAll(async () => {
    console.log(`detection times (bound ${DETECTION_BOUND_MS} ms, deep_interval ${DEEP_INTERVAL} s, interval ${FAST.interval} s):`);
    console.table(figures);
    await service?.stop();
    await os?.close();
    await keystone?.stop();
  });

  function printLogsOnFailure(): void {
    onTestFailed(async () => {
      console.error(await os.logTail('placement', 30), await os.logTail('image', 30));
      console.error(service.logText().split('\n').filter((line) => /"level":(40|50)|conditions changed|status changed/.test(line)).slice(-30).join('\n'));
    });
  }

  async function vim(): Promise<WireVim> {
    return (await service.api('GET', `/v1.0/vims/${vimId}`)).json.vim as WireVim;
  }

  function condition(v: WireVim, type: string): WireCondition | undefined {
    return v.conditions.find((c) => c.type === type);
  }

  /** Waits for `until` and records how long it took from `since`. */
  async function timed(change: string, since: number, until: (v: WireVim) => boolean): Promise<WireVim> {
    const seen = await waitFor(change, async () => {
      const v = await vim();
      return until(v) ? v : undefined;
    }, DETECTION_BOUND_MS + 10_000);
    const detection = Date.now() - since;
    figures.push({ change, detection_ms: detection });
    expect(detection, change).toBeLessThanOrEqual(DETECTION_BOUND_MS);
    return seen;
  }

  async function putHealth(health: Record<string, unknown>): Promise<void> {
    const response = await service.api('PUT', `/v1.0/vims/${vimId}`, { body: { vim: { monitor_settings: { ...FAST, health } } } });
    expect(response.status, response.text).toBe(200);
  }

  it('shows catalog services, credentials and Placement capacity on a VIM with admin credentials', async () => {
    printLogsOnFailure();
    const placement = os.placement;
    if (!placement) throw new Error('placement helpers missing');
    // Inventories and a consumer made through Placement's own API before the VIM is registered.
    const rp = await placement.createResourceProvider('compute-layered');
    await placement.setInventories(rp.uuid, {
      VCPU: { total: 32, allocation_ratio: 1 },
      MEMORY_MB: { total: 65536, allocation_ratio: 1 },
      DISK_GB: { total: 1000, allocation_ratio: 1 },
    });
    const owner = { projectId: await keystone.projectId('nfv'), userId: await keystone.userId(keystone.member.username) };
    await placement.allocate({ [rp.uuid]: { VCPU: 10, MEMORY_MB: 16384, DISK_GB: 100 } }, owner);
    const usages = await placement.usages(rp.uuid);
    expect(usages).toEqual({ VCPU: 10, MEMORY_MB: 16384, DISK_GB: 100 });

    const registeredAt = Date.now();
    const response = await service.api('POST', '/v1.0/vims', {
      body: {
        vim: {
          name: 'layered',
          type: 'openstack',
          auth_url: keystone.url,
          // Placement's default policy lets only admins list resource providers.
          auth_cred: { username: keystone.admin.username, password: keystone.admin.password, user_domain_name: 'Default' },
          vim_project: { name: keystone.admin.project, project_domain_name: 'Default' },
          monitor_settings: { ...FAST, health: { deep_interval: DEEP_INTERVAL } },
        },
      },
    });
    expect(response.status, response.text).toBe(201);
    vimId = response.json.vim.id as string;

    const healthy = await timed('registered: services and capacity known', registeredAt, (v) =>
      v.status === 'REACHABLE' && v.health === 'OK' && condition(v, 'Service:placement')?.status === 'True' && condition(v, 'Service:image')?.status === 'True' && v.capacity !== null,
    );
    expect(condition(healthy, 'Service:identity')).toMatchObject({ status: 'True' });
    expect(condition(healthy, 'CredentialValid')).toMatchObject({ status: 'True', reason: expect.stringMatching(/password does not expire/) });
    expect(condition(healthy, 'Capacity')).toMatchObject({ status: 'True' });
    // What Placement says: inventory (total - reserved) × allocation_ratio, minus usages.
    expect(healthy.capacity?.resources).toEqual({
      VCPU: { total: 32, used: usages.VCPU, free: 32 - (usages.VCPU ?? 0) },
      MEMORY_MB: { total: 65536, used: usages.MEMORY_MB, free: 65536 - (usages.MEMORY_MB ?? 0) },
      DISK_GB: { total: 1000, used: usages.DISK_GB, free: 1000 - (usages.DISK_GB ?? 0) },
    });
    // The project's quotas as nova's own /limits gives them to the VIM's user.
    const limits = await fetch(`${os.endpoints.compute?.url}/limits`, { headers: { accept: 'application/json', 'x-auth-token': await keystone.issueToken(keystone.admin) } });
    const absolute = ((await limits.json()) as { limits: { absolute: Record<string, number> } }).limits.absolute;
    const quota = (limit: number | undefined, used: number | undefined) => (limit === -1 ? { limit: null, used, free: null } : { limit, used, free: (limit ?? 0) - (used ?? 0) });
    expect(healthy.capacity?.quotas).toEqual({
      cores: quota(absolute.maxTotalCores, absolute.totalCoresUsed),
      ram: quota(absolute.maxTotalRAMSize, absolute.totalRAMUsed),
      instances: quota(absolute.maxTotalInstances, absolute.totalInstancesUsed),
    });
    const monitors = (await service.api('GET', '/v1.0/monitors')).json.monitors as Array<{ vim_id: string; conditions: WireCondition[]; capacity: unknown }>;
    const monitor = monitors.find((m) => m.vim_id === vimId);
    expect(monitor?.conditions.find((c) => c.type === 'Service:placement')).toMatchObject({ status: 'True' });
    expect(monitor?.capacity).toEqual(healthy.capacity);
  }, 60_000);

  it('follows Placement when more is consumed', async () => {
    printLogsOnFailure();
    const placement = os.placement!;
    const providers = (await placement.request('GET', '/resource_providers')) as { resource_providers: Array<{ uuid: string }> };
    const uuid = providers.resource_providers[0]!.uuid;
    const owner = { projectId: await keystone.projectId('nfv'), userId: await keystone.userId(keystone.member.username) };
    const consumedAt = Date.now();
    await placement.allocate({ [uuid]: { VCPU: 20, MEMORY_MB: 1024 } }, owner);
    const usages = await placement.usages(uuid);
    const seen = await timed('capacity: 20 more VCPU consumed', consumedAt, (v) => v.capacity?.resources.VCPU?.used === usages.VCPU);
    expect(seen.capacity?.resources.VCPU).toEqual({ total: 32, used: 30, free: 2 });
    expect(seen.capacity?.resources.MEMORY_MB).toEqual({ total: 65536, used: usages.MEMORY_MB, free: 65536 - (usages.MEMORY_MB ?? 0) });
    // 2 of 32 VCPU free is under the 10 % default: a warning, status unchanged.
    const warned = await timed('capacity: under 10% free', consumedAt, (v) => condition(v, 'Capacity')?.status === 'False');
    expect(warned).toMatchObject({ status: 'REACHABLE', health: 'DEGRADED' });
    expect(condition(warned, 'Capacity')).toMatchObject({ severity: 'warning', reason: expect.stringMatching(/VCPU/) });
    await putHealth({ deep_interval: DEEP_INTERVAL, capacity_warning_ratio: 0.05 });
    await timed('capacity: threshold lowered', Date.now(), (v) => condition(v, 'Capacity')?.status === 'True' && v.health === 'OK');
  }, 60_000);

  it('is DEGRADED naming image when the watched Glance stops, status still REACHABLE', async () => {
    printLogsOnFailure();
    const stoppedAt = Date.now();
    await os.stop('image');
    const degraded = await timed('image (watched) stopped: DEGRADED', stoppedAt, (v) => v.health === 'DEGRADED');
    expect(degraded.status).toBe('REACHABLE');
    expect(condition(degraded, 'Service:image')).toMatchObject({ status: 'False', severity: 'warning', reason: expect.stringMatching(/^image: .*refused/i) });
    expect(condition(degraded, 'Service:placement')).toMatchObject({ status: 'True' });
    const events = (await service.api('GET', `/v1.0/events?resource_id=${vimId}&event_type=HEALTH`)).json.events as Array<{ event_details: { reason: string } }>;
    expect(events.at(-1)?.event_details.reason).toMatch(/^services failed: Service:image: image: /);
  }, 60_000);

  it('is UNREACHABLE when image is required and stopped, and clears once Glance is back', async () => {
    printLogsOnFailure();
    const requiredAt = Date.now();
    await putHealth({ deep_interval: DEEP_INTERVAL, capacity_warning_ratio: 0.05, required_services: ['identity', 'image'] });
    const down = await timed('image (required) stopped: UNREACHABLE', requiredAt, (v) => v.status === 'UNREACHABLE');
    expect(down.health).toBe('DOWN');
    expect(condition(down, 'Service:image')).toMatchObject({ status: 'False', severity: 'error' });
    const monitorEvents = (await service.api('GET', `/v1.0/events?resource_id=${vimId}&event_type=MONITOR`)).json.events as Array<{ resource_state: string; event_details: { reason: string } }>;
    expect(monitorEvents.at(-1)).toMatchObject({ resource_state: 'UNREACHABLE', event_details: { reason: expect.stringMatching(/^failed: .*Service:image: image: /) } });

    const startedAt = Date.now();
    await os.start('image');
    // A Glance still starting may time out once (Unknown) before it answers.
    const back = await timed('image started again: conditions clear', startedAt, (v) => v.status === 'REACHABLE' && v.health === 'OK' && condition(v, 'Service:image')?.status === 'True');
    expect(condition(back, 'Service:image')).toMatchObject({ severity: 'info' });
    expect(back.conditions.filter((c) => c.status === 'False')).toEqual([]);
  }, 90_000);

  it("is UNREACHABLE naming the region when its health region is not in the catalog, and back with the catalog's region", async () => {
    printLogsOnFailure();
    const base = { deep_interval: DEEP_INTERVAL, capacity_warning_ratio: 0.05 };
    const changedAt = Date.now();
    await putHealth({ ...base, region: 'RegionThree' });
    // Waits for the region's reason: on a loaded machine a fast probe may time out once, or Keystone reset one connection, and make
    // the VIM UNREACHABLE (identity False) for a reason of its own before the deep run that reads the catalog for the region.
    const down = await timed(
      'region not in the catalog: UNREACHABLE',
      changedAt,
      (v) => v.status === 'UNREACHABLE' && condition(v, 'Service:identity')?.status === 'False' && (condition(v, 'Service:identity')?.reason ?? '').includes("region 'RegionThree'"),
    );
    expect(condition(down, 'Service:identity')).toMatchObject({
      status: 'False',
      severity: 'error',
      reason: "no identity endpoint in region 'RegionThree' (interface public): the catalog has no region 'RegionThree' (its regions: RegionOne)",
    });
    const backAt = Date.now();
    await putHealth({ ...base, region: 'RegionOne' });
    const back = await timed('region RegionOne: REACHABLE', backAt, (v) => v.status === 'REACHABLE' && v.health === 'OK' && condition(v, 'Service:identity')?.status === 'True');
    expect(back.conditions.filter((c) => c.status === 'False')).toEqual([]);
  }, 60_000);
});

describe('expiring certificates and passwords on a monitored VIM', () => {
  let keystone: KeystoneFixture;
  let service: TestService;
  let relay: TlsServer;
  const ca = makeCertificateAuthority('vim-monitor layered-health CA', 365);

  beforeAll(async () => {
    // Every password set in this Keystone expires 3 days later; its tokens carry password_expires_at.
    keystone = await startKeystone({ passwordExpiresDays: 3 });
    // Keystone behind TLS with a certificate that expires in 3 days (issued by a CA of our own, trusted through ssl_ca_cert).
    const now = Date.now();
    const cert = issueServerCertificate(ca, { notBefore: new Date(now - 3_600_000), notAfter: new Date(now + 3 * 86_400_000), names: ['127.0.0.1'] });
    relay = createTlsServer({ cert: cert.cert, key: cert.key }, (socket) => {
      const upstream = connect(keystone.port, '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      const close = () => {
        socket.destroy();
        upstream.destroy();
      };
      socket.on('error', close);
      upstream.on('error', close);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', () => resolve()));
    service = await startTestService({ monitoring: { monitor: { interval: 1, timeout: 0.9 }, manager: { sweep_interval: 1 } } });
  }, 180_000);

  afterAll(async () => {
    await service?.stop();
    await new Promise<void>((resolve) => (relay ? relay.close(() => resolve()) : resolve()));
    await keystone?.stop();
  });

  it('warns about an auth_url certificate and a password that expire in 3 days, status still REACHABLE', async () => {
    const address = relay.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const user = keystone.member;
    const registeredAt = Date.now();
    const response = await service.api('POST', '/v1.0/vims', {
      body: {
        vim: {
          name: 'expiring',
          type: 'openstack',
          auth_url: `https://127.0.0.1:${port}/v3`,
          auth_cred: { username: user.username, password: user.password, user_domain_name: 'Default', ssl_ca_cert: ca.cert },
          vim_project: { name: user.project, project_domain_name: 'Default' },
          monitor_settings: { ...FAST, health: { deep_interval: DEEP_INTERVAL } },
        },
      },
    });
    expect(response.status, response.text).toBe(201);
    const id = response.json.vim.id as string;
    const warned = await waitFor('certificate and password warnings', async () => {
      const v = (await service.api('GET', `/v1.0/vims/${id}`)).json.vim as WireVim;
      const types = v.conditions.filter((c) => c.status === 'False').map((c) => c.type);
      return types.includes('CertificateValid') && types.includes('CredentialValid') ? v : undefined;
    }, 20_000);
    console.log(`certificate and password warnings after ${Date.now() - registeredAt} ms`);
    expect(warned).toMatchObject({ status: 'REACHABLE', health: 'DEGRADED' });
    const byType = (type: string) => warned.conditions.find((c) => c.type === type);
    expect(byType('CertificateValid')).toMatchObject({ severity: 'warning', reason: expect.stringMatching(/expires in 2 days/) });
    expect(byType('CredentialValid')).toMatchObject({ severity: 'warning', reason: expect.stringMatching(/^the user's password expires in 2 days/) });
    expect(byType('Service:identity')).toMatchObject({ status: 'True' });
    expect(JSON.stringify(warned)).not.toContain(user.password);
  }, 60_000);
});
