import { describe, expect, it } from 'vitest';
import { buildNotification, osloEnvelope } from '../events/sinks/oslo-envelope.js';
import { eventToWire, toVimEvent } from '../events/wire.js';
import type { EventRow } from '../store/event-repository.js';
import { workerResourceId } from './isolation-events.js';

function row(newState: string, cause: string | null): EventRow {
  return {
    id: 7,
    vim_id: workerResourceId('worker-1'),
    vim_name: 'worker-1',
    tenant_id: '',
    monitor_id: '',
    event_type: 'ISOLATION',
    old_status: newState === 'ISOLATED' ? 'NORMAL' : 'ISOLATED',
    new_status: newState,
    reason: 'every canary failed (192.0.2.1)',
    detail: JSON.stringify({
      isolation: { oldState: newState === 'ISOLATED' ? 'NORMAL' : 'ISOLATED', newState, cause, failing: 3, recent: 40, share: 0.075, canaries: [{ canary: '192.0.2.1', ok: false }] },
    }),
    created_at: '2026-12-01 10:00:00.000000',
    held_by: null,
  };
}

describe('an ISOLATION event on the wire', () => {
  it('is a worker event in the API, SSE and webhook shape, with the worker name as resource id', () => {
    expect(eventToWire(toVimEvent(row('ISOLATED', 'canaries')))).toEqual({
      id: 7,
      resource_id: 'worker-1',
      resource_name: 'worker-1',
      resource_type: 'worker',
      resource_state: 'ISOLATED',
      event_type: 'ISOLATION',
      timestamp: '2026-12-01 10:00:00.000000',
      tenant_id: '',
      event_details: {
        old_state: 'NORMAL',
        new_state: 'ISOLATED',
        reason: 'every canary failed (192.0.2.1)',
        cause: 'canaries',
        failing: 3,
        recent: 40,
        share: 0.075,
        canaries: [{ canary: '192.0.2.1', ok: false }],
      },
    });
  });

  it('is monitor.isolated (WARN) and monitor.isolation_ended (INFO) as an oslo notification', () => {
    const entered = buildNotification(toVimEvent(row('ISOLATED', 'canaries')), { publisherId: 'vim-monitor.host', uniqueId: 'u' });
    expect(entered).toMatchObject({ event_type: 'monitor.isolated', priority: 'WARN', payload: { worker: 'worker-1', new_state: 'ISOLATED', cause: 'canaries', event_id: 7 } });
    const ended = buildNotification(toVimEvent(row('NORMAL', null)), { publisherId: 'vim-monitor.host', uniqueId: 'u' });
    expect(ended).toMatchObject({ event_type: 'monitor.isolation_ended', priority: 'INFO', payload: { new_state: 'NORMAL', cause: null } });
    expect(osloEnvelope(entered)['oslo.message']).toContain('"event_type": "monitor.isolated"');
  });

  it('keeps the stored id within the width of vim_events.vim_id however long the worker name', () => {
    expect(workerResourceId('w'.repeat(128))).toHaveLength(36);
    expect(workerResourceId('a')).not.toBe(workerResourceId('b'));
  });
});
