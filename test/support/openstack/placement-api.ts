/**
 * Capacity through the real Placement API, as a cloud admin: resource
 * providers, their inventories and allocations (consumers), so a test can
 * create capacity and consume it. Every call is a real request to the
 * Placement started by test/support/openstack-services.ts.
 */
import { randomUUID } from 'node:crypto';

/** Placement 8.0 (Debian bookworm) speaks up to 1.39. */
export const PLACEMENT_MICROVERSION = '1.39';

export type ResourceClass = 'VCPU' | 'MEMORY_MB' | 'DISK_GB';

export interface InventoryItem {
  total: number;
  reserved?: number;
  allocation_ratio?: number;
}

export interface ResourceProvider {
  uuid: string;
  name: string;
}

export interface PlacementAdmin {
  /** Any Placement call with an admin token; throws on a status >= 300 (with Placement's answer). */
  request(method: string, apiPath: string, body?: unknown): Promise<unknown>;
  createResourceProvider(name: string): Promise<ResourceProvider>;
  deleteResourceProvider(uuid: string): Promise<void>;
  /** Replaces the provider's whole inventory. */
  setInventories(uuid: string, inventories: Partial<Record<ResourceClass, InventoryItem>>): Promise<void>;
  /**
   * Creates a consumer (a new UUID unless given) holding `resources` on each
   * provider, for the given project and user ids. Returns the consumer UUID.
   */
  allocate(
    allocations: Record<string, Partial<Record<ResourceClass, number>>>,
    owner: { projectId: string; userId: string },
    consumer?: string,
  ): Promise<string>;
  /** Frees everything the consumer holds. */
  deleteAllocations(consumer: string): Promise<void>;
  /** GET /resource_providers/{uuid}/usages */
  usages(uuid: string): Promise<Record<string, number>>;
}

export function placementAdmin(baseUrl: string, adminToken: (renew: boolean) => Promise<string>): PlacementAdmin {
  const call = async (method: string, apiPath: string, body: unknown, token: string): Promise<Response> =>
    fetch(`${baseUrl}${apiPath}`, {
      method,
      headers: {
        accept: 'application/json',
        'x-auth-token': token,
        'openstack-api-version': `placement ${PLACEMENT_MICROVERSION}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });

  const request = async (method: string, apiPath: string, body?: unknown): Promise<unknown> => {
    let res = await call(method, apiPath, body, await adminToken(false));
    if (res.status === 401) res = await call(method, apiPath, body, await adminToken(true));
    const text = await res.text();
    if (res.status >= 300) throw new Error(`Placement ${method} ${apiPath} answered ${res.status}: ${text}`);
    return text ? (JSON.parse(text) as unknown) : undefined;
  };

  const generation = async (uuid: string): Promise<number> => {
    const rp = await request('GET', `/resource_providers/${uuid}`);
    const g = (rp as { generation?: unknown }).generation;
    if (typeof g !== 'number') throw new Error(`Placement: provider ${uuid} without a generation`);
    return g;
  };

  return {
    request,
    async createResourceProvider(name) {
      const uuid = randomUUID();
      await request('POST', '/resource_providers', { name, uuid });
      return { uuid, name };
    },
    async deleteResourceProvider(uuid) {
      await request('DELETE', `/resource_providers/${uuid}`);
    },
    async setInventories(uuid, inventories) {
      await request('PUT', `/resource_providers/${uuid}/inventories`, {
        resource_provider_generation: await generation(uuid),
        inventories,
      });
    },
    async allocate(allocations, owner, consumer = randomUUID()) {
      const body = {
        allocations: Object.fromEntries(Object.entries(allocations).map(([rp, resources]) => [rp, { resources }])),
        project_id: owner.projectId,
        user_id: owner.userId,
        // a new consumer (microversion >= 1.28), of a type (required from 1.38)
        consumer_generation: null,
        consumer_type: 'INSTANCE',
      };
      await request('PUT', `/allocations/${consumer}`, body);
      return consumer;
    },
    async deleteAllocations(consumer) {
      await request('DELETE', `/allocations/${consumer}`);
    },
    async usages(uuid) {
      const answer = await request('GET', `/resource_providers/${uuid}/usages`);
      return (answer as { usages: Record<string, number> }).usages;
    },
  };
}
