import { describe, expect, it } from 'vitest';
import { DEFAULT_HEALTH_SETTINGS } from '../health/settings.js';
import { DEFAULT_MONITOR_SETTINGS, type MonitorSettings } from './settings.js';
import { SharedSettings, withSharedSettings } from './shared-settings.js';
import type { MonitorTarget } from './monitor.js';

const target = (settings: MonitorSettings): MonitorTarget => ({
  tenantId: 't',
  vimName: 'v',
  target: { vimId: 'vim', type: 'openstack', authUrl: 'http://127.20.0.1/v3', host: '127.20.0.1', port: 80, tls: { verify: true }, credentials: { username: 'u', password: 'p' }, project: { name: 'p' } },
  settings,
  health: { ...DEFAULT_HEALTH_SETTINGS },
});

describe('shared settings', () => {
  it('gives VIMs with equal settings one object, and VIMs with other settings their own', () => {
    const a = withSharedSettings(target({ ...DEFAULT_MONITOR_SETTINGS }));
    const b = withSharedSettings(target({ ...DEFAULT_MONITOR_SETTINGS }));
    const c = withSharedSettings(target({ ...DEFAULT_MONITOR_SETTINGS, interval: 30 }));
    expect(a.settings).toBe(b.settings);
    expect(a.health).toBe(b.health);
    expect(c.settings).not.toBe(a.settings);
    expect(c.settings).toEqual({ ...DEFAULT_MONITOR_SETTINGS, interval: 30 });
  });

  it('freezes what it shares but never what the caller still holds', () => {
    const shared = new SharedSettings<MonitorSettings>();
    const mine = { ...DEFAULT_MONITOR_SETTINGS, probes: ['icmp' as const] };
    const result = shared.share(mine);
    expect(result).toEqual(mine);
    expect(Object.isFrozen(result)).toBe(true);
    expect(Object.isFrozen(result.probes)).toBe(true);
    expect(Object.isFrozen(mine)).toBe(false);
    expect(Object.isFrozen(mine.probes)).toBe(false);
  });

  it('keeps one entry per distinct settings however many VIMs share them', () => {
    const shared = new SharedSettings<MonitorSettings>();
    const held = Array.from({ length: 100 }, (_, i) => shared.share({ ...DEFAULT_MONITOR_SETTINGS, interval: 10 + (i % 3) }));
    expect(new Set(held).size).toBe(3);
    expect(shared.size).toBe(3);
  });
});
