import { describe, expect, it } from 'vitest';
import { formatUptime } from './format';
import { parseRoute } from './router';
import type { VimRow } from './types';
import { problemsFirst } from './vim-list';

const vim = (name: string, status: VimRow['status'], health: VimRow['health']): VimRow => ({ id: name, name, tenant_id: 't', type: 'openstack', status, health });

describe('the overview order and the dashboard routes', () => {
  it('puts problems first (down, degraded, pending, then the rest), keeping the name order within each', () => {
    const byName = [vim('a', 'REACHABLE', 'OK'), vim('b', 'REACHABLE', 'DEGRADED'), vim('c', 'UNREACHABLE', 'DOWN'), vim('d', 'PENDING', null), vim('e', 'REACHABLE', 'DOWN'), vim('f', 'REACHABLE', 'OK')];
    expect(problemsFirst(byName, () => true).map((v) => v.name)).toEqual(['c', 'e', 'b', 'd', 'a', 'f']);
    expect(problemsFirst(byName, (v) => v.name !== 'c').map((v) => v.name)).toEqual(['e', 'b', 'd', 'a', 'f']);
  });

  it('never rounds an uptime with downtime up to 100 %, and says when nothing was observed', () => {
    expect(formatUptime(0.99999)).toBe('99.99 %');
    expect(formatUptime(1)).toBe('100 %');
    expect(formatUptime(0)).toBe('0.00 %');
    expect(formatUptime(null)).toBe('no data');
  });

  it('reads hash routes, with the VIM id decoded and anything unknown sent to the overview', () => {
    expect(parseRoute('#/vims/abc%2Fdef')).toEqual({ view: 'vim', id: 'abc/def' });
    expect(parseRoute('#/events')).toEqual({ view: 'events' });
    expect(parseRoute('#/workers')).toEqual({ view: 'workers' });
    expect(parseRoute('')).toEqual({ view: 'overview' });
    expect(parseRoute('#/nonsense')).toEqual({ view: 'overview' });
  });
});
