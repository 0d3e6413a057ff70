/**
 * The auth probe on Kubernetes VIMs against a FAKE Kubernetes API server
 * (test/support/kubernetes-api.ts is a mock: no real kube-apiserver runs in
 * the suite) with its own OpenID provider token endpoint, over HTTPS with a
 * certificate of a test CA. Every credential method is exercised.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeKubeApi, type FakeKubeApi } from '../../test/support/kubernetes-api.js';
import { makeTestPki } from '../../test/support/pki.js';
import { deadline, probeTarget } from '../../test/support/probe-target.js';
import { AuthProbe } from './auth.js';
import type { ProbeTarget } from './probe.js';

const TOKEN = 'kube-token-5f3a9c';
const BASIC = { username: 'kube-admin', password: 'basic-pw-77e1' };
const OIDC = { clientId: 'kubernetes', clientSecret: 'oidc-secret-c0ffee', username: 'dana', password: 'oidc-pw-d4n4' };
const SECRETS = [TOKEN, BASIC.password, OIDC.clientSecret, OIDC.password];

describe('AuthProbe on Kubernetes', () => {
  let kube: FakeKubeApi;
  let probe: AuthProbe;
  const reasons: string[] = [];

  beforeAll(async () => {
    kube = await startFakeKubeApi({ bearerToken: TOKEN, basic: BASIC, oidc: OIDC, namespaces: ['default', 'kube-system', 'nfv'] });
  });
  afterEach(async () => {
    await probe?.close();
    Object.assign(kube, { mode: 'serve', anonymous: 'unauthorized', apiAllowed: true, namespacesAllowed: true });
  });
  afterAll(async () => {
    await kube?.stop();
    // Every reason any test saw: none may quote a secret.
    for (const reason of reasons) for (const secret of SECRETS) expect(reason).not.toContain(secret);
  });

  const target = (credentials: Record<string, string>) => probeTarget('kubernetes', kube.url, { ssl_ca_cert: kube.ca, ...credentials }, { name: 'nfv' });
  const oidcCredentials = (overrides: Record<string, string> = {}) => ({
    oidc_token_url: kube.oidcTokenUrl,
    client_id: OIDC.clientId,
    client_secret: OIDC.clientSecret,
    username: OIDC.username,
    password: OIDC.password,
    ...overrides,
  });
  /** A check of a new VIM with these credentials, or of the same VIM again when given its target. */
  const check = async (credentials: Record<string, string> | ProbeTarget, ms = 2000) => {
    const outcome = await probe.check('vimId' in credentials ? (credentials as ProbeTarget) : target(credentials), deadline(ms));
    reasons.push(outcome.reason);
    return outcome;
  };

  it('authenticates with a bearer token and lists the namespaces as regions', async () => {
    probe = new AuthProbe();
    expect(await check({ bearer_token: TOKEN })).toEqual({
      ok: true,
      latencyMs: expect.any(Number),
      reason: `authenticated with the bearer token (HTTP 200 from ${kube.url}/api)`,
      regions: ['default', 'kube-system', 'nfv'],
    });
    expect(kube.requests.slice(-2)).toEqual([
      { method: 'GET', path: '/api', user: 'token-user' },
      { method: 'GET', path: '/api/v1/namespaces', user: 'token-user' },
    ]);
  });

  it('reports a wrong bearer token as rejected (HTTP 401)', async () => {
    probe = new AuthProbe();
    expect(await check({ bearer_token: 'expired-token' })).toMatchObject({ ok: false, reason: 'the API server rejected the bearer token (HTTP 401)' });
  });

  it('authenticates with basic auth, and rejects a wrong password', async () => {
    probe = new AuthProbe();
    expect(await check({ username: BASIC.username, password: BASIC.password })).toMatchObject({ ok: true, reason: expect.stringContaining('basic auth') });
    expect(kube.requests.at(-1)?.user).toBe(BASIC.username);
    expect(await check({ username: BASIC.username, password: 'wrong' })).toMatchObject({ ok: false, reason: 'the API server rejected the basic auth (HTTP 401)' });
  });

  it('authenticates with a client certificate signed by the cluster CA', async () => {
    probe = new AuthProbe();
    const client = kube.pki.client('erin', 'system:masters');
    expect(await check({ client_cert: client.cert, client_key: client.key })).toMatchObject({ ok: true, reason: expect.stringContaining('client certificate') });
    expect(kube.requests.at(-1)?.user).toBe('erin');
  });

  it('fails a client certificate the cluster does not trust, also when anonymous requests get 403', async () => {
    probe = new AuthProbe();
    const stranger = makeTestPki().client('mallory');
    expect(await check({ client_cert: stranger.cert, client_key: stranger.key })).toMatchObject({ ok: false, reason: 'the API server rejected the client certificate (HTTP 401)' });
    kube.anonymous = 'forbidden';
    expect(await check({ client_cert: stranger.cert, client_key: stranger.key })).toMatchObject({
      ok: false,
      reason: 'the API server did not accept the client certificate: it treated the request as anonymous (HTTP 403)',
    });
  });

  it('authenticates with an OIDC id_token from the password grant, and reuses it', async () => {
    probe = new AuthProbe();
    const vim = target(oidcCredentials());
    const issuedBefore = kube.oidcTokensIssued();
    expect(await check(vim)).toMatchObject({ ok: true, reason: expect.stringContaining('OIDC id_token'), regions: ['default', 'kube-system', 'nfv'] });
    expect(await check(vim)).toMatchObject({ ok: true });
    expect(kube.oidcTokensIssued() - issuedBefore).toBe(1);
    expect(kube.requests.filter((r) => r.path === '/api').at(-1)?.user).toBe(OIDC.username);
  });

  it('gets a fresh id_token once when the API server refuses the cached one', async () => {
    probe = new AuthProbe();
    const vim = target(oidcCredentials());
    expect((await check(vim)).ok).toBe(true);
    kube.revokeOidcTokens();
    const issuedBefore = kube.oidcTokensIssued();
    const requestsBefore = kube.requests.length;
    expect((await check(vim)).ok).toBe(true);
    expect(kube.oidcTokensIssued() - issuedBefore).toBe(1);
    // refused /api with the old token, a new token, /api again, then namespaces
    expect(kube.requests.slice(requestsBefore).map((r) => `${r.path} ${r.user ?? 'anonymous'}`)).toEqual([
      '/api anonymous',
      '/oidc/token anonymous',
      `/api ${OIDC.username}`,
      `/api/v1/namespaces ${OIDC.username}`,
    ]);
  });

  it('reports an OIDC password or client secret the provider refuses', async () => {
    probe = new AuthProbe();
    expect(await check(oidcCredentials({ password: 'wrong-pw' }))).toMatchObject({ ok: false, reason: 'the OIDC provider rejected the credentials (HTTP 400 invalid_grant)' });
    expect(await check(oidcCredentials({ client_secret: 'wrong-secret' }))).toMatchObject({ ok: false, reason: 'the OIDC provider rejected the credentials (HTTP 401 invalid_client)' });
  });

  it('counts 403 on /api as authenticated but not allowed, with the VIM namespace as region', async () => {
    probe = new AuthProbe();
    kube.apiAllowed = false;
    expect(await check({ bearer_token: TOKEN })).toMatchObject({
      ok: true,
      reason: `authenticated with the bearer token, but not allowed to read ${kube.url}/api (HTTP 403)`,
      regions: ['nfv'],
    });
  });

  it('falls back to the VIM namespace when the user may not list namespaces', async () => {
    probe = new AuthProbe();
    kube.namespacesAllowed = false;
    expect(await check({ bearer_token: TOKEN })).toMatchObject({ ok: true, regions: ['nfv'] });
  });

  it('fails on a server error, a dropped connection, and a server that never answers', async () => {
    probe = new AuthProbe();
    kube.mode = 'error';
    expect(await check({ bearer_token: TOKEN })).toMatchObject({ ok: false, reason: `HTTP 500 from ${kube.url}/api` });
    kube.mode = 'close';
    expect(await check({ bearer_token: TOKEN })).toMatchObject({ ok: false, reason: expect.stringMatching(/^connection (closed|reset).*\/api\)$/) });
    kube.mode = 'hang';
    const started = Date.now();
    expect(await check(oidcCredentials(), 300)).toEqual({ ok: false, reason: expect.stringMatching(/^timed out after \d+ ms$/) });
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('refuses an API server whose certificate the VIM CA did not sign', async () => {
    probe = new AuthProbe();
    const outcome = await probe.check(probeTarget('kubernetes', kube.url, { bearer_token: TOKEN, ssl_ca_cert: makeTestPki().ca.cert }), deadline(2000));
    reasons.push(outcome.reason);
    expect(outcome).toMatchObject({ ok: false, reason: expect.stringContaining('TLS certificate not trusted') });
  });
});
