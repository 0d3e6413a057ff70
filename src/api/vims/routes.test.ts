import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { kubernetesVim, makeCertificate, openstackVim } from '../../../test/support/fixtures.js';
import { startTestService, type TestService } from '../../../test/support/service.js';

const TACKER_TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/;

describe('the Tacker v1.0 VIM API', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => {
    await service?.stop();
  });
  beforeEach(async () => {
    const { json } = await service.api('GET', '/v1.0/vims?fields=id');
    for (const vim of json.vims as Array<{ id: string }>) await service.api('DELETE', `/v1.0/vims/${vim.id}`);
  });

  async function register(vim: Record<string, unknown>) {
    const response = await service.api('POST', '/v1.0/vims.json', { body: { vim } });
    expect(response.status, response.text).toBe(201);
    return response.json.vim;
  }

  it('registers an OpenStack VIM, appends /v3, masks the password and starts PENDING', async () => {
    const vim = await register(openstackVim({ description: 'site 1', is_default: true }));
    expect(vim).toMatchObject({
      name: 'edge-1',
      type: 'openstack',
      description: 'site 1',
      tenant_id: 'admin',
      auth_url: 'http://127.0.0.1:5000/v3',
      is_default: true,
      status: 'PENDING',
      placement_attr: { regions: [] },
      extra: {},
      vim_project: { name: 'nfv', project_domain_name: 'Default' },
      updated_at: null,
    });
    expect(vim.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(vim.created_at).toMatch(TACKER_TIMESTAMP);
    expect(vim.auth_cred).toEqual({
      username: 'nfv_user',
      password: '***',
      user_domain_name: 'Default',
      cert_verify: 'True',
      auth_url: 'http://127.0.0.1:5000/v3',
      project_id: null,
      project_name: 'nfv',
      project_domain_name: 'Default',
      key_type: 'aes-256-gcm',
    });
  });

  it('serves every path with and without the .json suffix', async () => {
    const vim = await register(openstackVim());
    for (const path of ['/v1.0/vims', '/v1.0/vims.json']) {
      expect((await service.api('GET', path)).json.vims).toHaveLength(1);
    }
    for (const path of [`/v1.0/vims/${vim.id}`, `/v1.0/vims/${vim.id}.json`]) {
      expect((await service.api('GET', path)).json.vim.id).toBe(vim.id);
    }
    expect((await service.api('PUT', `/v1.0/vims/${vim.id}.json`, { body: { vim: { description: 'x' } } })).status).toBe(200);
    expect((await service.api('DELETE', `/v1.0/vims/${vim.id}.json`)).status).toBe(204);
  });

  it('resolves names and ids the way the CLI does: attribute filters with fields=id', async () => {
    const a = await register(openstackVim({ name: 'a' }));
    await register(kubernetesVim({ name: 'b' }));
    expect((await service.api('GET', '/v1.0/vims.json?name=a&fields=id')).json).toEqual({ vims: [{ id: a.id }] });
    expect((await service.api('GET', `/v1.0/vims.json?id=${a.id}&fields=id`)).json).toEqual({ vims: [{ id: a.id }] });
    expect((await service.api('GET', '/v1.0/vims?type=kubernetes&fields=name&fields=type')).json).toEqual({
      vims: [{ name: 'b', type: 'kubernetes' }],
    });
    expect((await service.api('GET', '/v1.0/vims?name=a&name=b&fields=name')).json.vims).toHaveLength(2);
    expect((await service.api('GET', '/v1.0/vims?name=nothing')).json).toEqual({ vims: [] });
  });

  it('registers Kubernetes VIMs with token, basic, OIDC and client-certificate credentials and a CA bundle', async () => {
    const ca = makeCertificate('ca-one');
    const ca2 = makeCertificate('ca-two');
    const client = makeCertificate('client');
    const shapes = [
      { bearer_token: 't0ken', ssl_ca_cert: ca.cert + ca2.cert },
      { username: 'admin', password: 'pw' },
      { oidc_token_url: 'https://127.0.0.1:8443/token', client_id: 'k8s', client_secret: 's3c', username: 'u', password: 'p' },
      { client_cert: client.cert, client_key: client.key, ssl_ca_cert: ca.cert },
    ];
    for (const [index, auth_cred] of shapes.entries()) {
      const vim = await register(kubernetesVim({ name: `k${index}`, auth_cred, auth_url: 'https://[::1]:6443/' }));
      expect(vim.auth_url).toBe('https://[::1]:6443');
      for (const [key, value] of Object.entries(vim.auth_cred as Record<string, string>)) {
        if (['password', 'bearer_token', 'client_secret', 'client_key', 'client_cert', 'ssl_ca_cert'].includes(key)) {
          expect(value, key).toBe('***');
        }
      }
      expect(JSON.stringify(vim)).not.toContain('BEGIN');
    }
  });

  it('updates name, description, default flag and credentials, and sets updated_at', async () => {
    const vim = await register(openstackVim());
    const response = await service.api('PUT', `/v1.0/vims/${vim.id}`, {
      body: { vim: { name: 'renamed', description: 'd', is_default: true, auth_cred: { password: 'new-pw' }, extra: { site: 7 } } },
    });
    expect(response.status, response.text).toBe(200);
    expect(response.json.vim).toMatchObject({ name: 'renamed', description: 'd', is_default: true, extra: { site: 7 } });
    expect(response.json.vim.auth_cred).toMatchObject({ username: 'nfv_user', password: '***' });
    expect(response.json.vim.updated_at).toMatch(TACKER_TIMESTAMP);
    const credentials = service.registry.credentialsOf(await service.registry.get({ projectId: 'admin', isAdmin: true }, vim.id));
    expect(credentials.password).toBe('new-pw');
  });

  it('deletes a VIM and then reports it as not found', async () => {
    const vim = await register(openstackVim());
    const deleted = await service.api('DELETE', `/v1.0/vims/${vim.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    const shown = await service.api('GET', `/v1.0/vims/${vim.id}`);
    expect(shown.status).toBe(404);
    expect(shown.json.TackerError.type).toBe('VimNotFoundException');
  });

  it('keeps tenants apart by X-Project-Id in noauth mode and assigns the caller tenant by default', async () => {
    const vim = await register(openstackVim());
    const other = await service.api('POST', '/v1.0/vims', {
      body: { vim: openstackVim() },
      headers: { 'x-project-id': 'tenant-b' },
    });
    expect(other.status, other.text).toBe(201);
    expect(other.json.vim.tenant_id).toBe('tenant-b');
    expect(vim.tenant_id).toBe('admin');
  });

  describe('refuses bad input with a TackerError and changes nothing', () => {
    const cases: Array<[string, string, string, { body?: unknown; rawBody?: string }, number, RegExp]> = [
      ['malformed JSON', 'POST', '/v1.0/vims', { rawBody: '{"vim": {' }, 400, /not valid JSON/],
      ['an empty body', 'POST', '/v1.0/vims', { rawBody: '' }, 400, /empty/],
      ['a body that is not an object', 'POST', '/v1.0/vims', { body: [1] }, 400, /must be object/],
      ['a missing vim wrapper', 'POST', '/v1.0/vims', { body: openstackVim() }, 400, /Unrecognized attribute 'name'|Missing attribute 'vim'/],
      ['an unknown attribute', 'POST', '/v1.0/vims', { body: { vim: openstackVim({ colour: 'red' }) } }, 400, /Unrecognized attribute 'vim.colour'/],
      ['a read-only attribute', 'POST', '/v1.0/vims', { body: { vim: openstackVim({ status: 'REACHABLE' }) } }, 400, /'vim.status' is read-only/],
      ['a client-chosen id', 'POST', '/v1.0/vims', { body: { vim: openstackVim({ id: 'x' }) } }, 400, /'vim.id' is read-only/],
      ['a wrong type', 'POST', '/v1.0/vims', { body: { vim: openstackVim({ is_default: 'yes' }) } }, 400, /'vim.is_default': must be boolean/],
      ['an unknown VIM type', 'POST', '/v1.0/vims', { body: { vim: openstackVim({ type: 'vmware' }) } }, 400, /must be one of openstack, kubernetes/],
      ['a missing auth_url', 'POST', '/v1.0/vims', { body: { vim: { ...openstackVim(), auth_url: undefined } } }, 400, /Missing attribute 'vim.auth_url'/],
      ['a relative auth_url', 'POST', '/v1.0/vims', { body: { vim: openstackVim({ auth_url: 'keystone:5000' }) } }, 400, /scheme must be http or https|not an absolute URL/],
      ['a non-http auth_url', 'POST', '/v1.0/vims', { body: { vim: openstackVim({ auth_url: 'ftp://h/' }) } }, 400, /scheme must be http or https/],
      ['an empty name', 'POST', '/v1.0/vims', { body: { vim: openstackVim({ name: '  ' }) } }, 400, /name must not be empty/],
      ['a name over 255 characters', 'POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'n'.repeat(256) }) } }, 400, /vim.name/],
      ['OpenStack credentials without a password', 'POST', '/v1.0/vims', { body: { vim: openstackVim({ auth_cred: { username: 'u' } }) } }, 400, /needs 'password'/],
      ['an unknown credential field', 'POST', '/v1.0/vims', { body: { vim: openstackVim({ auth_cred: { username: 'u', password: 'p', tokn: 'x' } }) } }, 400, /auth_cred.tokn/],
      ['Kubernetes without any credential', 'POST', '/v1.0/vims', { body: { vim: kubernetesVim({ auth_cred: {} }) } }, 400, /needs one authentication method/],
      ['a CA that is not a certificate', 'POST', '/v1.0/vims', { body: { vim: kubernetesVim({ auth_cred: { bearer_token: 't', ssl_ca_cert: 'not a pem' } }) } }, 400, /PEM certificates/],
      ['an invalid namespace', 'POST', '/v1.0/vims', { body: { vim: kubernetesVim({ vim_project: { name: 'Bad_NS' } }) } }, 400, /not a valid Kubernetes namespace/],
      ['an update of the VIM type', 'PUT', '/v1.0/vims/ID', { body: { vim: { type: 'kubernetes' } } }, 400, /'vim.type' is read-only or cannot be changed/],
      ['an update of auth_url', 'PUT', '/v1.0/vims/ID', { body: { vim: { auth_url: 'http://other:5000/v3' } } }, 400, /'vim.auth_url'/],
      ['an update of status', 'PUT', '/v1.0/vims/ID', { body: { vim: { status: 'REACHABLE' } } }, 400, /'vim.status' is read-only/],
      ['a confirmation quorum larger than its count', 'POST', '/v1.0/vims', { body: { vim: openstackVim({ monitor_settings: { confirm: { count: 1, quorum: 2 } } }) } }, 400, /monitor_settings\.confirm: quorum \(2\) must not be larger than count \(1\)/],
      ['an update to a confirmation quorum larger than its count', 'PUT', '/v1.0/vims/ID', { body: { vim: { monitor_settings: { confirm: { count: 2, quorum: 3 } } } } }, 400, /quorum \(3\) must not be larger than count \(2\)/],
      ['an unknown confirmation key', 'POST', '/v1.0/vims', { body: { vim: openstackVim({ monitor_settings: { confirm: { zones: 2 } } }) } }, 400, /monitor_settings\.confirm\.zones/],
      ['an unknown VIM id', 'GET', '/v1.0/vims/00000000-0000-0000-0000-000000000000', {}, 404, /could not be found/],
      ['an update of an unknown VIM', 'PUT', '/v1.0/vims/00000000-0000-0000-0000-000000000000', { body: { vim: { name: 'x' } } }, 404, /could not be found/],
      ['a delete of an unknown VIM', 'DELETE', '/v1.0/vims/00000000-0000-0000-0000-000000000000', {}, 404, /could not be found/],
      ['an unknown list filter', 'GET', '/v1.0/vims?colour=red', {}, 400, /Unknown query parameter 'colour'/],
      ['an unknown path', 'GET', '/v1.0/nothing', {}, 404, /could not be found/],
      ['a body over 1 MiB', 'POST', '/v1.0/vims', { body: { vim: openstackVim({ description: 'x'.repeat(1_100_000) }) } }, 413, /larger than the limit/],
    ];

    it.each(cases)('%s', async (_what, method, path, request, status, message) => {
      const existing = await register(openstackVim({ name: 'existing' }));
      const before = (await service.api('GET', '/v1.0/vims')).json;
      const response = await service.api(method, path.replace('ID', existing.id), request);
      expect(response.status, response.text).toBe(status);
      expect(Object.keys(response.json)).toEqual(['TackerError']);
      expect(response.json.TackerError).toEqual({ type: expect.any(String), message: expect.stringMatching(message), detail: '' });
      expect((await service.api('GET', '/v1.0/vims')).json).toEqual(before);
    });

    it('a second VIM with the same name in a tenant: 409 DuplicateEntity', async () => {
      await register(openstackVim());
      const response = await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim() } });
      expect(response.status).toBe(409);
      expect(response.json.TackerError.type).toBe('DuplicateEntity');
      expect((await service.api('GET', '/v1.0/vims')).json.vims).toHaveLength(1);
    });

    it('a second default VIM in a tenant, on create and on update: 409 naming the existing default', async () => {
      const first = await register(openstackVim({ name: 'a', is_default: true }));
      const second = await register(openstackVim({ name: 'b' }));
      const created = await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'c', is_default: true }) } });
      expect(created.status).toBe(409);
      expect(created.json.TackerError.message).toContain(first.id);
      const updated = await service.api('PUT', `/v1.0/vims/${second.id}`, { body: { vim: { is_default: true } } });
      expect(updated.status).toBe(409);
      expect(updated.json.TackerError.type).toBe('VimDefaultDuplicateException');
      const defaults = (await service.api('GET', '/v1.0/vims?is_default=true&fields=id')).json.vims;
      expect(defaults).toEqual([{ id: first.id }]);
    });

    it('a rename onto another VIM name: 409 and the VIM keeps its name', async () => {
      await register(openstackVim({ name: 'a' }));
      const b = await register(openstackVim({ name: 'b' }));
      const response = await service.api('PUT', `/v1.0/vims/${b.id}`, { body: { vim: { name: 'a' } } });
      expect(response.status).toBe(409);
      expect((await service.api('GET', `/v1.0/vims/${b.id}`)).json.vim.name).toBe('b');
    });
  });
});
