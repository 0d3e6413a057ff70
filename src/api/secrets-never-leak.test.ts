import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubernetesVim, openstackVim } from '../../test/support/fixtures.js';
import { startTestService, type TestService } from '../../test/support/service.js';

/**
 * Registers, updates, lists, shows and mis-registers VIMs whose every secret
 * holds one unique marker, then searches every response body, the whole
 * service log (at trace level) and the database files for it.
 */
describe('secrets', () => {
  const marker = `SECRET-${randomBytes(12).toString('hex')}`;
  let service: TestService;
  const bodies: string[] = [];

  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => {
    await service?.stop();
  });

  async function call(method: string, path: string, body?: unknown) {
    const response = await service.api(method, path, body === undefined ? {} : { body });
    bodies.push(response.text);
    return response;
  }

  it('never appear in responses, logs, errors or the database file', async () => {
    const os = await call('POST', '/v1.0/vims.json', {
      vim: openstackVim({ auth_cred: { username: 'u', password: `${marker}-pw` } }),
    });
    expect(os.status).toBe(201);
    const k8s = [
      { bearer_token: `${marker}-token` },
      { username: 'u', password: `${marker}-basic` },
      { oidc_token_url: 'https://127.0.0.1:8443/token', client_id: 'c', client_secret: `${marker}-cs`, username: 'u', password: `${marker}-op` },
    ];
    const ids: string[] = [os.json.vim.id];
    for (const [index, auth_cred] of k8s.entries()) {
      const created = await call('POST', '/v1.0/vims', { vim: kubernetesVim({ name: `k${index}`, auth_cred }) });
      expect(created.status, created.text).toBe(201);
      ids.push(created.json.vim.id);
    }
    await call('PUT', `/v1.0/vims/${ids[0]}.json`, { vim: { auth_cred: { password: `${marker}-rotated` } } });
    await call('PUT', `/v1.0/vims/${ids[1]}`, { vim: { auth_cred: { username: 'x', password: `${marker}-switch` } } });
    await call('GET', '/v1.0/vims.json');
    for (const id of ids) await call('GET', `/v1.0/vims/${id}.json`);

    // Refused requests whose offending value is itself a secret.
    const refused = [
      await call('POST', '/v1.0/vims', { vim: kubernetesVim({ name: 'bad-ca', auth_cred: { bearer_token: 't', ssl_ca_cert: `${marker}-ca` } }) }),
      await call('POST', '/v1.0/vims', { vim: kubernetesVim({ name: 'bad-key', auth_cred: { client_cert: `${marker}-c`, client_key: `${marker}-k` } }) }),
      await call('POST', '/v1.0/vims', { vim: openstackVim({ name: 'bad-field', auth_cred: { username: 'u', password: 'p', [`${marker}`]: marker } }) }),
      await call('POST', '/v1.0/vims', { vim: openstackVim({ name: 'bad-url', auth_url: `http://user:${marker}@h:5000/` }) }),
      await call('POST', '/v1.0/vims', { vim: openstackVim({ name: 'bad-type', auth_cred: { username: 'u', password: 12 } }) }),
      await call('PUT', `/v1.0/vims/${ids[2]}`, { vim: { auth_cred: { password: `${marker}`, bogus: true } } }),
    ];
    for (const response of refused) expect(response.status, response.text).toBeGreaterThanOrEqual(400);

    for (const body of bodies) expect(body).not.toContain(marker);
    const log = service.logText();
    expect(log.length).toBeGreaterThan(1000); // the log really was captured
    expect(log).not.toContain(marker);

    // Encrypted at rest: the SQLite file and its WAL hold no plaintext either.
    const files = readdirSync(service.dataDir).filter((f) => f.startsWith('vim-monitor.db'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(readFileSync(join(service.dataDir, file)).toString('latin1')).not.toContain(marker);
  });
});
