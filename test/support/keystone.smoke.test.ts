/**
 * Smoke test of the Keystone fixture and of the real `openstack` CLI against it.
 * Needs the Debian packages python3-keystone, python3-openstackclient and
 * python3-tackerclient (see .ci/run).
 */
import { describe, it, expect, beforeAll, afterAll, onTestFailed } from 'vitest';
import { startKeystone, type KeystoneFixture } from './keystone.js';

describe('Keystone test fixture', () => {
  let k: KeystoneFixture;

  beforeAll(async () => {
    k = await startKeystone();
    console.log(`Keystone at ${k.url} started in ${k.startupMs} ms`, k.startupPhases);
  });

  afterAll(async () => {
    await k?.stop();
  });

  function printLogsOnFailure(): void {
    onTestFailed(async () => {
      console.error(await k.logTail(80));
    });
  }

  /** GET /v3/auth/tokens: validate `subject` with `token`, as a service would. */
  async function validate(token: string, subject: string): Promise<number> {
    const res = await fetch(`${k.url}/auth/tokens`, {
      headers: { 'x-auth-token': token, 'x-subject-token': subject, accept: 'application/json' },
    });
    await res.arrayBuffer();
    return res.status;
  }

  it('answers GET /v3 on 127.0.0.1', async () => {
    printLogsOnFailure();
    expect(k.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v3$/);
    const res = await fetch(k.url);
    expect(res.status).toBe(200);
    const body: unknown = await res.json();
    expect(body).toMatchObject({ version: { status: 'stable' } });
  });

  it('issues a project-scoped token for the member', async () => {
    printLogsOnFailure();
    const info = await k.authenticate(k.member);
    expect(info.token.length).toBeGreaterThan(100);
    expect(info.projectId).toBe(await k.projectId('nfv'));
    expect(info.roles).toContain('member');
    expect(await k.issueToken(k.member)).toEqual(expect.any(String));
  });

  it('lets the service user validate user tokens, and not a plain member', async () => {
    printLogsOnFailure();
    const memberToken = await k.issueToken(k.member);
    const serviceInfo = await k.authenticate(k.service);
    expect(serviceInfo.projectId).toBe(await k.projectId('service'));
    expect(serviceInfo.roles).toEqual(expect.arrayContaining(['admin', 'service']));
    expect(await validate(serviceInfo.token, memberToken)).toBe(200);
    expect(await validate(await k.issueToken(k.otherMember), memberToken)).toBe(403);
  });

  it('runs `openstack token issue` with cliEnv', async () => {
    printLogsOnFailure();
    const res = await k.runCli(k.member, ['token', 'issue', '-f', 'json']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const out: unknown = JSON.parse(res.stdout);
    expect(out).toMatchObject({ project_id: await k.projectId('nfv'), user_id: await k.userId('alice') });
    const env = k.cliEnv(k.member);
    expect(env).toMatchObject({ OS_AUTH_URL: k.url, OS_USERNAME: 'alice', OS_PROJECT_NAME: 'nfv', OS_IDENTITY_API_VERSION: '3' });
  });

  it('puts the nfv-orchestration endpoint in the catalog for `openstack vim list`', async () => {
    printLogsOnFailure();
    // Before: the CLI cannot find the service.
    await k.unregisterNfvoEndpoint();
    const before = await k.runCli(k.member, ['vim', 'list']);
    expect(before.code).not.toBe(0);
    expect(before.stderr).toMatch(/nfv-orchestration/);

    // After: it finds http://127.0.0.1:9/ (nothing listens there) and fails to connect.
    await k.registerNfvoEndpoint('http://127.0.0.1:9/');
    await k.registerNfvoEndpoint('http://127.0.0.1:9/'); // replaceable
    const catalog = await k.runCli(k.member, ['catalog', 'show', 'nfv-orchestration', '-f', 'json']);
    expect(catalog.code).toBe(0);
    expect(catalog.stdout.match(/127\.0\.0\.1:9\//g)).toHaveLength(3); // public, internal, admin

    const after = await k.runCli(k.member, ['vim', 'list']);
    expect(after.code).not.toBe(0);
    expect(after.stderr).toMatch(/Connection refused|Failed to connect|Unable to establish connection/i);
    expect(after.stderr).toContain('127.0.0.1:9');
  });

  it('revokes tokens when a password changes', async () => {
    printLogsOnFailure();
    const carol = await k.createUser('carol', 'nfv');
    const serviceToken = await k.issueToken(k.service);
    const old = await k.issueToken(carol);
    expect(await validate(serviceToken, old)).toBe(200);

    const changed = await k.changePassword(carol, 'carol-new-password');
    expect(await validate(serviceToken, old)).toBe(404);
    await expect(k.issueToken(carol)).rejects.toThrow(/401/);
    expect(await validate(serviceToken, await k.issueToken(changed))).toBe(200);

    await k.setUserEnabled(changed, false);
    await expect(k.issueToken(changed)).rejects.toThrow(/401/);
    await k.deleteUser(changed);
  });
});
