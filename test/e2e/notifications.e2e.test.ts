/**
 * Status changes reach a real oslo.messaging notification listener through
 * the outbox and the real RabbitMQ, in order, with their stable event id,
 * including those decided while the broker was unreachable (a TCP relay in
 * front of RabbitMQ is cut, then restored).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amqpNotificationsDefaults } from '../../src/events/sinks/amqp-config.js';
import { openstackVim } from '../support/fixtures.js';
import { waitFor } from '../support/monitoring.js';
import { startOsloListener, uniqueName, type OsloListener } from '../support/oslo-listener.js';
import { ScriptedProbe } from '../support/scripted-probe.js';
import { startTestService, type TestService } from '../support/service.js';
import { TcpProxy } from '../support/tcp-proxy.js';

describe('OpenStack notifications on AMQP', () => {
  const exchange = uniqueName('vimmon_e2e');
  const topic = uniqueName('vimmon_e2e_notifications');
  const probe = new ScriptedProbe('tcp');
  const broker = new TcpProxy('127.0.0.1', 5672);
  let listener: OsloListener;
  let service: TestService;

  beforeAll(async () => {
    listener = await startOsloListener({ exchange, topics: [topic] });
    const port = await broker.start();
    service = await startTestService({
      monitoring: { probes: [probe], monitor: { probes: ['tcp'], interval: 0.2, timeout: 0.1, failure_threshold: 1, success_threshold: 1 } },
      notifications: {
        amqp: amqpNotificationsDefaults({ enabled: true, url: `amqp://guest:guest@127.0.0.1:${port}/`, exchange, topics: [topic], publisher_id: 'vim-monitor.e2e' }),
      },
    });
  }, 60_000);
  afterAll(async () => {
    await service?.stop();
    await broker.cut();
    await listener?.stop();
  });

  async function flip(vimId: string): Promise<void> {
    const before = (await service.api('GET', `/v1.0/vims/${vimId}`)).json.vim.status;
    probe.set(vimId, before === 'REACHABLE' ? 'fail' : 'ok');
    await waitFor('a flip', async () => ((await service.api('GET', `/v1.0/vims/${vimId}`)).json.vim.status !== before ? true : undefined));
  }

  it('delivers every status change and condition change, in order, also those decided while the broker was unreachable', async () => {
    const vimId = (await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'notified' }) } })).json.vim.id as string;
    await waitFor('REACHABLE', async () => ((await service.api('GET', `/v1.0/vims/${vimId}`)).json.vim.status === 'REACHABLE' ? true : undefined));
    // The first round's status change and its conditions (vim.health.update).
    await listener.waitFor(2, 10_000);
    // And both acknowledged by the broker: a cut before a publisher confirm arrives makes the outbox send that event
    // again (at least once, same message_id), which is right but not what this test counts.
    const amqpChannel = async () => (await service.api('GET', '/v1.0/subscriptions')).json.subscriptions.find((s: { kind: string }) => s.kind === 'amqp');
    await waitFor('both confirmed', async () => ((await amqpChannel()).delivery.delivered >= 2 ? true : undefined));

    await broker.cut();
    await flip(vimId);
    await flip(vimId);
    await new Promise((resolve) => setTimeout(resolve, 800));
    const channel = await amqpChannel();
    expect(channel.delivery.failures).toBeGreaterThan(0);
    expect(channel.delivery.last_error).not.toContain('guest:guest');
    await broker.restore();

    const got = await listener.waitFor(6, 15_000);
    const stored = (await service.api('GET', `/v1.0/events?resource_id=${vimId}`)).json.events as Array<{ id: number; resource_state: string }>;
    expect(got.map((n) => n.payload.event_id)).toEqual(stored.map((e) => e.id));
    const statusChanges = got.filter((n) => n.event_type === 'vim.status.update');
    const healthChanges = got.filter((n) => n.event_type === 'vim.health.update');
    expect(healthChanges.map((n) => `${n.method}:${String(n.payload.old_health)}->${String(n.payload.new_health)}`)).toEqual([
      'info:null->OK',
      'warn:OK->DOWN',
      'info:DOWN->OK',
    ]);
    expect(statusChanges.map((n) => `${n.method}:${String(n.payload.old_status)}->${String(n.payload.new_status)}`)).toEqual([
      'info:PENDING->REACHABLE',
      'warn:REACHABLE->UNREACHABLE',
      'info:UNREACHABLE->REACHABLE',
    ]);
    expect(got.every((n) => n.publisher_id === 'vim-monitor.e2e' && n.payload.vim_name === 'notified')).toBe(true);
    expect(service.logText()).not.toContain('guest:guest');
  });
});
