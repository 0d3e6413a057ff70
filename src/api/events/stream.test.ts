import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openstackVim } from '../../../test/support/fixtures.js';
import { waitFor } from '../../../test/support/monitoring.js';
import { ScriptedProbe } from '../../../test/support/scripted-probe.js';
import { createTestDatabase, type TestDatabase } from '../../../test/support/databases.js';
import { parseExposition, valueOf } from '../../../test/support/promtool.js';
import { startTestService, type TestService } from '../../../test/support/service.js';
import { TcpProxy } from '../../../test/support/tcp-proxy.js';

interface StreamEvent {
  id: number;
  name: string | undefined;
  data: { resource_id: string; resource_state: string; event_type: string; event_details: Record<string, unknown> };
}

/** The status changes among streamed events (condition changes stream too, as vim.health). */
const statusEvents = (events: StreamEvent[]) => events.filter((e) => e.name === 'vim.status');

/** Reads an SSE response as a real client would, until told to stop. */
async function follow(url: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const events: StreamEvent[] = [];
  const reading = (async () => {
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const id = /^id: (\d+)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          const name = /^event: (.*)$/m.exec(block)?.[1];
          if (id && data) events.push({ id: Number(id), name, data: JSON.parse(data) });
        }
      }
    } catch {
      // aborted by the test
    }
  })();
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    events,
    close: async () => {
      controller.abort();
      await reading;
    },
  };
}

describe('the event stream (SSE)', () => {
  const probe = new ScriptedProbe('tcp');
  let service: TestService;
  let vimId = '';

  beforeAll(async () => {
    service = await startTestService({
      monitoring: { probes: [probe], monitor: { probes: ['tcp'], interval: 0.2, timeout: 0.1, failure_threshold: 1, success_threshold: 1 } },
    });
  });
  afterAll(async () => {
    await service?.stop();
  });

  async function flip(): Promise<void> {
    const before = (await service.api('GET', `/v1.0/vims/${vimId}`)).json.vim.status;
    probe.set(vimId, before === 'REACHABLE' ? 'fail' : 'ok');
    await waitFor('a flip', async () => ((await service.api('GET', `/v1.0/vims/${vimId}`)).json.vim.status !== before ? true : undefined));
  }

  it('streams status changes as they are stored, and resumes after Last-Event-ID with nothing lost', async () => {
    const live = await follow(`${service.url}/v1.0/events/stream`);
    expect(live.status).toBe(200);
    expect(live.contentType).toMatch(/^text\/event-stream/);
    vimId = (await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'streamed' }) } })).json.vim.id;
    await waitFor('REACHABLE', async () => ((await service.api('GET', `/v1.0/vims/${vimId}`)).json.vim.status === 'REACHABLE' ? true : undefined));
    await flip();
    await waitFor('two streamed status events', () => (statusEvents(live.events).length >= 2 ? true : undefined), 5_000);
    await live.close();
    const lastSeen = live.events.at(-1)!.id;

    await flip();
    await flip();
    const resumed = await follow(`${service.url}/v1.0/events/stream.json`, { 'last-event-id': String(lastSeen) });
    await waitFor('the missed events', () => (statusEvents(resumed.events).length >= 2 ? true : undefined), 5_000);
    await resumed.close();
    const stored = (await service.api('GET', `/v1.0/events?resource_id=${vimId}`)).json.events as Array<{ id: number; resource_state: string }>;
    expect(statusEvents(live.events).map((e) => e.data.resource_state)).toEqual(['REACHABLE', 'UNREACHABLE']);
    expect(resumed.events.map((e) => e.id)).toEqual(stored.filter((e) => e.id > lastSeen).map((e) => e.id));
    expect(statusEvents(resumed.events).map((e) => e.data.resource_state)).toEqual(['REACHABLE', 'UNREACHABLE']);
  });

  it('streams a condition change as a vim.health event with the health change and the first failing layer', async () => {
    const live = await follow(`${service.url}/v1.0/events/stream`);
    await flip();
    await waitFor('a vim.health event', () => (live.events.some((e) => e.name === 'vim.health') ? true : undefined), 5_000);
    await live.close();
    const health = live.events.find((e) => e.name === 'vim.health')!;
    expect(health.data).toMatchObject({ resource_id: vimId, event_type: 'HEALTH' });
    expect(health.data.event_details).toMatchObject({ changed: ['NetworkReachable'], conditions: [expect.objectContaining({ type: 'NetworkReachable' })] });
    expect(['OK', 'DOWN']).toContain(health.data.event_details.new_health);
  });

  it('refuses a Last-Event-ID that is not an event id', async () => {
    const response = await fetch(`${service.url}/v1.0/events/stream`, { headers: { 'last-event-id': 'yesterday' } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { TackerError: { message: string } }).TackerError.message).toMatch(/Last-Event-ID/);
  });
});

describe('the event stream (SSE) on PostgreSQL, when the database goes away', () => {
  const probe = new ScriptedProbe('tcp');
  let database: TestDatabase;
  let proxy: TcpProxy;
  let service: TestService;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    const url = new URL(database.url);
    proxy = new TcpProxy(url.hostname, Number(url.port));
    url.port = String(await proxy.start());
    service = await startTestService({
      databaseUrl: url.toString(),
      outbox: { poll_interval: 0.1, settle: 0.1 },
      monitoring: { probes: [probe], monitor: { probes: ['tcp'], interval: 0.2, timeout: 0.1, failure_threshold: 1, success_threshold: 1 } },
    });
  });
  afterAll(async () => {
    await service?.stop();
    await proxy?.cut();
    await database?.drop();
  });

  it('warns once for the outage however many polls fail, counts them, and streams again once it is back', async () => {
    const stream = await follow(`${service.url}/v1.0/events/stream`);
    const vimId = (await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'streamed-outage' }) } })).json.vim.id as string;
    await waitFor('the first event', () => (stream.events.length >= 1 ? true : undefined), 5_000);

    await proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // about 15 polls
    await proxy.restore();
    probe.set(vimId, 'fail');
    await waitFor('an event after the outage', () => (stream.events.some((e) => e.data.resource_state === 'UNREACHABLE') ? true : undefined), 10_000);
    await stream.close();

    const lines = service
      .logText()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { level: number; msg: string; task?: string; failed_attempts?: number });
    const mine = lines.filter((line) => line.task === 'event_stream');
    expect(mine.map((line) => [line.level, line.msg.replace(/\d+/g, 'N')])).toEqual([
      [40, 'event stream: database unavailable, retrying'],
      [40, 'event_stream: database available again after N failed attempts'],
    ]);
    const failed = mine[1]?.failed_attempts ?? 0;
    expect(failed).toBeGreaterThanOrEqual(5);
    const samples = parseExposition(await service.metrics.expose());
    expect(valueOf(samples, 'vim_monitor_background_errors_total', { task: 'event_stream', kind: 'outage' })).toBe(failed);
    expect(valueOf(samples, 'vim_monitor_background_errors_total', { task: 'event_stream', kind: 'unexpected' })).toBe(0);
  });
});
