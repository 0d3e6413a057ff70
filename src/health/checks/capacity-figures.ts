import { tackerTimestamp } from '../../time/clock.js';
import type { CapacityFigures, ConditionResult, QuotaFigures } from '../condition.js';

/** The resource classes summed from Placement. */
export const PLACEMENT_CLASSES = ['VCPU', 'MEMORY_MB', 'DISK_GB'] as const;

/** Placement's inventory record of one class on one provider (GET /resource_providers/{uuid}/inventories). */
export interface PlacementInventory {
  total: number;
  reserved?: number;
  allocation_ratio?: number;
}

/** One provider's inventories and usages, as Placement returns them. */
export interface ProviderFigures {
  inventories: Record<string, PlacementInventory>;
  usages: Record<string, number>;
}

/**
 * Placement's own arithmetic: what can be allocated of a class on a provider
 * is (total - reserved) * allocation_ratio; summed over providers, minus the
 * usages. A fraction left by an allocation ratio is floored: allocations
 * are whole units.
 */
export function placementCapacity(providers: readonly ProviderFigures[], now: Date): CapacityFigures {
  const resources: CapacityFigures['resources'] = {};
  for (const cls of PLACEMENT_CLASSES) {
    let total = 0;
    let used = 0;
    let present = false;
    for (const { inventories, usages } of providers) {
      const inv = inventories[cls];
      if (inv === undefined) continue;
      present = true;
      total += Math.floor((inv.total - (inv.reserved ?? 0)) * (inv.allocation_ratio ?? 1));
      used += usages[cls] ?? 0;
    }
    if (present) resources[cls] = { total, used, free: Math.max(0, total - used) };
  }
  return { resources, checked_at: tackerTimestamp(now) };
}

/** nova's `limits.absolute` keys of each quota read: [limit, used]. */
const NOVA_QUOTAS = {
  cores: ['maxTotalCores', 'totalCoresUsed'],
  ram: ['maxTotalRAMSize', 'totalRAMUsed'],
  instances: ['maxTotalInstances', 'totalInstancesUsed'],
} as const;

/**
 * The project quotas in nova's GET /limits answer ({limits: {absolute:
 * {maxTotalCores, totalCoresUsed, …}}}); a limit of -1 is unlimited. A quota
 * whose figures are missing or not numbers is left out; undefined when the
 * answer has no absolute limits at all.
 */
export function novaQuotas(body: unknown): Record<string, QuotaFigures> | undefined {
  const absolute = (body as { limits?: { absolute?: unknown } } | null)?.limits?.absolute;
  if (typeof absolute !== 'object' || absolute === null) return undefined;
  const figures = absolute as Record<string, unknown>;
  const quotas: Record<string, QuotaFigures> = {};
  for (const [name, [limitKey, usedKey]] of Object.entries(NOVA_QUOTAS)) {
    const limit = figures[limitKey];
    const used = figures[usedKey];
    if (typeof limit !== 'number' || typeof used !== 'number' || !Number.isFinite(limit) || !Number.isFinite(used)) continue;
    quotas[name] = limit < 0 ? { limit: null, used, free: null } : { limit, used, free: Math.max(0, limit - used) };
  }
  return quotas;
}

/**
 * Capacity: a warning when any class's free share, or any limited quota's,
 * is under the ratio (a quota of 0 is nothing free); Unknown when nothing
 * was measured.
 */
export function capacityCondition(figures: CapacityFigures, warningRatio: number): ConditionResult {
  const base = { type: 'Capacity', layer: 'capacity' } as const;
  const entries = Object.entries(figures.resources).filter(([, r]) => r.total > 0);
  const quotas = Object.entries(figures.quotas ?? {});
  if (entries.length === 0 && quotas.length === 0) return { ...base, status: 'Unknown', severity: 'info', reason: 'no capacity reported' };
  const shown = [
    ...entries.map(([cls, r]) => `${cls} ${r.free} of ${r.total} free (${percent(r.free, r.total)}%)`),
    ...quotas.map(([name, q]) => (q.limit === null ? `quota ${name} unlimited (${q.used} used)` : `quota ${name} ${q.free} of ${q.limit} free (${percent(q.free ?? 0, q.limit)}%)`)),
  ];
  const low = [
    ...entries.filter(([, r]) => r.free / r.total < warningRatio).map(([cls]) => cls),
    ...quotas.filter(([, q]) => q.limit !== null && (q.limit === 0 ? 0 : (q.free ?? 0) / q.limit) < warningRatio).map(([name]) => `quota ${name}`),
  ];
  if (low.length > 0) return { ...base, status: 'False', severity: 'warning', reason: `less than ${Math.round(warningRatio * 100)}% free of ${low.join(', ')}: ${shown.join(', ')}` };
  return { ...base, status: 'True', severity: 'info', reason: shown.join(', ') };
}

function percent(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((part / whole) * 100);
}
