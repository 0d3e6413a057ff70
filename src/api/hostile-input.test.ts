import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Selectable } from 'kysely';
import { openStore, type Store } from '../store/database.js';
import type { VimsTable } from '../store/schema.js';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../../test/support/databases.js';
import { kubernetesVim, makeCertificate, openstackVim } from '../../test/support/fixtures.js';
import { startTestService, type TestService } from '../../test/support/service.js';
import { WebhookReceiver } from '../../test/support/webhook-receiver.js';

/** `{"a":{"a":…{}}}` nested `levels` deep, as text (JSON.stringify of such an object would be as deep). */
function nested(levels: number): string {
  return '{"a":'.repeat(levels) + '{}' + '}'.repeat(levels);
}

interface HostileCase {
  name: string;
  method: string;
  /** `{vim}` is replaced by the id of the VIM registered before the cases. */
  path: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  status: number;
  type: string;
}

const LONG_PROJECT = 'p'.repeat(65);

/** Real PEM certificates, repeated to at least `bytes`: a CA bundle as large as some distributions ship. */
function caBundle(bytes: number): string {
  const one = makeCertificate('hostile-ca').cert;
  return one.repeat(Math.ceil(bytes / one.length));
}

function cases(callbackUrl: string): HostileCase[] {
  const bad = (name: string, method: string, path: string, extra: Partial<HostileCase> = {}): HostileCase => ({
    name, method, path, status: 400, type: 'HTTPBadRequest', ...extra,
  });
  return [
    // Item 4: depth and size of schema-free fields.
    bad('extra nested 4,000 levels on create', 'POST', '/v1.0/vims', {
      rawBody: `{"vim":${JSON.stringify(openstackVim({ name: 'deep' })).slice(0, -1)},"extra":${nested(4000)}}}`,
    }),
    bad('extra nested 40 levels on update', 'PUT', '/v1.0/vims/{vim}', { rawBody: `{"vim":{"extra":${nested(40)}}}` }),
    bad('a body that is only nesting', 'POST', '/v1.0/vims', { rawBody: '['.repeat(100_000) + ']'.repeat(100_000) }),
    bad('extra of 40 KiB', 'POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'big', extra: { blob: 'x'.repeat(40_000) } }) } }),
    bad('extra of 40 KiB on update', 'PUT', '/v1.0/vims/{vim}', { body: { vim: { extra: { blob: 'x'.repeat(40_000) } } } }),
    bad('an extra of 5,000 keys', 'POST', '/v1.0/vims', {
      body: { vim: openstackVim({ name: 'wide', extra: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`key${i}`, i])) }) },
    }),
    bad('a 60 KiB CA bundle in auth_cred (too large for MariaDB once sealed)', 'POST', '/v1.0/vims', {
      body: { vim: kubernetesVim({ name: 'big-ca', auth_cred: { bearer_token: 't', ssl_ca_cert: caBundle(60_000) } }) },
    }),
    bad('a subscription filter of 1,000 64-character ids', 'POST', '/v1.0/subscriptions', {
      body: { subscription: { callback_url: callbackUrl, filter: { vim_ids: Array.from({ length: 1000 }, (_, i) => String(i).padStart(64, 'v')) } } },
    }),
    // Item 5: NUL, lone surrogates, integers beyond bigint, over-long headers.
    bad('NUL in a name', 'POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'a\u0000b' }) } }),
    bad('NUL in a description on update', 'PUT', '/v1.0/vims/{vim}', { body: { vim: { description: 'x\u0000' } } }),
    bad('NUL in a key of extra', 'POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'nul-key', extra: { 'a\u0000': 1 } }) } }),
    bad('NUL in a subscription callback', 'POST', '/v1.0/subscriptions', { body: { subscription: { callback_url: `${callbackUrl}\u0000` } } }),
    bad('a lone surrogate in a name', 'POST', '/v1.0/vims', { rawBody: `{"vim":${JSON.stringify(openstackVim({ name: 'x' })).replace('"x"', '"\\ud800"')}}` }),
    bad('NUL in a VIM id', 'GET', '/v1.0/vims/%00'),
    bad('NUL in a VIM id on delete', 'DELETE', '/v1.0/vims/a%00'),
    // Wider than the id column (36): an unknown VIM like any other, on every database.
    bad('an id longer than the id column', 'GET', `/v1.0/vims/${'f'.repeat(64)}`, { status: 404, type: 'VimNotFoundException' }),
    bad('NUL in a list filter', 'GET', '/v1.0/vims?name=%00'),
    bad('NUL in an events filter', 'GET', '/v1.0/events?resource_id=%00'),
    bad('NUL in a subscription id', 'GET', '/v1.0/subscriptions/%00'),
    bad('after_id beyond bigint', 'GET', '/v1.0/events?after_id=100000000000000000000'),
    bad('after_id in exponent form', 'GET', '/v1.0/events?after_id=1e20'),
    bad('limit beyond bigint', 'GET', '/v1.0/events?limit=100000000000000000000'),
    bad('X-Project-Id longer than the column, on create', 'POST', '/v1.0/vims', {
      body: { vim: openstackVim({ name: 'long-tenant' }) }, headers: { 'x-project-id': LONG_PROJECT },
    }),
    bad('X-Project-Id longer than the column, on list', 'GET', '/v1.0/vims', { headers: { 'x-project-id': LONG_PROJECT } }),
    // Item 6: no host, bad percent-encoding, impossible timestamps.
    bad('an auth_url without a host', 'POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'no-host', auth_url: 'http:///v3' }) } }),
    bad('a path that is not valid percent-encoding', 'GET', '/v1.0/vims/%FF'),
    bad('a bad percent-encoding on delete', 'DELETE', '/v1.0/vims/%E0%A4%A'),
    bad('since in month 13, hour 99', 'GET', '/v1.0/events?since=2026-13-45T99:99:99Z'),
    bad('since on 30 February', 'GET', '/v1.0/events?since=2026-02-30%2000:00:00'),
  ];
}

describe.each(DIALECTS)('hostile input on %s', (dialect) => {
  let database: TestDatabase;
  let service: TestService;
  let store: Store;
  let receiver: WebhookReceiver;
  let vimId: string;
  let before: string;
  let seedRow: Selectable<VimsTable>;

  /** Every table a request could write to, in a stable order. */
  async function snapshot(): Promise<string> {
    const tables = ['vims', 'vim_monitors', 'vim_events', 'subscriptions', 'dead_letters', 'vim_change_counter'] as const;
    const out: Record<string, unknown> = {};
    for (const table of tables) out[table] = await store.db.selectFrom(table).selectAll().orderBy(table === 'vim_monitors' ? 'vim_id' : 'id').execute();
    return JSON.stringify(out);
  }

  beforeAll(async () => {
    receiver = new WebhookReceiver();
    await receiver.up();
    database = await createTestDatabase(dialect);
    service = await startTestService({ databaseUrl: database.url });
    store = openStore(database.url);
    const created = await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ extra: { site: 1 } }) } });
    expect(created.status, created.text).toBe(201);
    vimId = created.json.vim.id;
    seedRow = await store.db.selectFrom('vims').selectAll().where('id', '=', vimId).executeTakeFirstOrThrow();
  });
  beforeEach(async () => {
    before = await snapshot();
  });
  // Whatever a case managed to store (on the code before the guards) must not fail the cases after it.
  afterEach(async () => {
    await store.db.deleteFrom('subscriptions').execute();
    await store.db.deleteFrom('vims').where('id', '!=', vimId).execute();
    await store.db.updateTable('vims').set(seedRow).where('id', '=', vimId).execute();
  });
  afterAll(async () => {
    await store?.close();
    await service?.stop();
    await database?.drop();
    await receiver?.down();
  });

  it.each(cases('http://127.0.0.1:1/placeholder').map((c) => [c.name, c] as const))('refuses %s with a TackerError and stores nothing', async (_name, template) => {
    const c = { ...template, path: template.path.replace('{vim}', vimId) };
    if (c.method === 'POST' && c.path === '/v1.0/subscriptions' && c.body) {
      // The receiver's port is known only now.
      c.body = JSON.parse(JSON.stringify(c.body).replace('http://127.0.0.1:1/placeholder', receiver.url));
    }
    const response = await service.api(c.method, c.path, {
      ...(c.body !== undefined && { body: c.body }),
      ...(c.rawBody !== undefined && { rawBody: c.rawBody }),
      ...(c.headers && { headers: c.headers }),
    });
    expect(response.status, response.text.slice(0, 300)).toBe(c.status);
    expect(response.json).toEqual({ TackerError: { type: c.type, message: expect.any(String), detail: '' } });
    expect(response.json.TackerError.message).not.toBe('');
    expect(await snapshot()).toBe(before);
    // What is stored stays readable by everyone.
    const list = await service.api('GET', '/v1.0/vims');
    expect(list.status, list.text.slice(0, 300)).toBe(200);
  });

  it('answers a NUL byte in a header with a TackerError before any route runs', async () => {
    const address = new URL(service.url);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(address.port), address.hostname);
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString('utf8')));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
      socket.end(`GET /v1.0/vims HTTP/1.1\r\nHost: x\r\nX-Project-Id: a\u0000b\r\n\r\n`);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toEqual({
      TackerError: { type: 'HTTPBadRequest', message: expect.any(String), detail: '' },
    });
    expect(await snapshot()).toBe(before);
  });

  it('refuses an update whose merged credentials would not fit a text column once sealed', async () => {
    const first = await service.api('PUT', `/v1.0/vims/${vimId}`, { body: { vim: { auth_cred: { password: 'p'.repeat(30_000) } } } });
    expect(first.status, first.text.slice(0, 300)).toBe(200);
    const stored = await snapshot();
    // Within the per-request limit, but with the password already there the sealed auth_cred passes 64 KiB.
    const second = await service.api('PUT', `/v1.0/vims/${vimId}`, { body: { vim: { auth_cred: { ssl_ca_cert: caBundle(28_000) } } } });
    expect(second.status, second.text.slice(0, 300)).toBe(400);
    expect(second.json).toEqual({ TackerError: { type: 'HTTPBadRequest', message: expect.stringMatching(/auth_cred .* bytes once stored/), detail: '' } });
    expect(await snapshot()).toBe(stored);
  });

  it('still accepts what is at the limits: 32 levels, 32 KiB, a 64-character project', async () => {
    // The body, vim and extra are 3 levels; nested(28) adds 29: 32 in all.
    const response = await service.api('POST', '/v1.0/vims', {
      body: { vim: openstackVim({ name: 'at-limits', extra: { blob: 'x'.repeat(30_000), n: JSON.parse(nested(28)) } }) },
      headers: { 'x-project-id': 'p'.repeat(64) },
    });
    expect(response.status, response.text.slice(0, 300)).toBe(201);
    expect((await service.api('DELETE', `/v1.0/vims/${response.json.vim.id}`)).status).toBe(204);
  });
});
