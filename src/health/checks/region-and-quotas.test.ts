/**
 * The `region` setting and the compute quotas, against real services: the
 * real Keystone fixture with real Placement and nova-api in its catalog
 * (test/support/openstack-services.ts, RegionOne). A second region,
 * RegionTwo, is registered in that real catalog with identity, placement
 * and compute endpoints at a loopback STAND-IN that records every request
 * and answers like a version document (300): no second cloud runs here, and
 * what matters is which endpoints are asked.
 *
 * Usage for the quotas: nova counts cores, ram and instances from the
 * instances of its cell database; nothing can boot a server here (no
 * conductor, scheduler or compute host), so rows are written into the
 * cell's SQLite database as a server would leave them, and nova's own
 * /limits counts them. Quotas are set with nova's real os-quota-sets API.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { REGION, startKeystone, type KeystoneFixture } from '../../../test/support/keystone.js';
import { startOpenStackServices, type OpenStackServices } from '../../../test/support/openstack-services.js';
import { probeTarget } from '../../../test/support/probe-target.js';
import { AgentPool } from '../../probes/http-agents.js';
import { KeystoneAuthenticator } from '../../probes/keystone-auth.js';
import { OidcTokenSource } from '../../probes/oidc-token.js';
import type { HealthSettings } from '../deep-check.js';
import { DEFAULT_HEALTH_SETTINGS } from '../settings.js';
import { CapacityCheck } from './capacity.js';
import { CatalogServiceCheck } from './catalog-services.js';

const REGION_TWO = 'RegionTwo';

describe('region selection and compute quotas with real Placement and nova-api', () => {
  let keystone: KeystoneFixture;
  let os: OpenStackServices;
  let standIn: Server;
  let standInUrl: string;
  const asked: string[] = [];
  const agents = new AgentPool();
  let adminProject: string;

  beforeAll(async () => {
    keystone = await startKeystone();
    os = await startOpenStackServices(keystone, { services: ['placement', 'compute'] });
    adminProject = await keystone.projectId(keystone.admin.project);
    standIn = createServer((req, res) => {
      asked.push(req.url ?? '');
      res.writeHead(300, { 'content-type': 'application/json' }).end(JSON.stringify({ versions: [{ id: 'v1.0', status: 'CURRENT' }] }));
    });
    await new Promise<void>((resolve) => standIn.listen(0, '127.0.0.1', resolve));
    standInUrl = `http://127.0.0.1:${(standIn.address() as { port: number }).port}`;
    await keystone.adminRequest('POST', '/regions', { region: { id: REGION_TWO, description: 'vim-monitor tests: a second region (stand-in)' } });
    for (const [type, urlPath] of [['identity', '/identity/v3'], ['placement', '/placement'], ['compute', '/compute/v2.1']] as const) {
      const services = (await keystone.adminRequest('GET', `/services?type=${type}`)) as { services: Array<{ id: string }> };
      const serviceId = services.services[0]?.id;
      if (!serviceId) throw new Error(`no ${type} service in the catalog`);
      await keystone.adminRequest('POST', '/endpoints', { endpoint: { service_id: serviceId, interface: 'public', region_id: REGION_TWO, url: `${standInUrl}${urlPath}` } });
    }
  }, 180_000);

  afterAll(async () => {
    await agents.close();
    await new Promise((resolve) => (standIn ? standIn.close(resolve) : resolve(undefined)));
    await os?.close();
    await keystone?.stop();
  });

  function printLogsOnFailure(): void {
    onTestFailed(async () => {
      console.error(await os.logTail('compute', 40), await os.logTail('placement', 20));
    });
  }

  // Placement's default policy lets only admins list resource providers: the VIM uses admin credentials, as Tacker's usually does.
  const target = () => probeTarget('openstack', keystone.url, { username: keystone.admin.username, password: keystone.admin.password, user_domain_name: 'Default' }, { name: keystone.admin.project, project_domain_name: 'Default' });
  const settings = (overrides: Partial<HealthSettings>): HealthSettings => ({ ...DEFAULT_HEALTH_SETTINGS, required_services: ['identity'], watched_services: ['placement', 'compute'], ...overrides });
  const checks = () => {
    const catalog = new CatalogServiceCheck({ keystone: new KeystoneAuthenticator({ agents }), agents });
    return { catalog, capacity: new CapacityCheck({ agents, catalog, oidc: new OidcTokenSource(agents) }) };
  };
  const input = (s: HealthSettings) => ({ target: target(), settings: s, signal: AbortSignal.timeout(20_000), now: new Date() });

  async function nova(method: string, apiPath: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${os.endpoints.compute?.url}${apiPath}`, {
      method,
      headers: { accept: 'application/json', 'content-type': 'application/json', 'x-auth-token': await keystone.issueToken(keystone.admin) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`nova ${method} ${apiPath}: HTTP ${response.status} ${text}`);
    return JSON.parse(text) as unknown;
  }

  /** Instances of the admin project in cell1's database, as a booted server leaves them (nova counts usage from these rows). */
  function addInstances(count: number, vcpus: number, memoryMb: number): void {
    const db = path.join(os.endpoints.compute?.dir ?? '', 'nova.db');
    const script = [
      'import sqlite3, sys, uuid',
      'db = sqlite3.connect(sys.argv[1])',
      'for _ in range(int(sys.argv[3])):',
      "    db.execute(\"INSERT INTO instances (uuid, project_id, user_id, vcpus, memory_mb, root_gb, ephemeral_gb, vm_state, deleted, created_at) VALUES (?, ?, 'u', ?, ?, 1, 0, 'active', 0, datetime('now'))\", (str(uuid.uuid4()), sys.argv[2], int(sys.argv[4]), int(sys.argv[5])))",
      'db.commit()',
    ].join('\n');
    const run = spawnSync('/usr/bin/python3', ['-c', script, db, adminProject, String(count), String(vcpus), String(memoryMb)], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`writing instances: ${run.stderr}`);
  }

  it('reports the quotas nova gives for the VIM project, read at the compute endpoint of the region', async () => {
    printLogsOnFailure();
    await nova('PUT', `/os-quota-sets/${adminProject}`, { quota_set: { cores: 40, ram: 65_536, instances: -1 } });
    addInstances(3, 4, 2_048);
    const limits = (await nova('GET', '/limits')) as { limits: { absolute: Record<string, number> } };
    const absolute = limits.limits.absolute;
    expect([absolute.maxTotalCores, absolute.totalCoresUsed, absolute.maxTotalRAMSize, absolute.totalRAMUsed, absolute.maxTotalInstances, absolute.totalInstancesUsed]).toEqual([40, 12, 65_536, 6_144, -1, 3]);

    asked.length = 0;
    const report = await checks().capacity.run(input(settings({ region: REGION })));
    expect(report.capacity?.quotas).toEqual({
      cores: { limit: absolute.maxTotalCores, used: absolute.totalCoresUsed, free: 28 },
      ram: { limit: absolute.maxTotalRAMSize, used: absolute.totalRAMUsed, free: 59_392 },
      instances: { limit: null, used: absolute.totalInstancesUsed, free: null },
    });
    expect(report.conditions).toEqual([{
      type: 'Capacity', layer: 'capacity', status: 'True', severity: 'info',
      reason: 'quota cores 28 of 40 free (70%), quota ram 59392 of 65536 free (91%), quota instances unlimited (3 used)',
    }]);
    // RegionTwo's endpoints were not asked.
    expect(asked).toEqual([]);
  }, 60_000);

  it('warns naming the quota when a limited quota has less free than capacity_warning_ratio', async () => {
    printLogsOnFailure();
    await nova('PUT', `/os-quota-sets/${adminProject}`, { quota_set: { cores: 13 } });
    const report = await checks().capacity.run(input(settings({ region: REGION })));
    expect(report.capacity?.quotas?.cores).toEqual({ limit: 13, used: 12, free: 1 });
    expect(report.conditions[0]).toMatchObject({ status: 'False', severity: 'warning', reason: expect.stringMatching(/^less than 10% free of quota cores: quota cores 1 of 13 free \(8%\), quota ram/) });
    const relaxed = await checks().capacity.run(input(settings({ region: REGION, capacity_warning_ratio: 0.05 })));
    expect(relaxed.conditions[0]).toMatchObject({ status: 'True', severity: 'info' });
  }, 60_000);

  it('adds the quotas to the Placement figures when Placement has providers', async () => {
    printLogsOnFailure();
    const placement = os.placement!;
    const rp = await placement.createResourceProvider('compute-quotas');
    await placement.setInventories(rp.uuid, { VCPU: { total: 16, allocation_ratio: 1 }, MEMORY_MB: { total: 32_768, allocation_ratio: 1 }, DISK_GB: { total: 500, allocation_ratio: 1 } });
    const report = await checks().capacity.run(input(settings({ region: REGION })));
    expect(report.capacity?.resources).toEqual({ VCPU: { total: 16, used: 0, free: 16 }, MEMORY_MB: { total: 32_768, used: 0, free: 32_768 }, DISK_GB: { total: 500, used: 0, free: 500 } });
    expect(report.capacity?.quotas?.cores).toEqual({ limit: 13, used: 12, free: 1 });
    expect(report.conditions[0]?.reason).toMatch(/^less than 10% free of quota cores: VCPU 16 of 16 free \(100%\), .*quota cores 1 of 13 free/);
  }, 60_000);

  it('reports the quotas of a member VIM that Placement refuses, saying what was not measured', async () => {
    printLogsOnFailure();
    const member = probeTarget('openstack', keystone.url, { username: keystone.member.username, password: keystone.member.password, user_domain_name: 'Default' }, { name: keystone.member.project, project_domain_name: 'Default' });
    const memberProject = await keystone.projectId(keystone.member.project);
    const quotaSet = ((await nova('GET', `/os-quota-sets/${memberProject}`)) as { quota_set: Record<string, number> }).quota_set;
    const report = await checks().capacity.run({ ...input(settings({ region: REGION })), target: member });
    expect(report.capacity?.resources).toEqual({});
    expect(report.capacity?.quotas).toEqual({
      cores: { limit: quotaSet.cores, used: 0, free: quotaSet.cores },
      ram: { limit: quotaSet.ram, used: 0, free: quotaSet.ram },
      instances: { limit: quotaSet.instances, used: 0, free: quotaSet.instances },
    });
    expect(report.conditions[0]).toMatchObject({
      status: 'True',
      reason: `quota cores ${quotaSet.cores} of ${quotaSet.cores} free (100%), quota ram ${quotaSet.ram} of ${quotaSet.ram} free (100%), quota instances ${quotaSet.instances} of ${quotaSet.instances} free (100%) (not measured: placement: HTTP 403 from ${os.endpoints.placement?.url}/resource_providers)`,
    });
  }, 60_000);

  it("checks and measures only the selected region's endpoints", async () => {
    printLogsOnFailure();
    const { catalog, capacity } = checks();
    asked.length = 0;
    const services = await catalog.run(input(settings({ region: REGION_TWO })));
    expect(services.conditions).toEqual([
      { type: 'Service:compute', layer: 'services', status: 'True', severity: 'info', reason: `HTTP 300 from ${standInUrl}/compute/v2.1` },
      { type: 'Service:identity', layer: 'services', status: 'True', severity: 'info', reason: `HTTP 300 from ${standInUrl}/identity/v3` },
      { type: 'Service:placement', layer: 'services', status: 'True', severity: 'info', reason: `HTTP 300 from ${standInUrl}/placement` },
    ]);
    const measured = await capacity.run(input(settings({ region: REGION_TWO })));
    expect(measured.capacity).toBeUndefined();
    expect(measured.conditions[0]).toMatchObject({ status: 'Unknown', reason: `capacity not measured: placement: HTTP 300 from ${standInUrl}/placement/resource_providers; compute quotas: HTTP 300 from ${standInUrl}/compute/v2.1/limits` });
    expect(asked.sort()).toEqual(['/compute/v2.1', '/compute/v2.1/limits', '/identity/v3', '/placement', '/placement/resource_providers']);

    // RegionOne: the real services, and the stand-in is not asked.
    asked.length = 0;
    const one = await catalog.run(input(settings({ region: REGION })));
    expect(one.conditions.map((c) => [c.type, c.status, c.reason.includes(standInUrl)])).toEqual([
      ['Service:compute', 'True', false],
      ['Service:identity', 'True', false],
      ['Service:placement', 'True', false],
    ]);
    expect(asked).toEqual([]);

    // No region set: every region's endpoints are checked.
    const every = await catalog.run(input(settings({ region: null })));
    expect(every.conditions.find((c) => c.type === 'Service:identity')?.reason).toMatch(new RegExp(`HTTP 200 from ${keystone.url}.*; HTTP 300 from ${standInUrl}/identity/v3|HTTP 300 from ${standInUrl}/identity/v3; HTTP 200 from ${keystone.url}`));
  }, 60_000);

  it('fails the required services, and the watched ones in the catalog, naming a region the catalog does not have', async () => {
    printLogsOnFailure();
    const { catalog, capacity } = checks();
    asked.length = 0;
    const report = await catalog.run(input(settings({ region: 'RegionThree', watched_services: ['placement', 'compute', 'volumev3'] })));
    const missing = (type: string) => `no ${type} endpoint in region 'RegionThree' (interface public): the catalog has no region 'RegionThree' (its regions: RegionOne, RegionTwo)`;
    expect(report.conditions).toEqual([
      { type: 'Service:compute', layer: 'services', status: 'False', severity: 'warning', reason: missing('compute') },
      { type: 'Service:identity', layer: 'services', status: 'False', severity: 'error', reason: missing('identity') },
      { type: 'Service:placement', layer: 'services', status: 'False', severity: 'warning', reason: missing('placement') },
    ]);
    const measured = await capacity.run(input(settings({ region: 'RegionThree' })));
    expect(measured.conditions[0]).toMatchObject({ status: 'Unknown', reason: `capacity not measured: placement: ${missing('placement')}` });
    expect(asked).toEqual([]);

    // A region the catalog has, without the type: the required service fails, naming the region; nothing else is said about the region.
    const partial = await catalog.run(input(settings({ region: REGION_TWO, required_services: ['identity', 'image'] })));
    expect(partial.conditions.find((c) => c.type === 'Service:image')).toEqual({ type: 'Service:image', layer: 'services', status: 'False', severity: 'error', reason: "no image endpoint in region 'RegionTwo' (interface public)" });
  }, 60_000);
});

