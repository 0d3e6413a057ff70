/**
 * The deep checks as the service wires them (createDeepChecks), against a
 * real Keystone seen through a recording relay: they use the auth probe's
 * token, so a deep run costs no login of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpRecorder, type HttpRecorder } from '../../test/support/http-recorder.js';
import { startKeystone, type KeystoneFixture } from '../../test/support/keystone.js';
import { deadline, probeTarget } from '../../test/support/probe-target.js';
import { AuthProbe } from '../probes/auth.js';
import { AgentPool } from '../probes/http-agents.js';
import { probeTargetGuard } from '../probes/target-policy.js';
import { createDeepChecks, DeepChecks } from './deep-checks.js';
import type { DeepCheck } from './deep-check.js';
import { DEFAULT_HEALTH_SETTINGS } from './settings.js';

describe('the deep checks wired to the auth probe', () => {
  let keystone: KeystoneFixture;
  let relay: HttpRecorder;

  beforeAll(async () => {
    keystone = await startKeystone();
    relay = await startHttpRecorder(keystone.baseUrl);
  });
  afterAll(async () => {
    await relay?.stop();
    await keystone?.stop();
  });

  it('reuse the auth probe’s token and catalog across deep runs, and log in again only after forget()', async () => {
    const agents = new AgentPool();
    const auth = new AuthProbe({ agents });
    const deep = createDeepChecks({ auth, agents, guard: probeTargetGuard() });
    const user = keystone.member;
    const target = probeTarget('openstack', `${relay.url}/v3`, { username: user.username, password: user.password, user_domain_name: 'Default' }, { name: user.project, project_domain_name: 'Default' });
    const logins = () => relay.exchanges.filter((e) => e.method === 'POST' && e.path.startsWith('/v3/auth/tokens')).length;
    const catalogReads = () => relay.exchanges.filter((e) => e.path === '/v3/auth/catalog').length;
    const run = () => deep.run({ target, settings: { ...DEFAULT_HEALTH_SETTINGS, watched_services: [] }, signal: deadline(10_000), now: new Date() });
    try {
      expect(await auth.check(target, deadline(10_000))).toMatchObject({ ok: true });
      expect(logins()).toBe(1);
      for (let i = 0; i < 3; i++) {
        const outcomes = await run();
        const conditions = outcomes.flatMap((o) => o.report?.conditions ?? []);
        expect(conditions.find((c) => c.type === 'Service:identity')).toMatchObject({ status: 'True' });
        expect(conditions.find((c) => c.type === 'CredentialValid')).toMatchObject({ status: 'True' });
      }
      // Three deep runs: no login of their own, one catalog read (cached for the auth interval).
      expect([logins(), catalogReads()]).toEqual([1, 1]);

      // What the manager does on a VIM update or delete: every cache of the VIM goes.
      auth.forget(target.vimId);
      deep.forget(target.vimId);
      await run();
      expect([logins(), catalogReads()]).toEqual([2, 2]);
    } finally {
      await deep.close();
      await auth.close();
      await agents.close();
    }
  });
});

describe('DeepChecks', () => {
  const target = probeTarget('openstack', 'http://127.0.0.1:9/v3');
  const input = (ms: number) => ({ target, settings: DEFAULT_HEALTH_SETTINGS, signal: deadline(ms), now: new Date() });

  it('runs a stage only after the one before has settled, and reports a check that misses the deadline as unsettled', async () => {
    const order: string[] = [];
    const check = (name: string, ms: number): DeepCheck => ({
      name,
      run: async () => {
        order.push(`${name}:start`);
        await new Promise((resolve) => setTimeout(resolve, ms));
        order.push(`${name}:end`);
        return { conditions: [{ type: 'Capacity', layer: 'capacity', status: 'True', severity: 'info', reason: name }] };
      },
    });
    const checks = new DeepChecks([[check('first', 20)], [check('second', 1), check('slow', 5_000)]]);
    const startedAt = Date.now();
    const outcomes = await checks.run(input(300));
    expect(Date.now() - startedAt).toBeLessThan(1_000);
    expect(order.slice(0, 3)).toEqual(['first:start', 'first:end', 'second:start']);
    expect(outcomes.map((o) => [o.name, o.report?.conditions[0]?.reason])).toEqual([
      ['first', 'first'],
      ['second', 'second'],
      ['slow', undefined],
    ]);
  });
});
