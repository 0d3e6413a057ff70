import { describe, expect, it } from 'vitest';
import { validateConfig } from '../config/load.js';
import { ConfigurationError, InvalidInputError } from '../errors.js';
import { effectiveSettings, DEFAULT_MONITOR_SETTINGS } from '../monitors/settings.js';
import { DEFAULT_HEALTH_SETTINGS, effectiveHealthSettings } from './settings.js';

describe('the deep-check settings', () => {
  it('default to identity required, the usual OpenStack services watched, every region, 14 days, 10 % and 60 s', () => {
    expect(validateConfig({}).health).toEqual({
      deep_interval: 60,
      required_services: ['identity'],
      watched_services: ['compute', 'network', 'image', 'placement', 'orchestration', 'volumev3', 'block-storage'],
      endpoint_interface: 'public',
      region: null,
      expiry_warning_days: 14,
      capacity_warning_ratio: 0.1,
      nodes_ready_warning_ratio: 1,
    });
  });

  it('refuses a bad global value with a message naming the key', () => {
    expect(() => validateConfig({ health: { capacity_warning_ratio: 1.5 } })).toThrow(ConfigurationError);
    expect(() => validateConfig({ health: { endpoint_interface: 'private' } })).toThrow(/health\.endpoint_interface/);
    expect(() => validateConfig({ health: { watched_services: ['Compute Service'] } })).toThrow(ConfigurationError);
  });

  it('take a region as a bounded printable string, or null for every region', () => {
    expect(validateConfig({ health: { region: 'RegionTwo' } }).health.region).toBe('RegionTwo');
    expect(validateConfig({ health: { region: 'région Ōsaka-1 ☁' } }).health.region).toBe('région Ōsaka-1 ☁');
    expect(validateConfig({ health: { region: null } }).health.region).toBeNull();
    for (const bad of ['', 'x'.repeat(256), 'Region\nOne', 'Region\u0000', 'Region\u0085', 42, ['RegionOne']]) {
      expect(() => validateConfig({ health: { region: bad } }), JSON.stringify(bad)).toThrow(/health\.region/);
    }
    expect(validateConfig({ health: { region: 'x'.repeat(255) } }).health.region).toHaveLength(255);
  });

  it("lets a VIM choose its own region, or every region (null) over a global one", () => {
    const global = { ...DEFAULT_HEALTH_SETTINGS, region: 'RegionOne' };
    expect(effectiveHealthSettings(global, undefined).region).toBe('RegionOne');
    expect(effectiveHealthSettings(global, { region: 'RegionTwo' }).region).toBe('RegionTwo');
    expect(effectiveHealthSettings(global, { region: null }).region).toBeNull();
    expect(effectiveHealthSettings(global, { deep_interval: 30 }).region).toBe('RegionOne');
  });

  it("overlays a VIM's own keys on the global ones; a service the VIM requires leaves the watched list", () => {
    const settings = effectiveHealthSettings(DEFAULT_HEALTH_SETTINGS, { required_services: ['identity', 'compute'], deep_interval: 300 });
    expect(settings.deep_interval).toBe(300);
    expect(settings.required_services).toEqual(['identity', 'compute']);
    expect(settings.watched_services).not.toContain('compute');
    expect(settings.watched_services).toContain('network');
  });

  it('refuses one override naming a service both required and watched', () => {
    expect(() => effectiveHealthSettings(DEFAULT_HEALTH_SETTINGS, { required_services: ['image'], watched_services: ['image'] })).toThrow(InvalidInputError);
    expect(() => effectiveSettings(DEFAULT_MONITOR_SETTINGS, { health: { required_services: ['image'], watched_services: ['image'] } })).toThrow(
      "monitor_settings.health: service type 'image' cannot be both required and watched",
    );
  });
});
