import type { Schedule } from './schedule.js';

/** Which VIMs a window covers: listed VIMs, every VIM of a tenant, or every VIM (administrators only). */
export type MaintenanceScope = { kind: 'vims'; vimIds: string[] } | { kind: 'tenant'; tenantId: string } | { kind: 'all' };

/** A maintenance window as stored: whose it is, why, which VIMs, when. */
export interface MaintenanceWindow {
  id: string;
  /** The tenant that owns the window (members see and delete their own tenant's windows only). */
  tenantId: string;
  reason: string;
  scope: MaintenanceScope;
  schedule: Schedule;
  /** Tacker format, UTC. */
  createdAt: string;
}

/** Does the window's scope name this VIM? (Not whether it is open now: see schedule.ts.) */
export function covers(window: MaintenanceWindow, vimId: string, tenantId: string): boolean {
  switch (window.scope.kind) {
    case 'all':
      return true;
    case 'tenant':
      return window.scope.tenantId === tenantId;
    case 'vims':
      return window.scope.vimIds.includes(vimId);
  }
}
