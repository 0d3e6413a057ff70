import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openstackVim } from '../../test/support/fixtures.js';
import { waitFor } from '../../test/support/monitoring.js';
import { expectPromtoolAccepts, parseExposition, samplesOf, valueOf, type Sample } from '../../test/support/promtool.js';
import { ScriptedProbe } from '../../test/support/scripted-probe.js';
import { startTestService, type TestService } from '../../test/support/service.js';

describe('GET /metrics on the running service', () => {
  let service: TestService;
  const probe = new ScriptedProbe('tcp');

  beforeAll(async () => {
    service = await startTestService({
      monitoring: {
        probes: [probe],
        monitor: { probes: ['tcp'], interval: 0.2, timeout: 0.1, failure_threshold: 2, success_threshold: 2 },
        manager: { sweep_interval: 0.2, stall_grace: 0.2, heartbeat_interval: 0.2 },
      },
      // No dispatcher here: its passes would overwrite the outbox figures this test sets.
      outbox: { enabled: false },
    });
  });
  afterAll(async () => {
    await service?.stop();
  });

  async function scrape(): Promise<Sample[]> {
    const response = await service.api('GET', '/metrics');
    expect(response.status, response.text).toBe(200);
    return parseExposition(response.text);
  }

  async function register(name: string): Promise<string> {
    const response = await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name }) } });
    expect(response.status, response.text).toBe(201);
    return response.json.vim.id as string;
  }

  async function statusOf(id: string): Promise<string> {
    return (await service.api('GET', `/v1.0/vims/${id}`)).json.vim.status as string;
  }

  it('serves the status, probe latency and checks of every registered VIM, and the monitors this worker owns', async () => {
    const up = await register('metrics-up');
    const down = await register('metrics-down');
    probe.set(down, 'fail');
    await waitFor('REACHABLE and UNREACHABLE verdicts', async () => (await statusOf(up)) === 'REACHABLE' && (await statusOf(down)) === 'UNREACHABLE');
    const samples = await waitFor('two monitors owned', async () => {
      const scraped = await scrape();
      return valueOf(scraped, 'vim_monitor_monitors_owned') === 2 ? scraped : undefined;
    });

    expect(valueOf(samples, 'vim_monitor_vim_status', { vim_id: up, status: 'REACHABLE' })).toBe(1);
    expect(valueOf(samples, 'vim_monitor_vim_status', { vim_id: up, status: 'UNREACHABLE' })).toBe(0);
    expect(valueOf(samples, 'vim_monitor_vim_status', { vim_id: up, status: 'PENDING' })).toBe(0);
    expect(valueOf(samples, 'vim_monitor_vim_status', { vim_id: down, status: 'UNREACHABLE' })).toBe(1);
    expect(valueOf(samples, 'vim_monitor_vim_status', { vim_id: down, status: 'REACHABLE' })).toBe(0);

    // The scripted probe answers ok in 1 ms and fails without measuring anything.
    expect(valueOf(samples, 'vim_monitor_probe_latency_seconds', { vim_id: up, probe: 'tcp' })).toBeCloseTo(0.001, 9);
    expect(valueOf(samples, 'vim_monitor_probe_latency_seconds', { vim_id: down, probe: 'tcp' })).toBeUndefined();

    // A VIM leaves PENDING on its first round: at least one check of each kind happened.
    expect(valueOf(samples, 'vim_monitor_checks_total', { probe: 'tcp', result: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(samples, 'vim_monitor_checks_total', { probe: 'tcp', result: 'fail' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(samples, 'vim_monitor_checks_total', { probe: 'icmp', result: 'ok' })).toBe(0);
    // Only checks that measured a latency (the ok ones here) go into the histogram.
    const measured = valueOf(samples, 'vim_monitor_check_latency_seconds_count', { probe: 'tcp' });
    expect(measured).toBe(valueOf(samples, 'vim_monitor_checks_total', { probe: 'tcp', result: 'ok' }));
    expect(valueOf(samples, 'vim_monitor_check_latency_seconds_bucket', { probe: 'tcp', le: '0.001' })).toBe(measured);
    expect(valueOf(samples, 'vim_monitor_monitor_replacements_total')).toBe(0);
    expect(valueOf(samples, 'vim_monitor_monitor_takeovers_total')).toBe(0);
    expect(valueOf(samples, 'vim_monitor_process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('answers in the Prometheus text format, without authentication, and stays out of the OpenAPI document', async () => {
    const response = await fetch(`${service.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    // Streamed as it is written, not held whole: no length is known up front.
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    expect(response.headers.get('content-length')).toBeNull();
    await expectPromtoolAccepts(await response.text());
    const openapi = await service.api('GET', '/v1.0/openapi.json');
    expect(openapi.status).toBe(200);
    expect(Object.keys(openapi.json.paths)).not.toContain('/metrics');
    expect(Object.keys(openapi.json.paths)).toContain('/v1.0/vims/{id}');
  });

  it('counts API requests by method, route pattern and status code, never by raw URL, and not its own scrapes', async () => {
    const id = await register('metrics-http');
    const byId = { method: 'GET', route: '/v1.0/vims/:id', status_code: '200' };
    const unknownVim = { method: 'GET', route: '/v1.0/vims/:id', status_code: '404' };
    const unmatched = { method: 'GET', route: 'unmatched', status_code: '404' };
    const before = await scrape();
    expect((await service.api('GET', `/v1.0/vims/${id}`)).status).toBe(200);
    expect((await service.api('GET', `/v1.0/vims/${id}.json`)).status).toBe(200);
    expect((await service.api('GET', '/v1.0/vims/00000000-0000-4000-8000-00000000dead')).status).toBe(404);
    expect((await service.api('GET', `/no/such/path/${id}`)).status).toBe(404);
    await scrape();
    const after = await scrape();

    const delta = (name: string, labels: Record<string, string>) => (valueOf(after, name, labels) ?? 0) - (valueOf(before, name, labels) ?? 0);
    expect(delta('vim_monitor_http_requests_total', byId)).toBe(2);
    expect(delta('vim_monitor_http_request_duration_seconds_count', byId)).toBe(2);
    expect(delta('vim_monitor_http_requests_total', unknownVim)).toBe(1);
    expect(delta('vim_monitor_http_requests_total', unmatched)).toBe(1);
    expect(valueOf(after, 'vim_monitor_http_requests_total', { method: 'POST', route: '/v1.0/vims', status_code: '201' })).toBeGreaterThanOrEqual(3);

    const routes = new Set(samplesOf(after, 'vim_monitor_http_requests_total').map((s) => s.labels.route));
    expect([...routes].filter((route) => route?.includes(id) || route?.includes('dead') || route?.includes('/no/such'))).toEqual([]);
    expect(routes).not.toContain('/metrics');
  });

  it("removes a deleted VIM's series before the DELETE returns", async () => {
    const id = await register('metrics-deleted');
    await waitFor('its first verdict', async () => valueOf(await scrape(), 'vim_monitor_vim_status', { vim_id: id, status: 'REACHABLE' }) === 1);
    expect(samplesOf(await scrape(), 'vim_monitor_probe_latency_seconds', { vim_id: id })).toHaveLength(1);
    expect((await service.api('DELETE', `/v1.0/vims/${id}`)).status).toBe(204);
    const samples = await scrape();
    expect(samples.filter((s) => s.labels.vim_id === id)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 500)); // a couple of intervals: no monitor brings them back
    expect((await scrape()).filter((s) => s.labels.vim_id === id)).toEqual([]);
  });

  it('exposes the outbox depth and delivery lag it is given', async () => {
    service.metrics.outbox(4, 2.5);
    const samples = await scrape();
    expect(valueOf(samples, 'vim_monitor_outbox_depth')).toBe(4);
    expect(valueOf(samples, 'vim_monitor_outbox_lag_seconds')).toBe(2.5);
  });

  it('serves a scrape that the real promtool check metrics accepts without a lint problem', async () => {
    const text = (await service.api('GET', '/metrics')).text;
    expect(text).toContain('vim_monitor_vim_status{');
    expect(text).toContain('vim_monitor_http_request_duration_seconds_bucket{');
    await expectPromtoolAccepts(text);
  });
});

describe('GET /metrics with Keystone authentication', () => {
  let service: TestService;

  beforeAll(async () => {
    // Nothing listens on port 9: a request that needed Keystone would fail, not pass.
    service = await startTestService({
      auth: {
        strategy: 'keystone',
        keystone: {
          url: 'http://127.0.0.1:9/v3',
          username: 'tacker',
          password: 'unused',
          project_name: 'service',
          user_domain_name: 'Default',
          project_domain_name: 'Default',
          cache_ttl: 60,
          admin_roles: ['admin'],
          timeout: 1,
        },
      },
    });
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('is served without a token while the VIM API asks for one', async () => {
    expect((await service.api('GET', '/v1.0/vims')).status).toBe(401);
    const response = await service.api('GET', '/metrics');
    expect(response.status).toBe(200);
    // The refused request is counted like any other.
    expect(valueOf(parseExposition(response.text), 'vim_monitor_http_requests_total', { method: 'GET', route: '/v1.0/vims', status_code: '401' })).toBe(1);
  });
});
