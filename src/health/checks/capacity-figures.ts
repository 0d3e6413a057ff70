import { tackerTimestamp } from '../../time/clock.js';
import type { CapacityFigures, ConditionResult } from '../condition.js';

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

/** Capacity: a warning when any class's free share is under the ratio; Unknown when nothing was measured. */
export function capacityCondition(figures: CapacityFigures, warningRatio: number): ConditionResult {
  const base = { type: 'Capacity', layer: 'capacity' } as const;
  const entries = Object.entries(figures.resources).filter(([, r]) => r.total > 0);
  if (entries.length === 0) return { ...base, status: 'Unknown', severity: 'info', reason: 'no capacity reported' };
  const shown = entries.map(([cls, r]) => `${cls} ${r.free} of ${r.total} free (${Math.round((r.free / r.total) * 100)}%)`);
  const low = entries.filter(([, r]) => r.free / r.total < warningRatio).map(([cls]) => cls);
  if (low.length > 0) return { ...base, status: 'False', severity: 'warning', reason: `less than ${Math.round(warningRatio * 100)}% free of ${low.join(', ')}: ${shown.join(', ')}` };
  return { ...base, status: 'True', severity: 'info', reason: shown.join(', ') };
}
