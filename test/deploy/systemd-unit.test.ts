import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';

const UNIT = join(process.cwd(), 'deploy', 'systemd', 'vim-monitor.service');

function setting(unit: string, key: string): string | undefined {
  return new RegExp(`^${key}=(.*)$`, 'm').exec(unit)?.[1];
}

/** The shipped systemd unit, checked by systemd itself and against the service's own shutdown bound. */
describe('the systemd unit', () => {
  const unit = readFileSync(UNIT, 'utf8');

  it('passes systemd-analyze verify', () => {
    const result = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
    if (result.error) throw new Error(`systemd-analyze is missing (Debian package systemd): ${result.error.message}`);
    expect(result.stderr.trim()).toBe('');
    expect(result.status).toBe(0);
  });

  it('waits longer on stop than the service needs at most (server.shutdown_timeout + 10 s)', () => {
    const { server } = validateConfig({});
    expect(Number(setting(unit, 'TimeoutStopSec'))).toBeGreaterThan(server.shutdown_timeout + 10);
  });

  it('allows more descriptors than the connection cap, and lets fping and ping keep CAP_NET_RAW under NoNewPrivileges', () => {
    const { server } = validateConfig({});
    expect(Number(setting(unit, 'LimitNOFILE'))).toBeGreaterThanOrEqual(8 * server.max_connections);
    expect(setting(unit, 'NoNewPrivileges')).toBe('yes');
    expect(setting(unit, 'CapabilityBoundingSet')).toBe('CAP_NET_RAW');
    expect(setting(unit, 'AmbientCapabilities')).toBe('CAP_NET_RAW');
    expect(setting(unit, 'Restart')).toBe('on-failure');
  });
});
