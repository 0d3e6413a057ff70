/**
 * The OpenAPI document describes the responses, layered health included, and
 * real responses match what it says. The probes are the ScriptedProbe
 * stand-in (no VIM is contacted); what is tested is the API's own output.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openstackVim } from '../../test/support/fixtures.js';
import { waitFor } from '../../test/support/monitoring.js';
import { ScriptedProbe } from '../../test/support/scripted-probe.js';
import { startTestService, type TestService } from '../../test/support/service.js';
import type { CapacityFigures } from '../health/condition.js';
import type { RemoteMonitor } from '../monitors/monitor-view.js';
import { installResponseDocumentation } from './server.js';

type OpenApiDocument = {
  paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, { schema: unknown }> }> }>>;
  components: { schemas: Record<string, any> };
};

describe('the OpenAPI document', () => {
  let service: TestService;
  let document: OpenApiDocument;
  let ajv: Ajv;
  const tcp = new ScriptedProbe('tcp');
  const api = new ScriptedProbe('api');

  beforeAll(async () => {
    service = await startTestService({
      monitoring: {
        probes: [tcp, api],
        monitor: { probes: ['tcp', 'api'], interval: 0.2, timeout: 0.1, failure_threshold: 1, success_threshold: 1 },
        manager: { sweep_interval: 0.2, stall_grace: 0.2 },
      },
    });
    const response = await service.api('GET', '/v1.0/openapi');
    expect(response.status).toBe(200);
    document = response.json as OpenApiDocument;
    // The served document itself: OpenAPI 3.0 `nullable` is an Ajv keyword; refs resolve inside it.
    ajv = new Ajv({ strict: false, allErrors: true });
    ajv.addSchema({ $id: 'openapi', components: document.components });
  });
  afterAll(async () => {
    await service?.stop();
  });

  /** The documented schema of a response, resolved against the served document. */
  function responseValidator(path: string, method: string, status: string): ValidateFunction {
    const schema = document.paths[path]?.[method]?.responses[status]?.content['application/json']?.schema;
    expect(schema, `${method} ${path} ${status} documented`).toBeDefined();
    const rewritten = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/')) as object;
    return ajv.compile(rewritten);
  }
  const componentValidator = (name: string) => ajv.compile({ $ref: `openapi#/components/schemas/${name}` });

  function expectConforms(validate: ValidateFunction, body: unknown, what: string): void {
    const ok = validate(body);
    expect(ok ? [] : validate.errors, what).toEqual([]);
  }

  it('documents conditions, health, failing_layer and capacity with their enums as shared components', () => {
    const schemas = document.components.schemas;
    const condition = schemas.VimCondition;
    expect(condition.required).toEqual(['type', 'layer', 'status', 'severity', 'reason', 'since', 'last_checked']);
    expect(condition.properties.status.enum).toEqual(['True', 'False', 'Unknown']);
    expect(condition.properties.severity.enum).toEqual(['error', 'warning', 'info']);
    expect(condition.properties.layer.enum).toEqual(['network', 'tls', 'identity', 'authentication', 'services', 'capacity']);
    expect(JSON.stringify(condition.properties.type)).toContain('NetworkReachable');
    expect(schemas.VimHealth).toMatchObject({ type: 'string', nullable: true, enum: ['OK', 'DEGRADED', 'DOWN', null] });
    expect(schemas.VimFailingLayer).toMatchObject({ nullable: true, enum: ['network', 'tls', 'identity', 'authentication', 'services', 'capacity', null] });
    const capacity = schemas.VimCapacity;
    expect(capacity).toMatchObject({ type: 'object', nullable: true, required: ['resources', 'checked_at'] });
    expect(capacity.properties.resources.additionalProperties).toMatchObject({ required: ['total', 'used', 'free'] });

    const vim = schemas.Vim.properties;
    expect(vim.conditions).toEqual(expect.objectContaining({ type: 'array', items: { $ref: '#/components/schemas/VimCondition' } }));
    expect(vim.health).toEqual({ $ref: '#/components/schemas/VimHealth' });
    expect(vim.capacity).toEqual({ $ref: '#/components/schemas/VimCapacity' });
    expect(vim.status.enum).toEqual(['PENDING', 'REACHABLE', 'UNREACHABLE']);
    const monitor = schemas.Monitor.properties;
    expect(monitor.failing_layer).toEqual({ $ref: '#/components/schemas/VimFailingLayer' });
    expect(monitor.conditions.items).toEqual({ $ref: '#/components/schemas/VimCondition' });
    expect(JSON.stringify(schemas.VimEvent)).toContain('"failing_layer":{"$ref":"#/components/schemas/VimFailingLayer"}');

    const responseRef = (path: string, method: string, status = '200') =>
      JSON.stringify(document.paths[path]?.[method]?.responses[status]?.content['application/json']?.schema);
    expect(responseRef('/v1.0/vims/{id}', 'get')).toContain('#/components/schemas/Vim"');
    expect(responseRef('/v1.0/vims', 'get')).toContain('#/components/schemas/Vim"');
    expect(responseRef('/v1.0/vims', 'post', '201')).toContain('#/components/schemas/Vim"');
    expect(responseRef('/v1.0/vims/{id}', 'put')).toContain('#/components/schemas/Vim"');
    expect(responseRef('/v1.0/vims/{id}/monitor', 'get')).toContain('#/components/schemas/Monitor"');
    expect(responseRef('/v1.0/monitors', 'get')).toContain('#/components/schemas/Monitor"');
    expect(responseRef('/v1.0/events', 'get')).toContain('#/components/schemas/VimEvent"');
  });

  it('describes the real VIM, monitor and event responses, health events included, and refuses what they are not', async () => {
    const created = await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'documented', extra: { any: { thing: [1] } } }) } });
    expect(created.status, created.text).toBe(201);
    expectConforms(responseValidator('/v1.0/vims', 'post', '201'), created.json, 'POST /v1.0/vims');
    const id = created.json.vim.id as string;
    await waitFor('REACHABLE', async () => ((await service.api('GET', `/v1.0/vims/${id}`)).json.vim.status === 'REACHABLE' ? true : undefined));
    api.set(id, 'fail');
    await waitFor('DOWN', async () => ((await service.api('GET', `/v1.0/vims/${id}`)).json.vim.health === 'DOWN' ? true : undefined));

    const show = (await service.api('GET', `/v1.0/vims/${id}`)).json;
    expect(show.vim.conditions.length).toBeGreaterThan(0);
    expectConforms(responseValidator('/v1.0/vims/{id}', 'get', '200'), show, 'GET /v1.0/vims/{id}');
    expectConforms(responseValidator('/v1.0/vims', 'get', '200'), (await service.api('GET', '/v1.0/vims')).json, 'GET /v1.0/vims');
    expectConforms(responseValidator('/v1.0/vims', 'get', '200'), (await service.api('GET', '/v1.0/vims?fields=health&fields=name')).json, 'fields=');
    const updated = await service.api('PUT', `/v1.0/vims/${id}`, { body: { vim: { description: 'documented too' } } });
    expectConforms(responseValidator('/v1.0/vims/{id}', 'put', '200'), updated.json, 'PUT /v1.0/vims/{id}');

    const monitor = (await service.api('GET', `/v1.0/vims/${id}/monitor`)).json;
    expect(monitor.monitor).toMatchObject({ health: 'DOWN', failing_layer: 'identity' });
    expectConforms(responseValidator('/v1.0/vims/{id}/monitor', 'get', '200'), monitor, 'GET /v1.0/vims/{id}/monitor');
    expectConforms(responseValidator('/v1.0/monitors', 'get', '200'), (await service.api('GET', '/v1.0/monitors')).json, 'GET /v1.0/monitors');

    const events = (await service.api('GET', `/v1.0/events?resource_id=${id}`)).json;
    expect(new Set(events.events.map((event: { event_type: string }) => event.event_type))).toEqual(new Set(['MONITOR', 'HEALTH']));
    expectConforms(responseValidator('/v1.0/events', 'get', '200'), events, 'GET /v1.0/events');

    // The schemas are closed and typed: they would catch a wire that drifted from them.
    const validate = responseValidator('/v1.0/vims/{id}', 'get', '200');
    expect(validate({ vim: { ...show.vim, failing_layer: 'network', surprise: 1 } })).toBe(false);
    expect(validate({ vim: { ...show.vim, health: 'SICK' } })).toBe(false);
    expect(validate({ vim: { ...show.vim, conditions: [{ ...show.vim.conditions[0], status: 'Maybe' }] } })).toBe(false);
    api.set(id, 'ok');
  });

  it('describes capacity figures and the view of a monitor run by another worker, which this test cannot make happen', () => {
    const capacity: CapacityFigures = {
      resources: { VCPU: { total: 64, used: 10, free: 54 }, MEMORY_MB: { total: 262144, used: 4096, free: 258048 } },
      checked_at: '2026-12-01 10:00:00.000000',
    };
    const validateCapacity = componentValidator('VimCapacity');
    expectConforms(validateCapacity, capacity, 'capacity');
    expectConforms(validateCapacity, null, 'no capacity yet');
    expectConforms(validateCapacity, { ...capacity, quotas: { cores: { limit: 20, used: 10, free: 10 } } }, 'capacity with quotas');
    expect(validateCapacity({ ...capacity, resources: { VCPU: { total: 64, used: 10 } } })).toBe(false);

    const remote: RemoteMonitor = {
      monitor_id: 'm-1',
      vim_id: 'v-1',
      owner: 'worker-2',
      dispatched_at: '2026-12-01 10:00:00.000000',
      replacements: 0,
      state: 'remote',
      conditions: [],
      health: null,
      capacity,
    };
    expectConforms(componentValidator('Monitor'), remote, 'remote monitor');
  });
});

describe('response schemas', () => {
  it('document without shaping: what a schema does not list is still sent, and null stays null', async () => {
    const app = Fastify();
    installResponseDocumentation(app);
    const closed = { type: 'object', additionalProperties: false, properties: { name: { type: 'string' } } };
    app.get('/thing', { schema: { response: { 200: closed } } }, async () => ({ name: null, unlisted: { kept: true } }));
    const response = await app.inject({ method: 'GET', url: '/thing' });
    // fast-json-stringify, Fastify's default with a response schema, would send {"name":""}.
    expect(response.body).toBe('{"name":null,"unlisted":{"kept":true}}');
    await app.close();
  });
});
