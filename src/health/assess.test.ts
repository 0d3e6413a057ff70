import { describe, expect, it } from 'vitest';
import type { Condition, ConditionResult } from './condition.js';
import { assess, conditionsDiffer, deriveHealth, gateByLayer } from './assess.js';

const T0 = '2026-11-30 10:00:00.000000';
const T1 = '2026-11-30 10:00:10.000000';
const T2 = '2026-11-30 10:00:20.000000';

const network = (status: ConditionResult['status'], reason = 'icmp: ok'): ConditionResult => ({ type: 'NetworkReachable', layer: 'network', status, severity: 'error', reason });
const identity = (status: ConditionResult['status'], reason = 'HTTP 200'): ConditionResult => ({ type: 'IdentityAPI', layer: 'identity', status, severity: 'error', reason });
const auth = (status: ConditionResult['status']): ConditionResult => ({ type: 'Authenticated', layer: 'authentication', status, severity: 'error', reason: 'token' });
const compute = (status: ConditionResult['status']): ConditionResult => ({ type: 'Service:compute', layer: 'services', status, severity: 'warning', reason: 'nova' });
const capacity = (status: ConditionResult['status']): ConditionResult => ({ type: 'Capacity', layer: 'capacity', status, severity: 'warning', reason: '5 % free' });

describe('assess', () => {
  it('stamps since and last_checked with the time of the first assessment', () => {
    const { conditions } = assess([], [network('True')], T0);
    expect(conditions).toEqual([{ ...network('True'), since: T0, last_checked: T0 }]);
  });

  it('keeps since while a condition keeps its status and moves last_checked every time', () => {
    const first = assess([], [network('True')], T0).conditions;
    const second = assess(first, [network('True', 'icmp: 0.2 ms')], T1).conditions;
    expect(second[0]).toMatchObject({ since: T0, last_checked: T1, reason: 'icmp: 0.2 ms' });
  });

  it('moves since when a condition changes status', () => {
    const first = assess([], [network('True')], T0).conditions;
    const second = assess(first, [network('False', 'icmp: 100% packet loss')], T1).conditions;
    expect(second[0]).toMatchObject({ status: 'False', since: T1, last_checked: T1 });
    const third = assess(second, [network('False', 'icmp: still lost')], T2).conditions;
    expect(third[0]).toMatchObject({ since: T1, last_checked: T2 });
  });

  it('is DOWN when a required condition is False, DEGRADED when only a watched one is, OK otherwise', () => {
    expect(assess([], [network('True'), identity('True'), compute('True')], T0).health).toBe('OK');
    expect(assess([], [network('True'), identity('True'), compute('False')], T0).health).toBe('DEGRADED');
    expect(assess([], [network('True'), identity('False'), compute('False')], T0).health).toBe('DOWN');
  });

  it('names the first failing layer in network → TLS → identity → authentication → services → capacity order', () => {
    const result = assess([], [compute('False'), auth('False'), identity('True'), network('True')], T0);
    expect(result.failingLayer).toBe('authentication');
    expect(result.reason).toBe('authentication failed: Authenticated: token');
    expect(result.conditions.map((c) => c.type)).toEqual(['NetworkReachable', 'IdentityAPI', 'Authenticated', 'Service:compute']);
  });

  it('reports every condition above a failed required layer as Unknown, not as twelve failures', () => {
    const result = assess([], [network('False', 'icmp: 100% packet loss'), identity('False', 'timed out'), auth('False'), compute('False')], T0);
    expect(result.failingLayer).toBe('network');
    expect(result.reason).toBe('network failed: NetworkReachable: icmp: 100% packet loss');
    expect(result.conditions.slice(1).map((c) => [c.type, c.status, c.reason])).toEqual([
      ['IdentityAPI', 'Unknown', 'not checked: network failed'],
      ['Authenticated', 'Unknown', 'not checked: network failed'],
      ['Service:compute', 'Unknown', 'not checked: network failed'],
    ]);
  });

  it('lets a watched failure leave the layers above it checked', () => {
    const gated = gateByLayer([compute('False'), capacity('True')]);
    expect(gated[1]).toEqual(capacity('True'));
  });

  it('drops a condition no check reports any more', () => {
    const first = assess([], [network('True'), identity('True')], T0).conditions;
    expect(assess(first, [identity('True')], T1).conditions.map((c) => c.type)).toEqual(['IdentityAPI']);
  });

  it('has nothing to say before any check ran', () => {
    expect(assess([], [], T0)).toEqual({ conditions: [], health: 'OK', failingLayer: null, reason: 'nothing checked yet' });
  });
});

describe('conditionsDiffer', () => {
  const stored: Condition[] = assess([], [network('True'), identity('True')], T0).conditions;

  it('ignores a reason that changed (latencies differ every round) so nothing is stored each round', () => {
    expect(conditionsDiffer(stored, [network('True', 'icmp: 0.9 ms'), identity('True', 'HTTP 200 again')])).toBe(false);
  });

  it('sees a status change, a new condition and a condition that went away', () => {
    expect(conditionsDiffer(stored, [network('False'), identity('True')])).toBe(true);
    expect(conditionsDiffer(stored, [network('True'), identity('True'), auth('True')])).toBe(true);
    expect(conditionsDiffer(stored, [network('True')])).toBe(true);
  });

  it('sees a severity change (a service moved from watched to required)', () => {
    const watched = assess([], [compute('True')], T0).conditions;
    expect(conditionsDiffer(watched, [{ ...compute('True'), severity: 'error' }])).toBe(true);
  });
});

describe('deriveHealth', () => {
  it('does not count Unknown or info conditions against the VIM', () => {
    expect(deriveHealth([network('Unknown'), { ...compute('False'), severity: 'info' }])).toBe('OK');
  });
});
