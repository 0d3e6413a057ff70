/**
 * Smoke test of the OpenStack services fixture: real Placement, Glance and
 * nova-api (Debian's python3-placement, python3-glance, python3-nova) behind
 * the real Keystone fixture. Missing packages fail the test with their names (never a skip).
 */
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll, onTestFailed } from 'vitest';
import { startKeystone, REGION, type KeystoneFixture } from './keystone.js';
import { assertOpenStackPackages, startOpenStackServices, type OpenStackServices } from './openstack-services.js';

describe('OpenStack services fixture without its Debian packages', () => {
  it('fails with the names of the missing packages instead of skipping', async () => {
    // A stand-in dpkg-query that knows no package: the real one cannot be made to forget them.
    const bin = await mkdtemp(path.join(tmpdir(), 'vim-monitor-no-dpkg-'));
    await writeFile(path.join(bin, 'dpkg-query'), '#!/bin/sh\necho "dpkg-query: no packages found" >&2\nexit 1\n');
    await chmod(path.join(bin, 'dpkg-query'), 0o755);
    const savedPath = process.env.PATH;
    process.env.PATH = bin;
    try {
      expect(() => assertOpenStackPackages(['placement', 'image'])).toThrow(
        /Debian package\(s\) python3-placement, python3-glance not installed.*\.ci\/run/,
      );
    } finally {
      process.env.PATH = savedPath;
      await rm(bin, { recursive: true, force: true });
    }
  });
});

interface CatalogEntry {
  type: string;
  endpoints: Array<{ interface: string; region: string; url: string }>;
}

describe('OpenStack services fixture', () => {
  let k: KeystoneFixture;
  let os: OpenStackServices;

  beforeAll(async () => {
    k = await startKeystone();
    os = await startOpenStackServices(k, { services: ['placement', 'image', 'compute'] });
    console.log(`Placement at ${os.endpoints.placement?.url}, Glance at ${os.endpoints.image?.url}, nova-api at ${os.endpoints.compute?.url}: started in ${os.startupMs} ms`, os.startupPhases);
  });

  afterAll(async () => {
    await os?.close();
    await k?.stop();
  });

  function printLogsOnFailure(): void {
    onTestFailed(async () => {
      console.error(await os.logTail('placement', 40), await os.logTail('image', 40), await os.logTail('compute', 40), await k.logTail(40));
    });
  }

  function endpointUrl(type: 'placement' | 'image' | 'compute'): string {
    const url = os.endpoints[type]?.url;
    if (!url) throw new Error(`no ${type} endpoint`);
    return url;
  }

  async function get(url: string, token: string | undefined): Promise<{ status: number; body: unknown }> {
    const res = await fetch(url, { headers: { accept: 'application/json', ...(token ? { 'x-auth-token': token } : {}) } });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON (an HTML error page)
    }
    return { status: res.status, body };
  }

  it('lists placement, image and compute in the catalog of a normal user, on 127.0.0.1 in RegionOne', async () => {
    printLogsOnFailure();
    const memberToken = await k.issueToken(k.member);
    const { status, body } = await get(`${k.url}/auth/catalog`, memberToken);
    expect(status).toBe(200);
    const catalog = (body as { catalog: CatalogEntry[] }).catalog;
    for (const type of ['placement', 'image', 'compute'] as const) {
      const entry = catalog.find((c) => c.type === type);
      expect(entry, `${type} in the catalog`).toBeDefined();
      expect(entry?.endpoints.map((e) => e.interface).sort()).toEqual(['admin', 'internal', 'public']);
      for (const e of entry?.endpoints ?? []) {
        expect(e.region).toBe(REGION);
        expect(e.url).toBe(endpointUrl(type));
        expect(e.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+(\/v2\.1)?$/);
      }
    }
  });

  it('configures both services to reach nothing but loopback (Keystone), local files and SQLite', async () => {
    for (const type of ['placement', 'image', 'compute'] as const) {
      const dir = os.endpoints[type]?.dir ?? '';
      for (const name of (await readdir(dir)).filter((n) => /\.(conf|ini)$/.test(n))) {
        const text = await readFile(path.join(dir, name), 'utf8');
        for (const [url, scheme, host] of text.matchAll(/\b([a-z][a-z0-9+]*):\/\/([^/\s:]*)/g)) {
          const local = scheme === 'http' ? host === '127.0.0.1' : ['sqlite', 'file'].includes(scheme ?? '') && host === '';
          expect(local, `${name}: ${url}`).toBe(true);
        }
      }
    }
    const glance = await readFile(path.join(os.endpoints.image?.dir ?? '', 'glance-api.conf'), 'utf8');
    expect(glance).toMatch(/^stores = file$/m);
    const nova = await readFile(path.join(os.endpoints.compute?.dir ?? '', 'nova.conf'), 'utf8');
    for (const conf of [glance, nova]) {
      expect(conf).toMatch(/^transport_url = fake:\/$/m);
      expect(conf).toMatch(/^driver = noop$/m);
    }
  });

  it('answers Placement version document and, with a token, its resource providers', async () => {
    printLogsOnFailure();
    const memberToken = await k.issueToken(k.member);
    const root = await get(endpointUrl('placement'), memberToken);
    expect(root.status).toBe(200);
    expect(root.body).toMatchObject({ versions: [{ id: 'v1.0', status: 'CURRENT' }] });
    // Placement's default policy lets only admins list providers; a member is authenticated but refused.
    expect((await get(`${endpointUrl('placement')}/resource_providers`, memberToken)).status).toBe(403);
    expect((await get(`${endpointUrl('placement')}/resource_providers`, 'not-a-token')).status).toBe(401);
    const admin = await get(`${endpointUrl('placement')}/resource_providers`, await k.issueToken(k.admin));
    expect(admin.status).toBe(200);
    expect(admin.body).toMatchObject({ resource_providers: expect.any(Array) });
  });

  it('answers Glance image list to a normal user and refuses a bad token', async () => {
    printLogsOnFailure();
    const images = await get(`${endpointUrl('image')}/v2/images`, await k.issueToken(k.member));
    expect(images.status).toBe(200);
    expect(images.body).toMatchObject({ images: [] });
    expect((await get(`${endpointUrl('image')}/v2/images`, 'not-a-token')).status).toBe(401);
  });

  it('answers nova-api server list, limits and quotas to a normal user (databases only, no RPC)', async () => {
    printLogsOnFailure();
    const token = await k.issueToken(k.member);
    const project = await k.projectId('nfv');
    const servers = await get(`${endpointUrl('compute')}/servers`, token);
    expect(servers.status).toBe(200);
    expect(servers.body).toEqual({ servers: [] });
    const limits = await get(`${endpointUrl('compute')}/limits`, token);
    expect(limits.status).toBe(200);
    expect(limits.body).toMatchObject({ limits: { absolute: { maxTotalCores: expect.any(Number), totalCoresUsed: 0 } } });
    const quotas = await get(`${endpointUrl('compute')}/os-quota-sets/${project}`, token);
    expect(quotas.status).toBe(200);
    expect(quotas.body).toMatchObject({ quota_set: { id: project, cores: expect.any(Number) } });
    expect((await get(`${endpointUrl('compute')}/servers`, 'not-a-token')).status).toBe(401);
  });

  it('refuses connections while Glance is stopped, keeps it in the catalog, and answers again once started', async () => {
    printLogsOnFailure();
    const token = await k.issueToken(k.member);
    await os.stop('image');
    const refused = await fetch(`${endpointUrl('image')}/v2/images`, { headers: { 'x-auth-token': token } }).then(
      () => 'answered',
      (err: unknown) => String((err as { cause?: { code?: string } }).cause?.code),
    );
    expect(refused).toBe('ECONNREFUSED');
    const catalog = (await get(`${k.url}/auth/catalog`, token)).body as { catalog: CatalogEntry[] };
    expect(catalog.catalog.some((c) => c.type === 'image')).toBe(true);
    expect((await get(endpointUrl('placement'), token)).status).toBe(200);

    const restartedAt = Date.now();
    await os.start('image');
    console.log(`Glance restarted in ${Date.now() - restartedAt} ms`);
    expect((await get(`${endpointUrl('image')}/v2/images`, token)).status).toBe(200);
  });

  it('shows the usages of what an allocation consumes from a provider inventory', async () => {
    printLogsOnFailure();
    const placement = os.placement;
    if (!placement) throw new Error('placement helpers missing');
    const rp = await placement.createResourceProvider('compute-1');
    await placement.setInventories(rp.uuid, {
      VCPU: { total: 16, allocation_ratio: 1 },
      MEMORY_MB: { total: 32768, allocation_ratio: 1 },
      DISK_GB: { total: 500, allocation_ratio: 1 },
    });
    expect(await placement.usages(rp.uuid)).toEqual({ VCPU: 0, MEMORY_MB: 0, DISK_GB: 0 });

    const owner = { projectId: await k.projectId('nfv'), userId: await k.userId(k.member.username) };
    const consumer = await placement.allocate({ [rp.uuid]: { VCPU: 6, MEMORY_MB: 8192, DISK_GB: 40 } }, owner);
    expect(await placement.usages(rp.uuid)).toEqual({ VCPU: 6, MEMORY_MB: 8192, DISK_GB: 40 });
    // More than is left is refused by Placement itself.
    await expect(placement.allocate({ [rp.uuid]: { VCPU: 11 } }, owner)).rejects.toThrow(/409/);

    await placement.deleteAllocations(consumer);
    expect(await placement.usages(rp.uuid)).toEqual({ VCPU: 0, MEMORY_MB: 0, DISK_GB: 0 });
    await placement.deleteResourceProvider(rp.uuid);
  });
});
