/**
 * End to end with real parts only: a real Keystone (python3-keystone) in whose
 * catalog vim-monitor is registered as `nfv-orchestration`, vim-monitor with
 * `auth.strategy: keystone`, and the real python-tackerclient `openstack vim …`
 * commands run as different Keystone users.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { makeCertificate } from '../support/fixtures.js';
import { keystoneAuthConfig, startKeystone, type CliResult, type KeystoneFixture, type KeystoneUser } from '../support/keystone.js';
import { startTestService, type TestService } from '../support/service.js';

describe('the openstack vim CLI against vim-monitor with Keystone authentication', () => {
  const marker = `E2E-SECRET-${randomBytes(10).toString('hex')}`;
  const outputs: string[] = [];
  let keystone: KeystoneFixture;
  let service: TestService;
  let dir: string;

  beforeAll(async () => {
    keystone = await startKeystone();
    service = await startTestService({
      auth: keystoneAuthConfig(keystone),
      // Default probes (icmp, api): the OpenStack VIM points at the live Keystone, the Kubernetes one at a closed port.
      monitoring: { monitor: { interval: 0.5, timeout: 0.4, failure_threshold: 2, success_threshold: 2 } },
    });
    await keystone.registerNfvoEndpoint(`${service.url}/`);
    dir = mkdtempSync(join(tmpdir(), 'vim-monitor-e2e-'));
    writeFileSync(
      join(dir, 'openstack.yaml'),
      [
        `auth_url: '${keystone.url}'`,
        "username: 'nfv_user'",
        `password: '${marker}-os'`,
        "project_name: 'nfv'",
        "project_domain_name: 'Default'",
        "user_domain_name: 'Default'",
        "cert_verify: 'True'",
      ].join('\n'),
    );
    const ca = makeCertificate('e2e-ca');
    writeFileSync(
      join(dir, 'kubernetes.yaml'),
      [
        'type: kubernetes',
        "auth_url: 'https://127.0.0.1:6443'",
        "project_name: 'default'",
        `bearer_token: '${marker}-k8s'`,
        'ssl_ca_cert: |',
        ...ca.cert.trim().split('\n').map((line) => `  ${line}`),
      ].join('\n'),
    );
  }, 180_000);

  afterAll(async () => {
    await service?.stop();
    await keystone?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function showLogsOnFailure(): void {
    onTestFailed(async () => {
      console.error(service.logText().split('\n').slice(-60).join('\n'));
      console.error(await keystone.logTail(40));
    });
  }

  async function vim(user: KeystoneUser, ...args: string[]): Promise<CliResult> {
    const result = await keystone.runCli(user, ['vim', ...args], { cwd: dir });
    outputs.push(result.stdout, result.stderr);
    return result;
  }

  async function vimJson<T>(user: KeystoneUser, ...args: string[]): Promise<T> {
    const result = await vim(user, ...args, '-f', 'json');
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as T;
  }

  type Row = Record<string, unknown>;

  /** The CLI prints nested attributes (auth_cred, vim_project, placement_attr) as JSON text. */
  function nested(value: unknown): unknown {
    return typeof value === 'string' ? JSON.parse(value) : value;
  }

  it('registers an OpenStack and a Kubernetes VIM from vim_config.yaml files', async () => {
    showLogsOnFailure();
    const os = await vimJson<Row>(keystone.member, 'register', '--config-file', 'openstack.yaml', '--description', 'edge one', '--is-default', 'edge-os');
    expect(os).toMatchObject({ name: 'edge-os', type: 'openstack', description: 'edge one', is_default: true, status: 'PENDING' });
    expect(os.project_id ?? os.tenant_id).toBe(await keystone.projectId('nfv'));
    expect(os.auth_url).toBe(keystone.url);
    const k8s = await vimJson<Row>(keystone.member, 'register', '--config-file', 'kubernetes.yaml', 'edge-k8s');
    expect(k8s).toMatchObject({ name: 'edge-k8s', type: 'kubernetes', status: 'PENDING' });
    expect(nested(k8s.vim_project)).toEqual({ name: 'default' });
    expect(nested(k8s.auth_cred)).toMatchObject({ bearer_token: '***', ssl_ca_cert: '***' });
  });

  it('lists both with the columns operators know: REACHABLE for the live VIM, UNREACHABLE for the one that is down', async () => {
    showLogsOnFailure();
    const listed = async () => Object.fromEntries((await vimJson<Row[]>(keystone.member, 'list')).map((r) => [r.Name, r.Status]));
    let statuses = await listed();
    for (let attempt = 0; attempt < 10 && (statuses['edge-os'] !== 'REACHABLE' || statuses['edge-k8s'] !== 'UNREACHABLE'); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      statuses = await listed();
    }
    expect(statuses).toEqual({ 'edge-os': 'REACHABLE', 'edge-k8s': 'UNREACHABLE' });
    const rows = await vimJson<Row[]>(keystone.member, 'list');
    expect(Object.keys(rows[0] ?? {})).toEqual(['ID', 'Name', 'Tenant_id', 'Type', 'Is Default', 'Status']);
  });

  it('shows one by name with secrets masked', async () => {
    showLogsOnFailure();
    const shown = await vimJson<Row>(keystone.member, 'show', 'edge-os');
    expect(nested(shown.auth_cred)).toMatchObject({ username: 'nfv_user', password: '***', project_name: 'nfv' });
    expect(nested(shown.vim_project)).toEqual({ name: 'nfv', project_domain_name: 'Default' });
  });

  it('updates name, description and default flag with vim set', async () => {
    showLogsOnFailure();
    const set = await vim(keystone.member, 'set', 'edge-os', '--name', 'edge-renamed', '--description', 'moved', '--is-default', 'False');
    expect(set.code, set.stderr).toBe(0);
    const shown = await vimJson<Row>(keystone.member, 'show', 'edge-renamed');
    expect(shown).toMatchObject({ name: 'edge-renamed', description: 'moved', is_default: false });
    expect(shown.updated_at).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/);
  });

  it('prints the service error message for a duplicate name and exits 1', async () => {
    showLogsOnFailure();
    const duplicate = await vim(keystone.member, 'register', '--config-file', 'openstack.yaml', 'edge-k8s');
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain("A VIM named 'edge-k8s' already exists");
  });

  it('hides one project VIMs from a member of another project', async () => {
    showLogsOnFailure();
    expect(await vimJson<Row[]>(keystone.otherMember, 'list')).toEqual([]);
    const show = await vim(keystone.otherMember, 'show', 'edge-k8s');
    expect(show.code).toBe(1);
    expect(show.stderr).toMatch(/Unable to find vim with name 'edge-k8s'/);
    const ids = (await vimJson<Row[]>(keystone.member, 'list')).map((r) => String(r.ID));
    const byId = await vim(keystone.otherMember, 'delete', ids[0] ?? '');
    expect(byId.code).toBe(1);
    expect((await vimJson<Row[]>(keystone.member, 'list')).length).toBe(2);
  });

  it('lets an administrator see every project VIMs', async () => {
    showLogsOnFailure();
    const rows = await vimJson<Row[]>(keystone.admin, 'list');
    expect(rows.map((r) => r.Name).sort()).toEqual(['edge-k8s', 'edge-renamed']);
  });

  it('refuses requests without a token, with a garbage token and with a revoked token (401)', async () => {
    showLogsOnFailure();
    const missing = await service.api('GET', '/v1.0/vims');
    expect(missing.status).toBe(401);
    expect(missing.json.TackerError).toMatchObject({ type: 'HTTPUnauthorized', detail: '' });
    expect((await service.api('GET', '/v1.0/vims', { headers: { 'x-auth-token': 'not-a-token' } })).status).toBe(401);

    const token = await keystone.issueToken(keystone.member);
    expect((await service.api('GET', '/v1.0/vims', { headers: { 'x-auth-token': token } })).status).toBe(200);
    await keystone.revokeToken(token);
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // cache_ttl is 1 s in this test
    const revoked = await service.api('GET', '/v1.0/vims', { headers: { 'x-auth-token': token } });
    expect(revoked.status).toBe(401);
    expect(revoked.json.TackerError.message).toMatch(/invalid or expired/);
  });

  it('deletes both VIMs with one vim delete', async () => {
    showLogsOnFailure();
    const deleted = await vim(keystone.member, 'delete', 'edge-renamed', 'edge-k8s');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(await vimJson<Row[]>(keystone.member, 'list')).toEqual([]);
  });

  it('never shows a registered secret in any CLI output or in the service log', () => {
    expect(outputs.join('').length).toBeGreaterThan(1000);
    expect(outputs.join('\n')).not.toContain(marker);
    expect(service.logText()).not.toContain(marker);
  });
});
