/**
 * The wrapper's own logic (batching, ids, deadlines, close) against a
 * STAND-IN of the native binding: StandInBinding below is a JavaScript fake
 * that records the calls and answers only when the test says so. It sends
 * nothing anywhere. What the engine does on the network is tested with the
 * real addon in icmp.test.ts, api.test.ts and native-*.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { deadline } from '../../time/deadline.js';
import { probeTarget } from '../../../test/support/probe-target.js';
import { ApiProbe } from '../api.js';
import { probeTargetGuard } from '../target-policy.js';
import type { HttpTargetOptions, NativeBinding, NativeEngine, NativeResults } from './native-binding.js';
import { ABORTED, CLOSED, ProbeEngine } from './probe-engine.js';

type Call =
  | { kind: 'ping'; ids: number[]; addresses: string[]; timeoutMs: number; more: boolean }
  | { kind: 'http'; ids: number[]; targets: number[]; timeoutMs: number; more: boolean };

/** STAND-IN for the native engine (not the engine): records calls, answers on request. */
class StandInEngine implements NativeEngine {
  readonly icmp = { ipv4: 'raw', ipv6: 'raw' } as const;
  readonly calls: Call[] = [];
  readonly targets = new Map<number, HttpTargetOptions>();
  readonly contexts = new Set<number>();
  closed = false;
  private nextContext = 1;

  constructor(private readonly onResults: (results: NativeResults) => void) {}

  ping(ids: Uint32Array, addresses: string[], timeoutMs: number, more = false): void {
    this.calls.push({ kind: 'ping', ids: [...ids], addresses: [...addresses], timeoutMs, more });
  }
  http(ids: Uint32Array, targets: Uint32Array, timeoutMs: number, more = false): void {
    if (this.refuseHttp) throw Object.assign(new TypeError('refused'), { code: 'EINVAL' });
    this.calls.push({ kind: 'http', ids: [...ids], targets: [...targets], timeoutMs, more });
  }
  refuseHttp = false;
  tlsContext(): number {
    const id = this.nextContext++;
    this.contexts.add(id);
    return id;
  }
  dropTlsContext(id: number): void {
    this.contexts.delete(id);
  }
  defineHttpTarget(key: number, options: HttpTargetOptions): void {
    this.targets.set(key, options);
  }
  dropHttpTarget(key: number): void {
    this.targets.delete(key);
  }
  stats() {
    return { submitted: 0, finished: 0, inFlight: 0, echoSent: 0 };
  }
  close(): void {
    this.closed = true;
  }

  /** Answers jobs as the engine would, in one batch. */
  answer(jobs: Array<{ id: number; outcome: number; latencyUs?: number; error?: string; body?: string }>): void {
    const bodies = Buffer.from(jobs.map((j) => j.body ?? '').join(''));
    let offset = 0;
    const bodyStart = new Uint32Array(jobs.length);
    const bodyLength = new Uint32Array(jobs.length);
    jobs.forEach((job, i) => {
      const length = Buffer.byteLength(job.body ?? '');
      bodyStart[i] = offset;
      bodyLength[i] = length;
      offset += length;
    });
    this.onResults({
      count: jobs.length,
      ids: Uint32Array.from(jobs.map((j) => j.id)),
      outcome: Int32Array.from(jobs.map((j) => j.outcome)),
      latencyUs: Uint32Array.from(jobs.map((j) => j.latencyUs ?? 0)),
      errors: jobs.map((j) => j.error),
      bodies,
      bodyStart,
      bodyLength,
    });
  }
}

function standIn(): { binding: NativeBinding; engine: () => StandInEngine } {
  let made: StandInEngine | undefined;
  const binding: NativeBinding = {
    version: 'stand-in',
    trimMemory: () => false,
    Engine: class {
      constructor(onResults: (results: NativeResults) => void) {
        made = new StandInEngine(onResults);
        return made;
      }
    } as unknown as NativeBinding['Engine'],
  };
  return { binding, engine: () => made as StandInEngine };
}

const macrotask = () => new Promise((resolve) => setImmediate(resolve));

describe('ProbeEngine (wrapper logic, stand-in binding)', () => {
  let engine: ProbeEngine;
  afterEach(() => engine?.close());

  it('hands every ping of one macrotask to the engine in one native call', async () => {
    const fake = standIn();
    engine = new ProbeEngine(fake.binding);
    const signal = new AbortController().signal;
    const replies = Array.from({ length: 100 }, (_, i) => engine.ping(`127.0.${i}.1`, 1000, signal));
    expect(fake.engine().calls).toHaveLength(0);
    await macrotask();
    const calls = fake.engine().calls;
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call).toMatchObject({ kind: 'ping', timeoutMs: expect.any(Number) });
    expect(new Set(call?.ids).size).toBe(100);
    fake.engine().answer((call?.ids ?? []).map((id) => ({ id, outcome: 1, latencyUs: 42 })));
    const answered = await Promise.all(replies);
    expect(answered.every((r) => r.outcome === 1 && r.latencyUs === 42)).toBe(true);
    expect(engine.stats()).toMatchObject({ requests: 100, batches: 1, submitted: 100, inFlight: 0, listeners: 0 });
  });

  it("wakes the engine once per flush: a tick's pings go with more, its exchanges wake it", async () => {
    const fake = standIn();
    engine = new ProbeEngine(fake.binding);
    engine.defineHttpTarget(7, { address: '127.0.0.1', port: 80, request: Buffer.from('GET / HTTP/1.1\r\n\r\n'), tlsContext: 0, serverName: '', maxBody: 0 });
    const signal = new AbortController().signal;
    void engine.ping('127.0.0.1', 1000, signal);
    void engine.http(7, signal, 1000);
    await macrotask();
    expect(fake.engine().calls.map(({ kind, more }) => ({ kind, more }))).toEqual([
      { kind: 'ping', more: true },
      { kind: 'http', more: false },
    ]);
    // Pings alone wake it themselves.
    void engine.ping('127.0.0.1', 1000, signal);
    await macrotask();
    expect(fake.engine().calls[2]).toMatchObject({ kind: 'ping', more: false });
  });

  it('still wakes the engine for the pings queued with more when the exchanges after them are refused', async () => {
    const fake = standIn();
    engine = new ProbeEngine(fake.binding);
    const signal = new AbortController().signal;
    void engine.ping('127.0.0.1', 1000, signal);
    const refused = engine.http(7, signal, 1000);
    fake.engine().refuseHttp = true;
    await macrotask();
    expect(await refused).toMatchObject({ outcome: 0, error: 'EINVAL' });
    expect(fake.engine().calls.map(({ kind, ids, more }) => ({ kind, count: ids.length, more }))).toEqual([
      { kind: 'ping', count: 1, more: true },
      { kind: 'ping', count: 0, more: false },
    ]);
  });

  it('reuses the ids of answered jobs, and only those', async () => {
    const fake = standIn();
    engine = new ProbeEngine(fake.binding);
    const signal = new AbortController().signal;
    const first = Array.from({ length: 10 }, () => engine.ping('127.0.0.1', 1000, signal));
    await macrotask();
    const firstIds = fake.engine().calls[0]?.ids ?? [];
    // Half of them answered: the next round gets those five back, and new ids for the rest.
    fake.engine().answer(firstIds.slice(0, 5).map((id) => ({ id, outcome: 1 })));
    await Promise.all(first.slice(0, 5));
    const second = Array.from({ length: 10 }, () => engine.ping('127.0.0.1', 1000, signal));
    await macrotask();
    const secondIds = fake.engine().calls[1]?.ids ?? [];
    expect(new Set([...firstIds.slice(5), ...secondIds]).size).toBe(15);
    expect(secondIds.filter((id) => firstIds.slice(0, 5).includes(id))).toHaveLength(5);
    expect(Math.max(...firstIds, ...secondIds)).toBe(14);
    fake.engine().answer([...firstIds.slice(5), ...secondIds].map((id) => ({ id, outcome: 0, error: 'ETIMEDOUT' })));
    await Promise.all([...first, ...second]);
  });

  it("gives the engine the time left on a deadline() signal, with no abort listener, and says when the deadline ended a job", async () => {
    const fake = standIn();
    engine = new ProbeEngine(fake.binding);
    const tick = deadline(300);
    try {
      const short = engine.ping('127.0.0.1', 100, tick.signal);
      const long = engine.ping('127.0.0.2', 10_000, tick.signal);
      const http = engine.http(7, tick.signal);
      expect(engine.stats().listeners).toBe(0);
      await macrotask();
      const calls = fake.engine().calls;
      expect(calls).toHaveLength(3);
      const pingCall = (address: string) => calls.find((c) => c.kind === 'ping' && c.addresses.includes(address));
      expect(pingCall('127.0.0.1')?.timeoutMs).toSatisfy((ms: number) => ms > 90 && ms <= 100);
      expect(pingCall('127.0.0.2')?.timeoutMs).toSatisfy((ms: number) => ms > 250 && ms < 300);
      expect(calls.find((c) => c.kind === 'http')).toMatchObject({ targets: [7], timeoutMs: expect.toSatisfy((ms: number) => ms > 250 && ms < 300) });
      const ids = fake.engine().calls.flatMap((c) => c.ids);
      fake.engine().answer(ids.map((id) => ({ id, outcome: 0, error: 'ETIMEDOUT' })));
      // The 100 ms ping timed out on its own; the others at the tick's deadline.
      expect((await short).deadline).toBe(false);
      expect((await long).deadline).toBe(true);
      expect((await http).deadline).toBe(true);
    } finally {
      tick.dispose();
    }
  });

  it('answers a job whose deadline has passed without asking the engine', async () => {
    const fake = standIn();
    engine = new ProbeEngine(fake.binding);
    const controller = new AbortController();
    controller.abort();
    expect(await engine.ping('127.0.0.1', 1000, controller.signal)).toMatchObject({ outcome: 0, error: 'ETIMEDOUT', deadline: true });
    await macrotask();
    expect(fake.engine().calls).toHaveLength(0);
  });

  it('listens once per signal that does not say when it aborts, answers its jobs when it does, and keeps their ids until the engine answers', async () => {
    const fake = standIn();
    engine = new ProbeEngine(fake.binding, { fallbackTimeoutMs: 5000 });
    const controller = new AbortController();
    const replies = Array.from({ length: 50 }, () => engine.ping('127.0.0.1', 10_000, controller.signal));
    expect(engine.stats().listeners).toBe(1);
    await macrotask();
    expect(fake.engine().calls[0]?.timeoutMs).toBeLessThanOrEqual(5000);
    controller.abort();
    for (const reply of await Promise.all(replies)) expect(reply).toMatchObject({ outcome: 0, error: ABORTED, deadline: true });
    expect(engine.stats()).toMatchObject({ listeners: 0, inFlight: 50 });
    // Their ids are still the engine's: a new job gets a fresh one.
    void engine.ping('127.0.0.1', 1000, new AbortController().signal);
    await macrotask();
    const firstIds = fake.engine().calls[0]?.ids ?? [];
    expect(firstIds).not.toContain(fake.engine().calls[1]?.ids[0]);
    // The engine's late answers are dropped, and free the ids.
    fake.engine().answer(firstIds.map((id) => ({ id, outcome: 1 })));
    expect(engine.stats().inFlight).toBe(1);
  });

  it('removes the listener of a signal once all its jobs are answered', async () => {
    const fake = standIn();
    engine = new ProbeEngine(fake.binding);
    const controller = new AbortController();
    const replies = [engine.ping('127.0.0.1', 1000, controller.signal), engine.http(1, controller.signal)];
    await macrotask();
    fake.engine().answer(fake.engine().calls.flatMap((c) => c.ids).map((id) => ({ id, outcome: 1 })));
    await Promise.all(replies);
    expect(engine.stats().listeners).toBe(0);
  });

  it('answers every pending and queued check when closed, and later ones at once', async () => {
    const fake = standIn();
    engine = new ProbeEngine(fake.binding);
    const signal = new AbortController().signal;
    const sent = engine.ping('127.0.0.1', 1000, signal);
    await macrotask();
    const queued = engine.http(3, signal);
    engine.close();
    expect(await sent).toMatchObject({ error: CLOSED });
    expect(await queued).toMatchObject({ error: CLOSED });
    expect(await engine.ping('127.0.0.1', 1000, signal)).toMatchObject({ error: CLOSED });
    expect(fake.engine().closed).toBe(true);
    expect(engine.stats().listeners).toBe(0);
  });

  it('fails the jobs of a call the engine refuses, instead of leaving them waiting or throwing in setImmediate', async () => {
    const fake = standIn();
    engine = new ProbeEngine(fake.binding);
    fake.engine().ping = () => {
      throw Object.assign(new TypeError('addresses[0] is not an IP address'), { code: 'ERR_INVALID_ARG_VALUE' });
    };
    const reply = engine.ping('not-an-address', 1000, new AbortController().signal);
    expect(await reply).toMatchObject({ outcome: 0, error: 'ERR_INVALID_ARG_VALUE', deadline: false });
    expect(engine.stats().inFlight).toBe(0);
  });

  it('hands the body of an exchange over as text', async () => {
    const fake = standIn();
    engine = new ProbeEngine(fake.binding);
    const signal = new AbortController().signal;
    const replies = [engine.http(1, signal), engine.http(2, signal)];
    await macrotask();
    const [a, b] = fake.engine().calls[0]?.ids ?? [];
    fake.engine().answer([
      { id: a as number, outcome: 200, latencyUs: 1500, body: 'ok' },
      { id: b as number, outcome: 500, body: '[-]etcd failed: reason withheld\n' },
    ]);
    expect(await Promise.all(replies)).toEqual([
      { outcome: 200, latencyUs: 1500, error: undefined, body: 'ok', deadline: false },
      { outcome: 500, latencyUs: 0, error: undefined, body: '[-]etcd failed: reason withheld\n', deadline: false },
    ]);
  });
});

describe('ApiProbe on the engine (wrapper logic, stand-in binding)', () => {
  it('sends nothing for a target the guard refuses', async () => {
    const fake = standIn();
    const engine = new ProbeEngine(fake.binding);
    const probe = new ApiProbe({ engine, guard: probeTargetGuard() });
    try {
      const outcome = await probe.check(probeTarget('openstack', 'http://169.254.169.254/v3'), AbortSignal.timeout(1000));
      expect(outcome).toEqual({ ok: false, reason: 'refused by the probe target policy (http://169.254.169.254/v3)' });
      await macrotask();
      expect(fake.engine().calls).toHaveLength(0);
      expect(fake.engine().targets.size).toBe(0);
    } finally {
      await probe.close();
      engine.close();
    }
  });

  it('builds a VIM\'s request once, shares TLS contexts per CA, redefines on a change and drops the target on forget', async () => {
    const fake = standIn();
    const engine = new ProbeEngine(fake.binding);
    const probe = new ApiProbe({ engine, guard: probeTargetGuard() });
    const answerAll = async (status: number, body?: string) => {
      await macrotask();
      const call = fake.engine().calls.at(-1);
      fake.engine().answer((call?.ids ?? []).map((id) => ({ id, outcome: status, latencyUs: 1234, ...(body !== undefined && { body }) })));
    };
    try {
      const a = probeTarget('kubernetes', 'https://127.0.0.1:6443', { ssl_ca_cert: 'CA-1' });
      const b = probeTarget('kubernetes', 'https://[::1]:6443', { ssl_ca_cert: 'CA-1' });
      const checks = [probe.check(a, AbortSignal.timeout(1000)), probe.check(b, AbortSignal.timeout(1000))];
      await answerAll(200, 'ok');
      expect(await Promise.all(checks)).toEqual([
        { ok: true, latencyMs: 1.2, reason: 'HTTP 200 from https://127.0.0.1:6443/readyz: ok' },
        { ok: true, latencyMs: 1.2, reason: 'HTTP 200 from https://[::1]:6443/readyz: ok' },
      ]);
      const defined = [...fake.engine().targets.values()];
      expect(defined.map((t) => t.request.toString())).toEqual([
        'GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:6443\r\nAccept: text/plain\r\nUser-Agent: vim-monitor\r\nConnection: close\r\n\r\n',
        'GET /readyz HTTP/1.1\r\nHost: [::1]:6443\r\nAccept: text/plain\r\nUser-Agent: vim-monitor\r\nConnection: close\r\n\r\n',
      ]);
      expect(defined.map((t) => [t.address, t.serverName, t.maxBody])).toEqual([
        ['127.0.0.1', '127.0.0.1', 4096],
        ['::1', '::1', 4096],
      ]);
      expect(fake.engine().contexts.size).toBe(1);
      expect(probe.engineTargets()).toEqual({ targets: 2, tlsContexts: 1 });

      // Another CA for b: its own context, its target defined again under the same VIM.
      const b2 = { ...b, tls: { verify: true, ca: 'CA-2' } };
      const again = probe.check(b2, AbortSignal.timeout(1000));
      await answerAll(401);
      expect(await again).toMatchObject({ ok: true, reason: 'HTTP 401 from https://[::1]:6443/readyz: anonymous access is disabled; the API server answers' });
      expect(fake.engine().contexts.size).toBe(2);
      expect(fake.engine().targets.size).toBe(2);

      probe.forget(b.vimId);
      expect(fake.engine().targets.size).toBe(1);
      expect(fake.engine().contexts.size).toBe(1);
      probe.forget(a.vimId);
      expect(fake.engine().targets.size).toBe(0);
      expect(fake.engine().contexts.size).toBe(0);
      expect(probe.engineTargets()).toEqual({ targets: 0, tlsContexts: 0 });
    } finally {
      await probe.close();
      engine.close();
    }
  });
});
