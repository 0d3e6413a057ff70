/**
 * The ICMP probe on both engines: the native probe engine's echo (one socket
 * per family) and the Node.js drivers (the real fping and iputils ping,
 * Debian packages fping and iputils-ping), on loopback and against a silent
 * host in a network namespace of the test's own (test/support/net-targets.ts:
 * root, iproute2). Only DNS answers are injected, so that no query leaves the
 * machine.
 */
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSilentHost, type SilentHost } from '../../test/support/net-targets.js';
import { probeEngineNames, startNativeEngine } from '../../test/support/probe-engines.js';
import { deadline, probeTarget } from '../../test/support/probe-target.js';
import { deadline as tickDeadline } from '../time/deadline.js';
import { NativePinger } from './engine/native-pinger.js';
import type { ProbeEngine } from './engine/probe-engine.js';
import { IcmpProbe, type IcmpProbeOptions } from './icmp.js';
import type { HostLookup } from './resolve-host.js';
import { findExecutable } from './system-pinger.js';

const at = (host: string) => probeTarget('openstack', `http://${host.includes(':') ? `[${host}]` : host}:5000/v3`);

function capturingLogger() {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
  return { logger, lines };
}

describe.each(probeEngineNames())('IcmpProbe on the %s engine', (engineName) => {
  let silent: SilentHost;
  let probe: IcmpProbe;
  let engine: ProbeEngine | undefined;
  const native = engineName === 'native';
  /** The probe on this engine: the native one's pinger, or the default (fping). */
  const make = (options: IcmpProbeOptions = {}): IcmpProbe => new IcmpProbe({ ...options, ...(engine && { pinger: new NativePinger(engine) }) });

  beforeAll(() => {
    if (native) engine = startNativeEngine();
    else {
      if (!findExecutable('fping')) throw new Error('fping is not installed: apt-get install -y fping (see .ci/run)');
      if (!findExecutable('ping')) throw new Error('iputils ping is not installed: apt-get install -y iputils-ping (see .ci/run)');
    }
    silent = startSilentHost();
  });
  afterAll(() => {
    silent?.close();
    engine?.close();
  });
  afterEach(async () => probe?.close());

  it('finds 127.0.0.1, ::1 and localhost up, with a latency', async () => {
    probe = make();
    const outcomes = await Promise.all(['127.0.0.1', '::1', 'localhost'].map((host) => probe.check(at(host), deadline(2000))));
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ ok: true, latencyMs: expect.any(Number), reason: expect.stringMatching(/^ICMP echo reply in [\d.]+ ms$/) });
    }
    expect(probe.stats().tool).toBe(native ? 'native' : 'fping');
  });

  it('finds a silent host down, naming the address and the wait', async () => {
    probe = make({ replyTimeoutMs: 300 });
    expect(await probe.check(at(silent.ipv4), deadline(2000))).toEqual({ ok: false, reason: `no ICMP echo reply from ${silent.ipv4} within 300 ms` });
    expect(await probe.check(at(silent.ipv6), deadline(2000))).toEqual({ ok: false, reason: `no ICMP echo reply from ${silent.ipv6} within 300 ms` });
  });

  it('counts a host name up when any of its addresses answers', async () => {
    const lookup: HostLookup = async () => [{ address: silent.ipv4, family: 4 }, { address: '::1', family: 6 }];
    probe = make({ replyTimeoutMs: 300, lookup });
    expect(await probe.check(at('dual.vim.test'), deadline(2000))).toMatchObject({ ok: true });
  });

  it('names every address of a host name that does not answer', async () => {
    const lookup: HostLookup = async () => [{ address: silent.ipv4, family: 4 }, { address: silent.ipv6, family: 6 }];
    probe = make({ replyTimeoutMs: 300, lookup });
    expect(await probe.check(at('silent.vim.test'), deadline(2000))).toEqual({
      ok: false,
      reason: `no ICMP echo reply from ${silent.ipv4}, ${silent.ipv6} within 300 ms`,
    });
  });

  it('checks an IP literal without a DNS lookup', async () => {
    let lookups = 0;
    const lookup: HostLookup = async () => {
      lookups += 1;
      return [];
    };
    probe = make({ lookup });
    expect(await probe.check(at('127.0.0.1'), deadline(2000))).toMatchObject({ ok: true });
    expect(await probe.check(at('::1'), deadline(2000))).toMatchObject({ ok: true });
    expect(lookups).toBe(0);
  });

  it('checks a host name with a single address as that address, with the same reasons', async () => {
    const only = (address: string): HostLookup => async () => [{ address, family: address.includes(':') ? 6 : 4 }];
    probe = make({ replyTimeoutMs: 300, lookup: only('::1') });
    expect(await probe.check(at('one.vim.test'), deadline(2000))).toMatchObject({ ok: true, latencyMs: expect.any(Number) });
    await probe.close();
    probe = make({ replyTimeoutMs: 300, lookup: only(silent.ipv4) });
    expect(await probe.check(at('one.vim.test'), deadline(2000))).toEqual({ ok: false, reason: `no ICMP echo reply from ${silent.ipv4} within 300 ms` });
    await probe.close();
    probe = make({ replyTimeoutMs: 10_000, lookup: only(silent.ipv4) });
    expect(await probe.check(at('one.vim.test'), deadline(300))).toEqual({
      ok: false,
      reason: expect.stringMatching(new RegExp(`^no ICMP echo reply from ${silent.ipv4.replaceAll('.', '\\.')}: timed out after \\d+ ms$`)),
    });
  });

  it('reports a failed DNS lookup with its code', async () => {
    const lookup: HostLookup = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.vim.test'), { code: 'ENOTFOUND' });
    };
    probe = make({ lookup });
    expect(await probe.check(at('nowhere.vim.test'), deadline(2000))).toEqual({ ok: false, reason: 'DNS lookup of nowhere.vim.test failed: ENOTFOUND' });
  });

  it('settles at its deadline when the reply would be allowed to take longer', async () => {
    probe = make({ replyTimeoutMs: 10_000 });
    const started = Date.now();
    const outcome = await probe.check(at(silent.ipv4), deadline(300));
    expect(outcome).toEqual({ ok: false, reason: expect.stringMatching(/^no ICMP echo reply from [0-9.]+: timed out after \d+ ms$/) });
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('checks twenty VIMs due in one round with one fping process, or one native call', async () => {
    probe = make();
    const before = probe.stats();
    const targets = Array.from({ length: 20 }, (_, i) => at(`127.0.${i}.1`));
    const outcomes = await Promise.all(targets.map((target) => probe.check(target, deadline(2000))));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    if (native) expect(probe.stats()).toEqual({ tool: 'native', requests: 20, batches: before.batches + 1, addressesPinged: before.addressesPinged + 20, processesSpawned: 0 });
    else expect(probe.stats()).toEqual({ tool: 'fping', requests: 20, batches: 1, addressesPinged: 20, processesSpawned: 1 });
  });

  it("settles at a tick's deadline (the monitor's shared signal) with the same reasons", async () => {
    probe = make({ replyTimeoutMs: 10_000 });
    const tick = tickDeadline(300);
    try {
      const started = Date.now();
      const [silentOne, loopback] = await Promise.all([probe.check(at(silent.ipv6), tick.signal), probe.check(at('127.0.0.1'), tick.signal)]);
      expect(silentOne).toEqual({ ok: false, reason: expect.stringMatching(/^no ICMP echo reply from [0-9a-f:]+: timed out after \d+ ms$/) });
      expect(loopback).toMatchObject({ ok: true });
      expect(Date.now() - started).toBeLessThan(500);
    } finally {
      tick.dispose();
    }
  });

});

describe('IcmpProbe on the Node.js drivers, without fping', () => {
  let silent: SilentHost;
  let probe: IcmpProbe;

  beforeAll(() => {
    silent = startSilentHost();
  });
  afterAll(() => silent?.close());
  afterEach(async () => probe?.close());

  it('falls back to iputils ping per address when fping is missing, and says so once', async () => {
    const { logger, lines } = capturingLogger();
    probe = new IcmpProbe({ fping: null, replyTimeoutMs: 300, logger });
    const [up, down] = await Promise.all([probe.check(at('127.0.0.1'), deadline(2000)), probe.check(at(silent.ipv4), deadline(2000))]);
    expect(up).toMatchObject({ ok: true, latencyMs: expect.any(Number) });
    // Which of the two answers comes first depends on timing: ping's own reply timeout, or the kernel
    // giving up on the neighbour lookup for the absent host. Both are the right verdict with a true reason.
    const silentHost = silent.ipv4.replaceAll('.', '\\.');
    expect(down).toEqual({
      ok: false,
      reason: expect.stringMatching(new RegExp(`^(no ICMP echo reply from ${silentHost} within 300 ms|ICMP Destination Host Unreachable from [0-9.]+ for ${silentHost})$`)),
    });
    expect(await probe.check(at('::1'), deadline(2000))).toMatchObject({ ok: true });
    expect(probe.stats()).toMatchObject({ tool: 'ping', batches: 0, processesSpawned: 3 });
    expect(lines.filter((l) => l.msg.startsWith('fping not found'))).toHaveLength(1);
  });

  it('fails every check with a clear reason when neither fping nor ping exists', async () => {
    const { logger, lines } = capturingLogger();
    probe = new IcmpProbe({ fping: null, ping: '/nonexistent/ping', logger });
    for (let i = 0; i < 2; i += 1) {
      expect(await probe.check(at('127.0.0.1'), deadline(2000))).toEqual({
        ok: false,
        reason: 'no ICMP tool: neither fping nor iputils ping is installed (install the Debian package fping)',
      });
    }
    expect(probe.stats()).toMatchObject({ tool: 'none', processesSpawned: 0 });
    expect(lines.filter((l) => l.level === 50)).toHaveLength(1);
  });
});
