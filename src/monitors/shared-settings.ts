import type { HealthSettings } from '../health/deep-check.js';
import type { MonitorTarget } from './monitor.js';
import type { MonitorSettings } from './settings.js';

/**
 * Equal settings shared by every VIM that has them: one frozen object in
 * place of one copy per VIM. 10,000 VIMs on the global defaults held 10,000
 * copies of the monitor settings and of the health settings (about 350
 * bytes per VIM); the values are read every round and never written.
 *
 * An entry is kept only while some VIM still holds its object (a WeakRef,
 * swept when the object is collected), so settings that change often do not
 * accumulate here.
 */
export class SharedSettings<T extends object> {
  private readonly byKey = new Map<string, WeakRef<T>>();
  private readonly sweep = new FinalizationRegistry<string>((key) => {
    // The key may have been taken again by a newer object meanwhile: only a dead entry goes.
    if (this.byKey.get(key)?.deref() === undefined) this.byKey.delete(key);
  });

  /**
   * The shared object equal to `value`: frozen, arrays and nested objects
   * too. The first of its kind is a copy, so that nothing the caller still
   * holds (a VIM record's override, the configuration) is frozen with it.
   */
  share(value: T): T {
    const key = JSON.stringify(value);
    const known = this.byKey.get(key)?.deref();
    if (known) return known;
    const shared = deepFreeze(structuredClone(value));
    this.byKey.set(key, new WeakRef(shared));
    this.sweep.register(shared, key);
    return shared;
  }

  /** Distinct settings held (tests). */
  get size(): number {
    return this.byKey.size;
  }
}

function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value)) if (typeof inner === 'object' && inner !== null) deepFreeze(inner as object);
  return Object.freeze(value);
}

const monitorSettings = new SharedSettings<MonitorSettings>();
const healthSettings = new SharedSettings<HealthSettings>();

/**
 * The target with its settings replaced by the shared equal ones. Built as a
 * literal: a rest-and-spread copy gave every target a hidden class of its own
 * (~200 bytes per VIM, as much as the sharing saves).
 */
export function withSharedSettings(target: MonitorTarget): MonitorTarget {
  const shared: MonitorTarget = { tenantId: target.tenantId, vimName: target.vimName, target: target.target, settings: monitorSettings.share(target.settings) };
  if (target.health) shared.health = healthSettings.share(target.health);
  return shared;
}
