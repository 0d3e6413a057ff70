import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/databases.js';
import { openstackVim } from '../../test/support/fixtures.js';
import { startTestService, type TestService } from '../../test/support/service.js';
import { TcpProxy } from '../../test/support/tcp-proxy.js';

describe.each(['postgres', 'mysql'] as const)('when %s becomes unreachable', (dialect) => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let service: TestService;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    const target = new URL(database.url);
    proxy = new TcpProxy(target.hostname, Number(target.port));
    const port = await proxy.start();
    target.port = String(port);
    service = await startTestService({ databaseUrl: target.toString() });
  });
  afterAll(async () => {
    await service?.stop();
    await proxy?.cut();
    await database?.drop();
  });

  it('answers 503 ServiceUnavailable meanwhile and serves again once it is back', async () => {
    const created = await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim() } });
    expect(created.status).toBe(201);

    await proxy.cut();
    for (const [method, path, body] of [
      ['GET', '/v1.0/vims', undefined],
      ['GET', `/v1.0/vims/${created.json.vim.id}`, undefined],
      ['POST', '/v1.0/vims', { vim: openstackVim({ name: 'while-down' }) }],
    ] as const) {
      const response = await service.api(method, path, body ? { body } : {});
      expect(response.status, response.text).toBe(503);
      expect(response.json.TackerError).toMatchObject({ type: 'ServiceUnavailable', message: expect.stringMatching(/database is unavailable/) });
    }

    await proxy.restore();
    let listed = await service.api('GET', '/v1.0/vims');
    // The pool may hand out one connection that broke during the outage before noticing.
    for (let attempt = 0; listed.status !== 200 && attempt < 20; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      listed = await service.api('GET', '/v1.0/vims');
    }
    expect(listed.status).toBe(200);
    expect(listed.json.vims.map((v: { name: string }) => v.name)).toEqual(['edge-1']);
  });
});
