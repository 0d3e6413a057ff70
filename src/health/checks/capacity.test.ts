/**
 * Capacity, NodesReady and NamespaceExists.
 *
 * OpenStack: Placement is a loopback STAND-IN registered in the real
 * Keystone fixture's catalog, answering with JSON recorded from the Placement
 * API reference (the real-services fixture, test/support/openstack-services.ts,
 * was not on main when this was written; region-and-quotas.test.ts uses it
 * for the quotas and the region). Kubernetes: the fake API server
 * (test/support/kubernetes-api.ts), a STAND-IN because no kube-apiserver can
 * run here.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REGION, startKeystone, type KeystoneFixture } from '../../../test/support/keystone.js';
import { startFakeKubeApi, type FakeKubeApi } from '../../../test/support/kubernetes-api.js';
import { probeTarget } from '../../../test/support/probe-target.js';
import { AgentPool } from '../../probes/http-agents.js';
import { KeystoneAuthenticator } from '../../probes/keystone-auth.js';
import { OidcTokenSource } from '../../probes/oidc-token.js';
import type { HealthSettings } from '../deep-check.js';
import { capacityCondition, novaQuotas, placementCapacity } from './capacity-figures.js';
import { CapacityCheck } from './capacity.js';
import { CatalogServiceCheck } from './catalog-services.js';
import { parseQuantity } from './kubernetes-capacity.js';

const settings: HealthSettings = {
  deep_interval: 60,
  required_services: ['identity'],
  watched_services: ['placement'],
  endpoint_interface: 'public',
  expiry_warning_days: 14,
  capacity_warning_ratio: 0.1,
  nodes_ready_warning_ratio: 1,
};
const now = new Date('2026-11-30T02:00:00.000Z');

/** GET /resource_providers/{uuid}/inventories and /usages as the Placement API reference records them. */
const COMPUTE_1 = {
  inventories: {
    DISK_GB: { allocation_ratio: 1.0, max_unit: 35, min_unit: 1, reserved: 0, step_size: 1, total: 35 },
    MEMORY_MB: { allocation_ratio: 1.5, max_unit: 5825, min_unit: 1, reserved: 512, step_size: 1, total: 5825 },
    VCPU: { allocation_ratio: 16.0, max_unit: 4, min_unit: 1, reserved: 0, step_size: 1, total: 4 },
  },
  resource_provider_generation: 7,
};
const COMPUTE_1_USAGES = { resource_provider_generation: 7, usages: { DISK_GB: 1, MEMORY_MB: 512, VCPU: 1 } };
const COMPUTE_2 = {
  inventories: {
    DISK_GB: { allocation_ratio: 1.0, max_unit: 100, min_unit: 1, reserved: 10, step_size: 1, total: 100 },
    MEMORY_MB: { allocation_ratio: 1.0, max_unit: 8192, min_unit: 1, reserved: 0, step_size: 1, total: 8192 },
    VCPU: { allocation_ratio: 4.0, max_unit: 8, min_unit: 1, reserved: 2, step_size: 1, total: 8 },
  },
  resource_provider_generation: 3,
};
const COMPUTE_2_USAGES = { resource_provider_generation: 3, usages: { DISK_GB: 80, MEMORY_MB: 7000, VCPU: 23 } };
const UUID_1 = '7d2590ae-fb85-4080-9306-058b4c915e3f';
const UUID_2 = 'b2d7d0f4-b4f0-4a5e-8b9a-5b8c1f0c3a11';
const link = (uuid: string) => [{ href: `/resource_providers/${uuid}`, rel: 'self' }];

describe('placementCapacity', () => {
  it('sums (total - reserved) * allocation_ratio minus usages per class over the providers', () => {
    expect(placementCapacity([
      { inventories: COMPUTE_1.inventories, usages: COMPUTE_1_USAGES.usages },
      { inventories: COMPUTE_2.inventories, usages: COMPUTE_2_USAGES.usages },
    ], now)).toEqual({
      resources: {
        // 4*16 + (8-2)*4 = 88; 1 + 23 used
        VCPU: { total: 88, used: 24, free: 64 },
        // (5825-512)*1.5 = 7969.5 → 7969; + 8192 = 16161; 512 + 7000 used
        MEMORY_MB: { total: 16161, used: 7512, free: 8649 },
        // 35 + 90 = 125; 1 + 80 used
        DISK_GB: { total: 125, used: 81, free: 44 },
      },
      checked_at: '2026-11-30 02:00:00.000000',
    });
  });
});

/** GET /v2.1/limits as the Compute API reference records it (microversion 2.1). */
const NOVA_LIMITS = {
  limits: {
    absolute: {
      maxImageMeta: 128, maxPersonality: 5, maxPersonalitySize: 10240, maxSecurityGroupRules: 20, maxSecurityGroups: 10, maxServerMeta: 128,
      maxTotalCores: 20, maxTotalFloatingIps: 10, maxTotalInstances: 10, maxTotalKeypairs: 100, maxTotalRAMSize: 51200, maxServerGroups: 10, maxServerGroupMembers: 10,
      totalCoresUsed: 19, totalInstancesUsed: 4, totalRAMUsed: 2048, totalSecurityGroupsUsed: 0, totalFloatingIpsUsed: 0, totalServerGroupsUsed: 0,
    },
    rate: [],
  },
};

describe('novaQuotas', () => {
  it('reads cores, ram and instances from the absolute limits, with what is free', () => {
    expect(novaQuotas(NOVA_LIMITS)).toEqual({
      cores: { limit: 20, used: 19, free: 1 },
      ram: { limit: 51200, used: 2048, free: 49152 },
      instances: { limit: 10, used: 4, free: 6 },
    });
  });

  it('reads -1 as unlimited, never shows a negative free, and leaves out what is missing or not a number', () => {
    const absolute = { maxTotalCores: -1, totalCoresUsed: 7, maxTotalRAMSize: 1024, totalRAMUsed: 4096, maxTotalInstances: '10', totalInstancesUsed: 1 };
    expect(novaQuotas({ limits: { absolute } })).toEqual({ cores: { limit: null, used: 7, free: null }, ram: { limit: 1024, used: 4096, free: 0 } });
  });

  it('is undefined for an answer without absolute limits', () => {
    expect([novaQuotas({}), novaQuotas(null), novaQuotas({ limits: { absolute: 3 } }), novaQuotas('x')]).toEqual([undefined, undefined, undefined, undefined]);
  });
});

describe('capacityCondition', () => {
  const quotas = novaQuotas(NOVA_LIMITS)!;

  it('warns naming a limited quota with less free than the ratio; an unlimited one never warns', () => {
    expect(capacityCondition({ resources: {}, quotas, checked_at: '' }, 0.1)).toEqual({
      type: 'Capacity', layer: 'capacity', status: 'False', severity: 'warning',
      reason: 'less than 10% free of quota cores: quota cores 1 of 20 free (5%), quota ram 49152 of 51200 free (96%), quota instances 6 of 10 free (60%)',
    });
    expect(capacityCondition({ resources: {}, quotas: { cores: { limit: null, used: 500, free: null } }, checked_at: '' }, 0.1)).toMatchObject({ status: 'True', reason: 'quota cores unlimited (500 used)' });
  });

  it('judges Placement classes and quotas together, and a quota of 0 as nothing free', () => {
    const figures = { resources: { VCPU: { total: 100, used: 95, free: 5 } }, quotas: { instances: { limit: 0, used: 0, free: 0 } }, checked_at: '' };
    expect(capacityCondition(figures, 0.1).reason).toBe('less than 10% free of VCPU, quota instances: VCPU 5 of 100 free (5%), quota instances 0 of 0 free (0%)');
    expect(capacityCondition(figures, 0)).toMatchObject({ status: 'True' });
  });

  it('reads figures stored before quotas were measured (no quotas key) as before', () => {
    expect(capacityCondition({ resources: { VCPU: { total: 10, used: 1, free: 9 } }, checked_at: '' }, 0.1)).toMatchObject({ status: 'True', reason: 'VCPU 9 of 10 free (90%)' });
    expect(capacityCondition({ resources: {}, checked_at: '' }, 0.1)).toMatchObject({ status: 'Unknown', reason: 'no capacity reported' });
  });
});

describe('parseQuantity', () => {
  it('reads Kubernetes quantities', () => {
    expect([parseQuantity('3800m'), parseQuantity('4'), parseQuantity('16Gi'), parseQuantity('129e6'), parseQuantity('1G'), parseQuantity('0.5'), parseQuantity('x')]).toEqual([
      3.8, 4, 17_179_869_184, 129_000_000, 1_000_000_000, 0.5, undefined,
    ]);
  });
});

describe('CapacityCheck on OpenStack (Placement stand-in in the real Keystone catalog)', () => {
  let keystone: KeystoneFixture;
  let placement: Server;
  let placementUrl: string;
  const seen: IncomingHttpHeaders[] = [];
  let usages2: Record<string, number> = COMPUTE_2_USAGES.usages;
  const agents = new AgentPool();

  beforeAll(async () => {
    keystone = await startKeystone();
    placement = createServer((req, res) => {
      seen.push(req.headers);
      const json = (body: unknown) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.headers['x-auth-token'] === undefined) return void res.writeHead(401).end();
      const path = req.url ?? '';
      if (path === '/placement/resource_providers') {
        return json({ resource_providers: [UUID_1, UUID_2].map((uuid, i) => ({ generation: 1, uuid, links: link(uuid), name: `compute-${i + 1}`, parent_provider_uuid: null, root_provider_uuid: uuid })) });
      }
      if (path === `/placement/resource_providers/${UUID_1}/inventories`) return json(COMPUTE_1);
      if (path === `/placement/resource_providers/${UUID_1}/usages`) return json(COMPUTE_1_USAGES);
      if (path === `/placement/resource_providers/${UUID_2}/inventories`) return json(COMPUTE_2);
      if (path === `/placement/resource_providers/${UUID_2}/usages`) return json({ resource_provider_generation: 3, usages: usages2 });
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => placement.listen(0, '127.0.0.1', resolve));
    placementUrl = `http://127.0.0.1:${(placement.address() as { port: number }).port}/placement`;
    const created = (await keystone.adminRequest('POST', '/services', { service: { type: 'placement', name: 'placement-stand-in' } })) as { service: { id: string } };
    await keystone.adminRequest('POST', '/endpoints', { endpoint: { service_id: created.service.id, interface: 'public', region_id: REGION, url: placementUrl } });
  }, 120_000);
  afterAll(async () => {
    await agents.close();
    await new Promise((resolve) => placement?.close(resolve));
    await keystone?.stop();
  });

  const check = () => {
    const keystoneAuth = new KeystoneAuthenticator({ agents });
    return new CapacityCheck({ agents, catalog: new CatalogServiceCheck({ keystone: keystoneAuth, agents }), oidc: new OidcTokenSource(agents) });
  };
  const target = () => probeTarget('openstack', keystone.url, { username: keystone.member.username, password: keystone.member.password, user_domain_name: 'Default' }, { name: keystone.member.project, project_domain_name: 'Default' });

  it('reports the figures Placement gives, read with the token at the catalog endpoint', async () => {
    const report = await check().run({ target: target(), settings, signal: AbortSignal.timeout(10_000), now });
    expect(report.capacity?.resources).toEqual({ VCPU: { total: 88, used: 24, free: 64 }, MEMORY_MB: { total: 16161, used: 7512, free: 8649 }, DISK_GB: { total: 125, used: 81, free: 44 } });
    expect(report.conditions).toEqual([{ type: 'Capacity', layer: 'capacity', status: 'True', severity: 'info', reason: 'VCPU 64 of 88 free (73%), MEMORY_MB 8649 of 16161 free (54%), DISK_GB 44 of 125 free (35%)' }]);
    expect(seen.at(-1)?.['openstack-api-version']).toBe('placement 1.0');
  });

  it('warns when a class has less free than capacity_warning_ratio', async () => {
    usages2 = { ...COMPUTE_2_USAGES.usages, DISK_GB: 115 };
    try {
      const report = await check().run({ target: target(), settings, signal: AbortSignal.timeout(10_000), now });
      expect(report.conditions[0]).toMatchObject({ status: 'False', severity: 'warning', reason: expect.stringMatching(/^less than 10% free of DISK_GB: .*DISK_GB 9 of 125 free \(7%\)/) });
      const tight = await check().run({ target: target(), settings: { ...settings, capacity_warning_ratio: 0.3 }, signal: AbortSignal.timeout(10_000), now });
      expect(tight.conditions[0]).toMatchObject({ status: 'False', severity: 'warning', reason: expect.stringMatching(/^less than 30% free of DISK_GB: VCPU/) });
    } finally {
      usages2 = COMPUTE_2_USAGES.usages;
    }
  });
});

describe('CapacityCheck on Kubernetes (fake API server: a stand-in)', () => {
  let kube: FakeKubeApi;
  const agents = new AgentPool();
  const TOKEN = 'kube-capacity-token-5eb3';

  beforeAll(async () => {
    kube = await startFakeKubeApi({
      bearerToken: TOKEN,
      namespaces: ['default', 'nfv'],
      nodes: [
        { name: 'node-a', ready: true, allocatable: { cpu: '3800m', memory: '16Gi' } },
        { name: 'node-b', ready: true, allocatable: { cpu: '4', memory: '8Gi' } },
        { name: 'node-c', ready: false, allocatable: { cpu: '4', memory: '8Gi' } },
      ],
      pods: [
        { name: 'web', namespace: 'nfv', nodeName: 'node-a', phase: 'Running', containers: [{ cpu: '500m', memory: '512Mi' }, { cpu: '250m', memory: '256Mi' }] },
        // The init container's request is larger than the sum of the containers: it is what the scheduler reserves.
        { name: 'db', namespace: 'nfv', nodeName: 'node-b', phase: 'Running', containers: [{ cpu: '1', memory: '1Gi' }], initContainers: [{ cpu: '2', memory: '512Mi' }] },
        { name: 'done', namespace: 'nfv', nodeName: 'node-b', phase: 'Succeeded', containers: [{ cpu: '4', memory: '4Gi' }] },
        { name: 'waiting', namespace: 'nfv', phase: 'Pending', containers: [{ cpu: '4', memory: '4Gi' }] },
        { name: 'stranded', namespace: 'nfv', nodeName: 'node-c', phase: 'Running', containers: [{ cpu: '1', memory: '1Gi' }] },
      ],
    });
  });
  afterAll(async () => {
    await agents.close();
    await kube?.stop();
  });

  const run = (project = 'nfv', s: HealthSettings = settings) =>
    new CapacityCheck({ agents, oidc: new OidcTokenSource(agents) }).run({
      target: probeTarget('kubernetes', kube.url, { ssl_ca_cert: kube.ca, bearer_token: TOKEN }, { name: project }),
      settings: s,
      signal: AbortSignal.timeout(5_000),
      now,
    });

  it('reports Ready nodes, allocatable minus the requests of scheduled live pods, and the namespace', async () => {
    const report = await run();
    expect(report.capacity).toEqual({
      resources: {
        // 3.8 + 4 cores on the Ready nodes; 0.75 (web) + 2 (db's init container)
        cpu: { total: 7.8, used: 2.75, free: 5.05 },
        // 16 GiB + 8 GiB; 768 MiB + 1 GiB
        memory: { total: 24_576, used: 1_792, free: 22_784 },
      },
      checked_at: '2026-11-30 02:00:00.000000',
    });
    expect(report.conditions).toEqual([
      { type: 'NodesReady', layer: 'capacity', status: 'False', severity: 'warning', reason: '2 of 3 nodes Ready (not Ready: node-c)' },
      { type: 'Capacity', layer: 'capacity', status: 'True', severity: 'info', reason: 'cpu 5.05 of 7.8 free (65%), memory 22784 of 24576 free (93%)' },
      { type: 'NamespaceExists', layer: 'capacity', status: 'True', severity: 'info', reason: 'namespace nfv exists' },
    ]);
    expect(kube.requests.some((r) => r.path === '/api/v1/pods' && r.user === 'token-user')).toBe(true);
  });

  it('passes NodesReady under a lower threshold and fails a missing namespace', async () => {
    const report = await run('gone', { ...settings, nodes_ready_warning_ratio: 0.5 });
    expect(report.conditions.find((c) => c.type === 'NodesReady')).toMatchObject({ status: 'True' });
    expect(report.conditions.find((c) => c.type === 'NamespaceExists')).toEqual({ type: 'NamespaceExists', layer: 'capacity', status: 'False', severity: 'error', reason: 'namespace gone does not exist' });
  });

  it('reports Unknown, without the token, when the API server refuses the credentials', async () => {
    const report = await new CapacityCheck({ agents, oidc: new OidcTokenSource(agents) }).run({
      target: probeTarget('kubernetes', kube.url, { ssl_ca_cert: kube.ca, bearer_token: 'wrong-token-9f' }, { name: 'nfv' }),
      settings,
      signal: AbortSignal.timeout(5_000),
      now,
    });
    expect(report.conditions.map((c) => [c.type, c.status])).toEqual([['NodesReady', 'Unknown'], ['NamespaceExists', 'Unknown']]);
    expect(JSON.stringify(report)).not.toContain('wrong-token-9f');
  });
});
