/**
 * The dashboard's login (issue 12, "Dashboard session API") against a real
 * Keystone, over real HTTP: the cookie and its flags, cookie authentication
 * of the API with tenant visibility, the CSRF check, logout revoking the
 * Keystone token, expiry, and no token or password in any response or log.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { openstackVim } from '../../test/support/fixtures.js';
import { keystoneAuthConfig, startKeystone, type KeystoneFixture, type KeystoneUser } from '../../test/support/keystone.js';
import { startTestService, type TestService } from '../../test/support/service.js';
import { SecretCipher } from '../secrets/cipher.js';

interface Exchange {
  status: number;
  headers: Headers;
  text: string;
  json: any;
  setCookies: string[];
}

interface CallOptions {
  body?: unknown;
  rawBody?: string;
  cookie?: string;
  csrf?: string;
  token?: string;
  headers?: Record<string, string>;
}

interface ParsedCookie {
  name: string;
  value: string;
  /** Attribute names as sent, lower-cased, with their values (true for flags). */
  attributes: Map<string, string | true>;
}

const COOKIE = 'vim_monitor_session';
const EIGHT_HOURS_MS = 8 * 3_600_000;

function parseSetCookie(line: string): ParsedCookie {
  const [pair = '', ...rest] = line.split(';').map((part) => part.trim());
  const eq = pair.indexOf('=');
  const attributes = new Map<string, string | true>();
  for (const attribute of rest) {
    const at = attribute.indexOf('=');
    if (at < 0) attributes.set(attribute.toLowerCase(), true);
    else attributes.set(attribute.slice(0, at).toLowerCase(), attribute.slice(at + 1));
  }
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attributes };
}


describe('dashboard sessions with a real Keystone', () => {
  const secretKey = randomBytes(32).toString('base64');
  const cipher = new SecretCipher(Buffer.from(secretKey, 'base64'));
  /** Everything any response carried (status line, headers, body), to look for secrets in. */
  const seen: string[] = [];
  /** The Keystone tokens and session ids that must never be shown. */
  const tokens = new Set<string>();
  const sessionIds = new Set<string>();
  let keystone: KeystoneFixture;
  let service: TestService;
  let shortLived: TestService;
  let nfvProjectId: string;
  let nfvVimId: string;
  let otherVimId: string;

  async function call(target: TestService, method: string, path: string, options: CallOptions = {}): Promise<Exchange> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.cookie !== undefined) headers.cookie = `${COOKIE}=${options.cookie}`;
    if (options.csrf !== undefined) headers['x-csrf-token'] = options.csrf;
    if (options.token !== undefined) headers['x-auth-token'] = options.token;
    const body = options.rawBody ?? (options.body !== undefined ? JSON.stringify(options.body) : undefined);
    if (body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
    const response = await fetch(target.url + path, { method, headers, redirect: 'manual', ...(body !== undefined && { body }) });
    const text = await response.text();
    seen.push(`${response.status}\n${[...response.headers].map(([name, value]) => `${name}: ${value}`).join('\n')}\n\n${text}`);
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json, setCookies: response.headers.getSetCookie() };
  }

  /** Logs in and returns the cookie value and the session document; remembers the session's Keystone token. */
  async function login(user: KeystoneUser, target = service): Promise<{ cookie: string; session: any; response: Exchange }> {
    const response = await call(target, 'POST', '/ui/session', { body: { username: user.username, password: user.password, project: user.project } });
    expect(response.status, response.text).toBe(201);
    const cookie = parseSetCookie(response.setCookies[0] ?? '').value;
    sessionIds.add(cookie);
    tokens.add(await storedToken(target, cookie));
    return { cookie, session: response.json.session, response };
  }

  /** The Keystone token a session holds, read from the database and unsealed with the service's key. */
  async function storedToken(target: TestService, cookie: string): Promise<string> {
    const row = await target.store.db
      .selectFrom('ui_sessions')
      .select('token')
      .where('id_hash', '=', createHash('sha256').update(cookie).digest('hex'))
      .executeTakeFirstOrThrow();
    return cipher.decrypt(row.token);
  }

  /** What Keystone itself says of a token: 200 valid, 404 (or 401) not. */
  async function keystoneStatusOf(token: string): Promise<number> {
    const admin = await keystone.issueToken(keystone.admin);
    const response = await fetch(`${keystone.url}/auth/tokens`, { headers: { 'x-auth-token': admin, 'x-subject-token': token } });
    await response.body?.cancel();
    return response.status;
  }

  const vimNames = async (cookie: string, target = service) => {
    const response = await call(target, 'GET', '/v1.0/vims', { cookie });
    expect(response.status, response.text).toBe(200);
    return (response.json.vims as Array<{ name: string }>).map((vim) => vim.name).sort();
  };

  function showLogsOnFailure(): void {
    onTestFailed(async () => {
      console.error(service.logText().split('\n').slice(-40).join('\n'));
      console.error(await keystone.logTail(30));
    });
  }

  beforeAll(async () => {
    keystone = await startKeystone();
    service = await startTestService({ auth: keystoneAuthConfig(keystone), secretKey });
    shortLived = await startTestService({ auth: keystoneAuthConfig(keystone), secretKey, ui: { session_ttl: 1, secure_cookie: 'always' } });
    nfvProjectId = await keystone.projectId('nfv');
    const alice = await keystone.issueToken(keystone.member);
    const bob = await keystone.issueToken(keystone.otherMember);
    tokens.add(alice).add(bob);
    const nfv = await call(service, 'POST', '/v1.0/vims', { token: alice, body: { vim: openstackVim({ name: 'nfv-vim' }) } });
    const other = await call(service, 'POST', '/v1.0/vims', { token: bob, body: { vim: openstackVim({ name: 'other-vim' }) } });
    expect([nfv.status, other.status]).toEqual([201, 201]);
    nfvVimId = nfv.json.vim.id;
    otherVimId = other.json.vim.id;
  }, 180_000);

  afterAll(async () => {
    await shortLived?.stop();
    await service?.stop();
    await keystone?.stop();
  });

  it('logs a real user in: 201, an HttpOnly SameSite=Strict cookie on / holding a random id, and a session document without the token', async () => {
    showLogsOnFailure();
    const before = Date.now();
    const { cookie, session, response } = await login(keystone.member);
    expect(response.setCookies).toHaveLength(1);
    const set = parseSetCookie(response.setCookies[0] ?? '');
    expect(set.name).toBe(COOKIE);
    expect(set.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Exactly these attributes: no Secure over plain HTTP (ui.secure_cookie auto), no Domain.
    expect([...set.attributes.keys()].sort()).toEqual(['expires', 'httponly', 'max-age', 'path', 'samesite']);
    expect(set.attributes.get('path')).toBe('/');
    expect(set.attributes.get('samesite')).toBe('Strict');
    expect(response.headers.get('cache-control')).toBe('no-store');

    expect(Object.keys(session).sort()).toEqual(['csrf_token', 'expires_at', 'is_admin', 'project_id', 'project_name', 'strategy', 'user_name']);
    expect(session).toMatchObject({ strategy: 'keystone', user_name: 'alice', project_name: 'nfv', project_id: nfvProjectId, is_admin: false });
    expect(session.csrf_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // Ends with its Keystone token (the fixture's tokens live 1 h), well before ui.session_ttl's 8 h.
    const expiresAt = Date.parse(session.expires_at);
    const token = await storedToken(service, cookie);
    const tokenExpiry = Date.parse((await keystone.authenticate(keystone.member)).expiresAt);
    expect(expiresAt).toBeLessThanOrEqual(tokenExpiry);
    expect(expiresAt).toBeLessThan(before + EIGHT_HOURS_MS);
    expect(Number(set.attributes.get('max-age'))).toBeGreaterThan(0);
    expect(Math.abs(Date.parse(String(set.attributes.get('expires'))) - expiresAt)).toBeLessThan(1000);

    // The table holds neither the id nor the token: a hash, and a sealed envelope.
    const rows = await service.store.db.selectFrom('ui_sessions').selectAll().execute();
    const row = rows.find((candidate) => candidate.id_hash === createHash('sha256').update(cookie).digest('hex'));
    expect(row).toBeDefined();
    expect(JSON.stringify(rows)).not.toContain(cookie);
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(SecretCipher.isEnvelope(row?.token ?? '')).toBe(true);
    expect(await keystoneStatusOf(token)).toBe(200);
  });

  it('answers GET /ui/session with the same document for the cookie, and 401 in Tacker\'s shape without one', async () => {
    const { cookie, session } = await login(keystone.member);
    const current = await call(service, 'GET', '/ui/session', { cookie });
    expect(current.status).toBe(200);
    expect(current.json).toEqual({ session });
    const anonymous = await call(service, 'GET', '/ui/session');
    expect(anonymous.status).toBe(401);
    expect(anonymous.json).toEqual({ TackerError: { type: 'HTTPUnauthorized', message: expect.stringContaining('Not logged in'), detail: '' } });
    expect(anonymous.setCookies).toEqual([]);
  });

  it('authenticates API calls by the cookie: a member sees only its own tenant\'s VIMs, an administrator every tenant\'s', async () => {
    const alice = await login(keystone.member);
    expect(await vimNames(alice.cookie)).toEqual(['nfv-vim']);
    expect((await call(service, 'GET', `/v1.0/vims/${otherVimId}`, { cookie: alice.cookie })).status).toBe(404);
    const bob = await login(keystone.otherMember);
    expect(await vimNames(bob.cookie)).toEqual(['other-vim']);
    const admin = await login(keystone.admin);
    expect(admin.session.is_admin).toBe(true);
    expect(await vimNames(admin.cookie)).toEqual(['nfv-vim', 'other-vim']);
  });

  it('refuses a wrong password, an unknown user and a project the user has no role on with 401 in Tacker\'s shape and no cookie', async () => {
    const wrong = [
      { username: 'alice', password: `${keystone.member.password}x`, project: 'nfv' },
      { username: 'nobody', password: keystone.member.password, project: 'nfv' },
      { username: 'alice', password: keystone.member.password, project: 'other' },
      { username: 'alice', password: keystone.member.password, project: 'nfv', user_domain: 'NoSuchDomain' },
    ];
    for (const body of wrong) {
      const response = await call(service, 'POST', '/ui/session', { body });
      expect(response.status, JSON.stringify(body.username)).toBe(401);
      expect(response.json).toEqual({ TackerError: { type: 'HTTPUnauthorized', message: 'Login failed: wrong user name, password, project or domain', detail: '' } });
      expect(response.setCookies).toEqual([]);
    }
  });

  it('refuses a login body with a missing, empty, mistyped or unknown field with 400, and no cookie', async () => {
    const { username, password, project } = keystone.member;
    const bodies: unknown[] = [
      { password, project },
      { username, project },
      { username, password },
      { username, password: '', project },
      { username, password: 42, project },
      { username, password, project, role: 'admin' },
      [username, password, project],
    ];
    for (const body of bodies) {
      const response = await call(service, 'POST', '/ui/session', { body });
      expect(response.status, JSON.stringify(Object.keys(body as object))).toBe(400);
      expect(response.json.TackerError.type).toBe('HTTPBadRequest');
      expect(response.setCookies).toEqual([]);
    }
    const notJson = await call(service, 'POST', '/ui/session', { rawBody: `username=${username}&password=x`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(notJson.status).toBe(415);
    expect(notJson.setCookies).toEqual([]);
  });

  it('refuses a state-changing call made with the cookie without the session\'s X-CSRF-Token with 403, changing nothing', async () => {
    const { cookie, session } = await login(keystone.member);
    const create = { vim: openstackVim({ name: 'csrf-vim' }) };
    for (const csrf of [undefined, '', 'wrong', `${session.csrf_token}x`, session.csrf_token.slice(1)]) {
      const created = await call(service, 'POST', '/v1.0/vims', { cookie, body: create, ...(csrf !== undefined && { csrf }) });
      expect(created.status).toBe(403);
      expect(created.json.TackerError.type).toBe('HTTPForbidden');
      const removed = await call(service, 'DELETE', `/v1.0/vims/${nfvVimId}`, { cookie, ...(csrf !== undefined && { csrf }) });
      expect(removed.status).toBe(403);
      const renamed = await call(service, 'PUT', `/v1.0/vims/${nfvVimId}`, { cookie, body: { vim: { description: 'changed' } }, ...(csrf !== undefined && { csrf }) });
      expect(renamed.status).toBe(403);
    }
    // Another session's CSRF token does not fit this one.
    const other = await login(keystone.member);
    expect((await call(service, 'POST', '/v1.0/vims', { cookie, csrf: other.session.csrf_token, body: create })).status).toBe(403);
    expect(await vimNames(cookie)).toEqual(['nfv-vim']);
    const vim = await call(service, 'GET', `/v1.0/vims/${nfvVimId}`, { cookie });
    expect(vim.json.vim.description).not.toBe('changed');
  });

  it('accepts a state-changing call with the cookie and the right X-CSRF-Token, in the session\'s tenant', async () => {
    const { cookie, session } = await login(keystone.member);
    const created = await call(service, 'POST', '/v1.0/vims', { cookie, csrf: session.csrf_token, body: { vim: openstackVim({ name: 'csrf-ok-vim' }) } });
    expect(created.status, created.text).toBe(201);
    expect(created.json.vim.tenant_id).toBe(nfvProjectId);
    const removed = await call(service, 'DELETE', `/v1.0/vims/${created.json.vim.id}`, { cookie, csrf: session.csrf_token });
    expect(removed.status).toBe(204);
    expect(await vimNames(cookie)).toEqual(['nfv-vim']);
  });

  it('leaves X-Auth-Token requests as they were: no CSRF token needed, and the token wins over a cookie', async () => {
    const alice = await keystone.issueToken(keystone.member);
    tokens.add(alice);
    const bob = await login(keystone.otherMember);
    const created = await call(service, 'POST', '/v1.0/vims', { token: alice, cookie: bob.cookie, body: { vim: openstackVim({ name: 'token-vim' }) } });
    expect(created.status, created.text).toBe(201);
    expect(created.json.vim.tenant_id).toBe(nfvProjectId);
    expect((await call(service, 'DELETE', `/v1.0/vims/${created.json.vim.id}`, { token: alice })).status).toBe(204);
    const listed = await call(service, 'GET', '/v1.0/vims', { token: alice, cookie: 'not-a-session' });
    expect(listed.status).toBe(200);
    expect(listed.setCookies).toEqual([]);
  });

  it('opens the event stream with the cookie alone, and refuses it without', async () => {
    const { cookie } = await login(keystone.member);
    const controller = new AbortController();
    const response = await fetch(`${service.url}/v1.0/events/stream`, { headers: { cookie: `${COOKIE}=${cookie}` }, signal: controller.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = response.body?.getReader();
    const first = await reader?.read();
    expect(new TextDecoder().decode(first?.value)).toContain('vim-monitor event stream');
    controller.abort();
    expect((await call(service, 'GET', '/v1.0/events/stream')).status).toBe(401);
  });

  it('answers an unknown or forged cookie with 401 and clears it', async () => {
    for (const cookie of ['forged', randomBytes(32).toString('base64url')]) {
      const response = await call(service, 'GET', '/v1.0/vims', { cookie });
      expect(response.status).toBe(401);
      expect(response.json.TackerError.type).toBe('HTTPUnauthorized');
      const cleared = parseSetCookie(response.setCookies[0] ?? '');
      expect(cleared).toMatchObject({ name: COOKIE, value: '' });
      expect(cleared.attributes.get('max-age')).toBe('0');
    }
  });

  it('logs out with the CSRF token: 204, the cookie cleared, the Keystone token revoked and the session of no more use', async () => {
    const { cookie, session } = await login(keystone.member);
    const token = await storedToken(service, cookie);
    expect(await vimNames(cookie)).toEqual(['nfv-vim']);

    const forged = await call(service, 'DELETE', '/ui/session', { cookie });
    expect(forged.status).toBe(403);
    expect(await vimNames(cookie)).toEqual(['nfv-vim']);

    const out = await call(service, 'DELETE', '/ui/session', { cookie, csrf: session.csrf_token });
    expect(out.status).toBe(204);
    expect(out.text).toBe('');
    const cleared = parseSetCookie(out.setCookies[0] ?? '');
    expect(cleared).toMatchObject({ name: COOKIE, value: '' });
    expect(cleared.attributes.get('max-age')).toBe('0');
    expect(Date.parse(String(cleared.attributes.get('expires')))).toBe(0);
    expect(cleared.attributes.get('path')).toBe('/');
    expect(cleared.attributes.get('httponly')).toBe(true);
    expect(cleared.attributes.get('samesite')).toBe('Strict');

    expect([401, 404]).toContain(await keystoneStatusOf(token));
    const after = await call(service, 'GET', '/v1.0/vims', { cookie });
    expect(after.status).toBe(401);
    expect(parseSetCookie(after.setCookies[0] ?? '').value).toBe('');
    expect((await call(service, 'GET', '/ui/session', { cookie })).status).toBe(401);
    expect((await call(service, 'DELETE', '/ui/session', { cookie, csrf: session.csrf_token })).status).toBe(401);
    const hash = createHash('sha256').update(cookie).digest('hex');
    expect(await service.store.db.selectFrom('ui_sessions').select('id_hash').where('id_hash', '=', hash).execute()).toEqual([]);
  });

  it('ends a session whose Keystone token was revoked elsewhere: 401, the cookie cleared, the row gone', async () => {
    const { cookie } = await login(keystone.otherMember);
    expect(await vimNames(cookie)).toEqual(['other-vim']);
    await keystone.revokeToken(await storedToken(service, cookie));
    // auth.keystone.cache_ttl is 1 s here: then the authenticator asks Keystone again.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const response = await call(service, 'GET', '/v1.0/vims', { cookie });
    expect(response.status).toBe(401);
    expect(parseSetCookie(response.setCookies[0] ?? '').value).toBe('');
    const hash = createHash('sha256').update(cookie).digest('hex');
    expect(await service.store.db.selectFrom('ui_sessions').select('id_hash').where('id_hash', '=', hash).execute()).toEqual([]);
  });

  it('ends a session after ui.session_ttl, and a later login prunes its row (and ui.secure_cookie always marks the cookie Secure)', async () => {
    const { cookie, session, response } = await login(keystone.member, shortLived);
    const set = parseSetCookie(response.setCookies[0] ?? '');
    expect(set.attributes.get('max-age')).toBe('1');
    expect([...set.attributes.keys()].sort()).toEqual(['expires', 'httponly', 'max-age', 'path', 'samesite', 'secure']);
    expect(Date.parse(session.expires_at) - Date.now()).toBeLessThanOrEqual(1000);
    expect(await vimNames(cookie, shortLived)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const expired = await call(shortLived, 'GET', '/ui/session', { cookie });
    expect(expired.status).toBe(401);
    const cleared = parseSetCookie(expired.setCookies[0] ?? '');
    expect(cleared.value).toBe('');
    expect(cleared.attributes.get('secure')).toBe(true);
    expect(await shortLived.store.db.selectFrom('ui_sessions').select('id_hash').execute()).toHaveLength(1);
    await login(keystone.member, shortLived);
    const left = await shortLived.store.db.selectFrom('ui_sessions').select('id_hash').execute();
    expect(left.map((row) => row.id_hash)).not.toContain(createHash('sha256').update(cookie).digest('hex'));
  });

  it('logs out even when Keystone is down (the session ends, a warning says the token lives on), and answers a login then with 503', async () => {
    const { cookie, session } = await login(keystone.member);
    await keystone.stop(); // the last test to need it
    const out = await call(service, 'DELETE', '/ui/session', { cookie, csrf: session.csrf_token });
    expect(out.status).toBe(204);
    expect(parseSetCookie(out.setCookies[0] ?? '').value).toBe('');
    expect((await call(service, 'GET', '/ui/session', { cookie })).status).toBe(401);
    expect(service.logText()).toContain('could not revoke the Keystone token of a dashboard session');
    const refused = await call(service, 'POST', '/ui/session', { body: { username: 'alice', password: keystone.member.password, project: 'nfv' } });
    expect(refused.status).toBe(503);
    expect(refused.json.TackerError.type).toBe('ServiceUnavailable');
    expect(refused.setCookies).toEqual([]);
  });

  it('never shows a password, a Keystone token or a session id in a response body or header, nor any of them or a CSRF token in the log', async () => {
    expect(seen.length).toBeGreaterThan(50);
    const passwords = [keystone.member.password, keystone.otherMember.password, keystone.admin.password, keystone.service.password];
    const responses = seen.join('\n');
    for (const secret of [...passwords, ...tokens]) expect(responses).not.toContain(secret);
    // A session id is only ever in the Set-Cookie header that hands it out.
    const withoutSetCookie = seen.map((text) => text.replace(/^set-cookie: .*$/gm, '')).join('\n');
    for (const id of sessionIds) expect(withoutSetCookie).not.toContain(id);

    const log = service.logText() + shortLived.logText();
    expect(log).toContain('dashboard session opened');
    expect(log).toContain('dashboard session closed');
    for (const secret of [...passwords, ...tokens, ...sessionIds]) expect(log).not.toContain(secret);
    const csrfTokens = seen.flatMap((text) => [...text.matchAll(/"csrf_token":"([^"]+)"/g)].map((match) => match[1] ?? ''));
    expect(csrfTokens.length).toBeGreaterThan(5);
    for (const csrf of csrfTokens) expect(log).not.toContain(csrf);
  });
});

describe('dashboard sessions under noauth', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('answers GET /ui/session with the noauth document: no login needed, no CSRF token', async () => {
    const response = await service.api('GET', '/ui/session');
    expect(response.status).toBe(200);
    expect(response.json).toEqual({
      session: { strategy: 'noauth', user_name: 'noauth', project_name: 'admin', project_id: 'admin', is_admin: true, csrf_token: '', expires_at: null },
    });
  });

  it('refuses a login with 400 and a logout with 404: there are no sessions', async () => {
    const login = await service.api('POST', '/ui/session', { body: { username: 'a', password: 'b', project: 'c' } });
    expect(login.status).toBe(400);
    expect(login.json.TackerError.type).toBe('HTTPBadRequest');
    const logout = await service.api('DELETE', '/ui/session', { headers: { 'x-csrf-token': '' } });
    expect(logout.status).toBe(404);
    expect(logout.json.TackerError.type).toBe('NotFound');
  });

  it('ignores a session cookie: API calls work as without it, state-changing ones need no CSRF token', async () => {
    const headers = { cookie: `${COOKIE}=${randomBytes(32).toString('base64url')}` };
    expect((await service.api('GET', '/v1.0/vims', { headers })).status).toBe(200);
    const created = await service.api('POST', '/v1.0/vims', { headers, body: { vim: openstackVim({ name: 'noauth-vim' }) } });
    expect(created.status).toBe(201);
  });
});
