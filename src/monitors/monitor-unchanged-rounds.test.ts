import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Probe, ProbeName, ProbeOutcome, ProbeTarget } from '../probes/probe.js';
import { VimMonitor } from './monitor.js';
import { DEFAULT_MONITOR_SETTINGS } from './settings.js';
import type { HealthChange, StatusChange } from './status-change.js';

const target: ProbeTarget = {
  vimId: 'vim',
  type: 'openstack',
  authUrl: 'https://127.20.0.1/v3',
  host: '127.20.0.1',
  port: 443,
  tls: { verify: true },
  credentials: { username: 'u', password: 'p' },
  project: { name: 'p' },
};

/** One monitor driven round by round, its probes answering what the test sets. */
function harness() {
  const answers: Partial<Record<ProbeName, ProbeOutcome>> = {
    icmp: { ok: true, latencyMs: 0.1, reason: 'ICMP echo reply in 0.1 ms' },
    api: { ok: true, latencyMs: 2, reason: 'HTTP 300 Multiple Choices' },
  };
  let nowMs = 1_800_000_000_000;
  const health: HealthChange[] = [];
  const status: StatusChange[] = [];
  const signal = new AbortController().signal;
  const monitor = new VimMonitor(
    'monitor',
    'vim',
    { tenantId: 't', vimName: 'v', target, settings: { ...DEFAULT_MONITOR_SETTINGS, failure_threshold: 2 } },
    {
      probes: new Map<ProbeName, Probe>(Object.keys(answers).map((name) => [name as ProbeName, { name: name as ProbeName, check: async () => answers[name as ProbeName]! }])),
      clock: { now: () => new Date(nowMs) },
      logger: pino({ enabled: false }),
      onStatusChange: (change) => status.push(change),
      onHealthChange: (change) => health.push(change),
      scheduler: { schedule: (_round: unknown, dueMs: number) => dueMs, cancel: () => undefined } as never,
    },
    { status: 'PENDING' },
  );
  monitor.start(0);
  return {
    answers,
    health,
    status,
    monitor,
    async round() {
      monitor.startRound({ signal: () => signal, roundEnded: () => undefined }, nowMs);
      await new Promise((resolve) => setImmediate(resolve));
      nowMs += 10_000;
    },
  };
}

describe('rounds that change nothing', () => {
  it('report no health change however their reasons differ', async () => {
    const h = harness();
    await h.round();
    expect(h.status.map((change) => change.newStatus)).toEqual(['REACHABLE']);
    for (let i = 0; i < 5; i++) {
      h.answers.icmp = { ok: true, latencyMs: i, reason: `ICMP echo reply in ${i} ms` };
      await h.round();
    }
    expect(h.health).toEqual([]);
    expect(h.monitor.snapshot().probes.icmp?.reason).toBe('ICMP echo reply in 4 ms');
  });

  it('still see a change that follows them: an api certificate failure, once confirmed, is a CertificateValid condition', async () => {
    const h = harness();
    for (let i = 0; i < 3; i++) await h.round();
    h.answers.api = { ok: false, reason: 'TLS certificate has expired' };
    await h.round();
    // Unconfirmed (1 of 2 failed runs): shown as before, nothing changes.
    expect(h.health).toEqual([]);
    await h.round();
    expect(h.status.map((change) => change.newStatus)).toEqual(['REACHABLE', 'UNREACHABLE']);
    const types = h.status[1]!.health!.conditions.map((condition) => `${condition.type}=${condition.status}`);
    // IdentityAPI sits above the failed TLS layer: not checked.
    expect(types).toEqual(['NetworkReachable=True', 'CertificateValid=False', 'IdentityAPI=Unknown']);
    await h.round();
    expect(h.health).toEqual([]);
    h.answers.api = { ok: true, latencyMs: 2, reason: 'HTTP 300 Multiple Choices' };
    await h.round();
    await h.round();
    expect(h.status.map((change) => change.newStatus)).toEqual(['REACHABLE', 'UNREACHABLE', 'REACHABLE']);
    expect(h.status[2]!.health!.conditions.map((condition) => `${condition.type}=${condition.status}`)).toEqual(['NetworkReachable=True', 'IdentityAPI=True']);
  });

  it('see a condition that is failing stay failing but change its cause (a certificate failure becomes a refused connection)', async () => {
    const h = harness();
    h.answers.api = { ok: false, reason: 'TLS certificate has expired' };
    await h.round();
    await h.round();
    expect(h.monitor.snapshot().conditions.map((condition) => condition.type)).toEqual(['NetworkReachable', 'CertificateValid', 'IdentityAPI']);
    h.answers.api = { ok: false, reason: 'connection refused' };
    await h.round();
    // IdentityAPI was not checked behind the certificate; now it is the failing layer.
    expect(h.health.at(-1)?.changed).toEqual(['IdentityAPI', 'CertificateValid']);
    expect(h.monitor.snapshot().conditions.map((condition) => condition.type)).toEqual(['NetworkReachable', 'IdentityAPI']);
  });
});
