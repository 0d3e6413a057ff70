/** ProbeTargets for the probe tests, built the way the service builds them (probes/target.ts). */
import { randomUUID } from 'node:crypto';
import { probeTargetOf } from '../../src/probes/target.js';
import type { ProbeTarget } from '../../src/probes/probe.js';
import { deadline as tickDeadline } from '../../src/time/deadline.js';
import type { AuthCred, VimProject, VimRecord, VimType } from '../../src/vims/model.js';

export function vimRecord(type: VimType, authUrl: string, project: VimProject = { name: 'default' }): VimRecord {
  return {
    id: randomUUID(),
    tenantId: 'tenant',
    name: `vim-${type}`,
    description: '',
    type,
    authUrl,
    sealedAuthCred: {},
    vimProject: project,
    isDefault: false,
    extra: {},
    status: 'PENDING',
    placementAttr: { regions: [] },
    conditions: [],
    health: null,
    capacity: null,
    createdAt: '2026-01-01 00:00:00.000000',
    updatedAt: null,
    revision: 1,
    monitorSettings: null,
  };
}

export function probeTarget(type: VimType, authUrl: string, credentials: AuthCred = {}, project?: VimProject): ProbeTarget {
  return probeTargetOf(vimRecord(type, authUrl, project), credentials);
}

/** A deadline as the monitor gives one: a src/time/deadline.ts signal, which says when it aborts (remainingMs). */
export function deadline(ms: number): AbortSignal {
  return tickDeadline(ms).signal;
}
