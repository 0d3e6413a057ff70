/**
 * CredentialValid against a real Keystone whose passwords expire
 * ([security_compliance] password_expires_days = 3, test/support/keystone.ts),
 * seen through a recording relay to count logins; Kubernetes OIDC against the
 * fake API server's token endpoint (a stand-in: no real kube-apiserver or
 * OpenID provider can run here).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpRecorder, type HttpRecorder } from '../../../test/support/http-recorder.js';
import { startKeystone, type KeystoneFixture } from '../../../test/support/keystone.js';
import { startFakeKubeApi, type FakeKubeApi } from '../../../test/support/kubernetes-api.js';
import { probeTarget } from '../../../test/support/probe-target.js';
import { AgentPool } from '../../probes/http-agents.js';
import { KeystoneAuthenticator } from '../../probes/keystone-auth.js';
import { OidcTokenSource } from '../../probes/oidc-token.js';
import type { HealthSettings } from '../deep-check.js';
import { CredentialCheck } from './credentials.js';

const DAY = 86_400_000;
const settings = (expiry_warning_days: number): HealthSettings => ({
  deep_interval: 60,
  required_services: ['identity'],
  watched_services: [],
  endpoint_interface: 'public',
  expiry_warning_days,
  capacity_warning_ratio: 0.1,
  nodes_ready_warning_ratio: 1,
});

function jwt(payload: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(payload)}.c2lnbmF0dXJl`;
}

describe('CredentialCheck', () => {
  let keystone: KeystoneFixture;
  let relay: HttpRecorder;
  let kube: FakeKubeApi;
  const agents = new AgentPool();
  const newCheck = () => new CredentialCheck({ keystone: new KeystoneAuthenticator({ agents }), oidc: new OidcTokenSource(agents) });

  beforeAll(async () => {
    keystone = await startKeystone({ passwordExpiresDays: 3 });
    relay = await startHttpRecorder(keystone.baseUrl);
    kube = await startFakeKubeApi({ oidc: { clientId: 'kubernetes', username: 'dana', password: 'oidc-pw-d4n4' } });
  }, 120_000);
  afterAll(async () => {
    await agents.close();
    await kube?.stop();
    await relay?.stop();
    await keystone?.stop();
  });

  const openstackTarget = () =>
    probeTarget('openstack', `${relay.url}/v3`, { username: keystone.member.username, password: keystone.member.password, user_domain_name: 'Default' }, { name: keystone.member.project, project_domain_name: 'Default' });

  it("warns about a Keystone user's password that expires in 3 days, without the password, and reuses the token", async () => {
    const check = newCheck();
    const target = openstackTarget();
    const logins = () => relay.exchanges.filter((e) => e.method === 'POST' && e.path.startsWith('/v3/auth/tokens')).length;
    const before = logins();
    const first = await check.run({ target, settings: settings(14), signal: AbortSignal.timeout(10_000), now: new Date() });
    expect(first.conditions).toEqual([
      { type: 'CredentialValid', layer: 'authentication', status: 'False', severity: 'warning', reason: expect.stringMatching(/^the user's password expires in 2 days \(.+\); the token is valid until /) },
    ]);
    expect(first.conditions[0]?.reason).not.toContain(keystone.member.password);
    const second = await check.run({ target, settings: settings(14), signal: AbortSignal.timeout(10_000), now: new Date() });
    expect(second.conditions[0]).toMatchObject({ status: 'False', severity: 'warning' });
    expect(logins() - before).toBe(1);
  });

  it('passes the same password under a 2-day threshold and fails it once its date has passed', async () => {
    const check = newCheck();
    const target = openstackTarget();
    expect((await check.run({ target, settings: settings(2), signal: AbortSignal.timeout(10_000), now: new Date() })).conditions[0]).toMatchObject({ status: 'True', severity: 'info' });
    const later = new Date(Date.now() + 4 * DAY);
    expect((await check.run({ target, settings: settings(2), signal: AbortSignal.timeout(10_000), now: later })).conditions[0]).toMatchObject({
      status: 'False',
      severity: 'error',
      reason: expect.stringMatching(/^the user's password expired on /),
    });
  });

  it('judges a Kubernetes bearer token that is a JWT by its exp, without verifying it', async () => {
    const now = new Date();
    const run = (token: string) =>
      newCheck().run({ target: probeTarget('kubernetes', kube.url, { bearer_token: token }), settings: settings(14), signal: AbortSignal.timeout(5_000), now });
    const soon = jwt({ sub: 'system:serviceaccount:nfv:vnfm', exp: Math.floor(now.getTime() / 1000) + 3 * 86_400 + 60 });
    expect((await run(soon)).conditions[0]).toMatchObject({ status: 'False', severity: 'warning', reason: expect.stringMatching(/^the bearer token expires in 3 days/) });
    const gone = jwt({ exp: Math.floor(now.getTime() / 1000) - 60 });
    expect((await run(gone)).conditions[0]).toMatchObject({ status: 'False', severity: 'error', reason: expect.stringMatching(/^the bearer token expired on/) });
    const year = jwt({ exp: Math.floor(now.getTime() / 1000) + 365 * 86_400 });
    expect((await run(year)).conditions[0]).toMatchObject({ status: 'True', severity: 'info' });
    const opaque = await run('0123456789abcdef-opaque');
    expect(opaque.conditions[0]).toMatchObject({ status: 'True', reason: 'the bearer token carries no expiry (not a JWT with exp)' });
    expect(JSON.stringify([opaque])).not.toContain('0123456789abcdef-opaque');
  });

  it('fails an OIDC account whose id_token refresh is refused, naming the OAuth error and not the password', async () => {
    const wrong = probeTarget('kubernetes', kube.url, { ssl_ca_cert: kube.ca, oidc_token_url: kube.oidcTokenUrl, client_id: 'kubernetes', username: 'dana', password: 'not-the-password' });
    const report = await newCheck().run({ target: wrong, settings: settings(14), signal: AbortSignal.timeout(5_000), now: new Date() });
    expect(report.conditions[0]).toMatchObject({ status: 'False', severity: 'error', reason: expect.stringMatching(/^OIDC token refresh failed: the OIDC provider rejected the credentials \(HTTP 40[01]/) });
    expect(report.conditions[0]?.reason).not.toContain('not-the-password');
    const right = probeTarget('kubernetes', kube.url, { ssl_ca_cert: kube.ca, oidc_token_url: kube.oidcTokenUrl, client_id: 'kubernetes', username: 'dana', password: 'oidc-pw-d4n4' });
    expect((await newCheck().run({ target: right, settings: settings(14), signal: AbortSignal.timeout(5_000), now: new Date() })).conditions[0]).toMatchObject({ status: 'True' });
  });
});
