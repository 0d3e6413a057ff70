import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../../test/support/service.js';
import { stripJsonSuffix } from './server.js';

describe('the API server', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('strips the .json suffix python-tackerclient appends, before any query string', () => {
    expect(stripJsonSuffix('/v1.0/vims.json?name=a.json')).toBe('/v1.0/vims?name=a.json');
    expect(stripJsonSuffix('/v1.0/vims/abc.json')).toBe('/v1.0/vims/abc');
    expect(stripJsonSuffix('/v1.0/vims')).toBe('/v1.0/vims');
  });

  it('answers version discovery on / with v1.0', async () => {
    const response = await service.api('GET', '/');
    expect(response.status).toBe(200);
    expect(response.json.versions[0]).toMatchObject({ id: 'v1.0', status: 'CURRENT' });
  });

  it('sends a browser asking for / to the dashboard, and keeps the version document for python-tackerclient, */* and JSON', async () => {
    const browser = await fetch(`${service.url}/`, { redirect: 'manual', headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' } });
    expect(browser.status).toBe(302);
    expect(browser.headers.get('location')).toBe('/ui/');
    expect(browser.headers.get('vary')).toMatch(/accept/i);
    for (const accept of [undefined, '*/*', 'application/json']) {
      const response = await service.api('GET', '/', { headers: accept === undefined ? {} : { accept } });
      expect(response.status, String(accept)).toBe(200);
      expect(response.json.versions[0], String(accept)).toMatchObject({ id: 'v1.0', status: 'CURRENT' });
    }
  });

  it('describes itself in an OpenAPI document generated from the validation schemas', async () => {
    const response = await service.api('GET', '/v1.0/openapi.json');
    expect(response.status).toBe(200);
    expect(response.json.openapi).toMatch(/^3\./);
    const create = response.json.paths['/v1.0/vims'].post;
    expect(create.requestBody.content['application/json'].schema.properties.vim.required).toEqual([
      'name', 'type', 'auth_url', 'auth_cred', 'vim_project',
    ]);
    expect(Object.keys(response.json.paths)).toEqual(expect.arrayContaining(['/v1.0/vims', '/v1.0/vims/{id}']));
  });
});
