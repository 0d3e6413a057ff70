/**
 * The batcher against the real fping (Debian package fping) on loopback, and
 * against a silent host in a network namespace of the test's own
 * (test/support/net-targets.ts: needs root and iproute2).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { getEventListeners } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSilentHost, type SilentHost } from '../../test/support/net-targets.js';
import { FpingBatcher } from './fping-batcher.js';
import { findExecutable } from './system-pinger.js';

const FPING = findExecutable('fping');

describe('FpingBatcher', () => {
  let silent: SilentHost;
  let batcher: FpingBatcher;

  beforeAll(() => {
    if (!FPING) throw new Error('fping is not installed: apt-get install -y fping (see .ci/run)');
    silent = startSilentHost();
  });
  afterAll(() => silent?.close());
  afterEach(async () => batcher?.close());

  const never = () => new AbortController().signal;

  it('answers a loopback address of each family with its round-trip time', async () => {
    batcher = new FpingBatcher({ fpingPath: FPING });
    const [v4, v6] = await Promise.all([batcher.ping('127.0.0.1', 1000, never()), batcher.ping('::1', 1000, never())]);
    expect(v4).toEqual({ alive: true, rttMs: expect.any(Number) });
    expect(v6).toEqual({ alive: true, rttMs: expect.any(Number) });
    expect(batcher.stats()).toMatchObject({ batches: 1, processesSpawned: 1, addressesPinged: 2 });
  });

  it('sends twenty addresses pinged within one window through exactly one fping process', async () => {
    batcher = new FpingBatcher({ fpingPath: FPING });
    const addresses = Array.from({ length: 20 }, (_, i) => `127.0.0.${i + 1}`);
    const replies = await Promise.all(addresses.map((a) => batcher.ping(a, 1000, never())));
    expect(replies.every((r) => r.alive)).toBe(true);
    expect(batcher.stats()).toEqual({ tool: 'fping', requests: 20, batches: 1, processesSpawned: 1, addressesPinged: 20 });
  });

  it('pings an address shared by several callers once', async () => {
    batcher = new FpingBatcher({ fpingPath: FPING });
    const replies = await Promise.all([1, 2, 3].map(() => batcher.ping('127.0.0.1', 1000, never())));
    expect(replies.every((r) => r.alive)).toBe(true);
    expect(batcher.stats()).toMatchObject({ requests: 3, batches: 1, addressesPinged: 1 });
  });

  it('starts a new process for pings made after the window closed', async () => {
    batcher = new FpingBatcher({ fpingPath: FPING, windowMs: 5 });
    await batcher.ping('127.0.0.1', 1000, never());
    await batcher.ping('127.0.0.1', 1000, never());
    expect(batcher.stats()).toMatchObject({ batches: 2, processesSpawned: 2 });
  });

  it('reports no echo reply from a silent host once its timeout has passed', async () => {
    batcher = new FpingBatcher({ fpingPath: FPING });
    const started = Date.now();
    expect(await batcher.ping(silent.ipv4, 300, never())).toEqual({ alive: false, reason: `no ICMP echo reply from ${silent.ipv4} within 300 ms` });
    expect(await batcher.ping(silent.ipv6, 300, never())).toEqual({ alive: false, reason: `no ICMP echo reply from ${silent.ipv6} within 300 ms` });
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
  });

  it('answers a live address of a round at once, without waiting for the silent one', async () => {
    batcher = new FpingBatcher({ fpingPath: FPING });
    const started = Date.now();
    const slow = batcher.ping(silent.ipv4, 800, never());
    const fast = await batcher.ping('127.0.0.1', 800, never());
    expect(fast.alive).toBe(true);
    expect(Date.now() - started).toBeLessThan(500);
    expect((await slow).alive).toBe(false);
    expect(batcher.stats().processesSpawned).toBe(1);
  });

  it('answers a caller at its deadline, and stops the fping that nobody waits for any more', async () => {
    batcher = new FpingBatcher({ fpingPath: FPING });
    const started = Date.now();
    const reply = await batcher.ping(silent.ipv4, 10_000, AbortSignal.timeout(200));
    expect(reply).toMatchObject({ alive: false, aborted: true });
    expect(Date.now() - started).toBeLessThan(500);
    // Killed, not left to wait out its 10 s: gone well before then.
    for (let i = 0; i < 50 && batcher.activeProcesses() > 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(batcher.activeProcesses()).toBe(0);
  });

  it('does not start fping for a caller that gave up before the window closed', async () => {
    batcher = new FpingBatcher({ fpingPath: FPING, windowMs: 50 });
    const controller = new AbortController();
    const reply = batcher.ping('127.0.0.1', 1000, controller.signal);
    controller.abort();
    expect(await reply).toMatchObject({ aborted: true });
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(batcher.stats().processesSpawned).toBe(0);
  });

  it('answers every caller sharing a signal when it aborts, through one abort listener that is gone afterwards', async () => {
    batcher = new FpingBatcher({ fpingPath: FPING });
    const controller = new AbortController();
    const addresses = [silent.ipv4, silent.ipv6];
    const replies = Promise.all(Array.from({ length: 10 }, (_, i) => batcher.ping(addresses[i % 2] as string, 10_000, controller.signal)));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    for (let i = 0; i < 50 && batcher.activeProcesses() === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(batcher.activeProcesses()).toBe(1);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    expect(await replies).toEqual(Array.from({ length: 10 }, () => ({ alive: false, reason: 'aborted', aborted: true })));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    for (let i = 0; i < 50 && batcher.activeProcesses() > 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(batcher.activeProcesses()).toBe(0);
  });

  it('answers callers sharing a signal that aborts before the window closed, and starts no fping for them', async () => {
    batcher = new FpingBatcher({ fpingPath: FPING, windowMs: 50 });
    const controller = new AbortController();
    const replies = Promise.all([1, 2, 3, 4, 5].map((i) => batcher.ping(`127.0.0.${i}`, 1000, controller.signal)));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    expect((await replies).every((r) => !r.alive && r.aborted === true)).toBe(true);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(batcher.stats().processesSpawned).toBe(0);
  });

  it('leaves no abort listener on a shared signal once all its callers have their answers', async () => {
    batcher = new FpingBatcher({ fpingPath: FPING });
    const shared = new AbortController().signal;
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => batcher.ping(`127.0.0.${i + 1}`, 1000, shared)));
    expect(replies.every((r) => r.alive)).toBe(true);
    expect(getEventListeners(shared, 'abort')).toHaveLength(0);
  });

  it('reads replies and summaries that fping writes in pieces, and a last line without a newline', async () => {
    // A stand-in for fping that cuts a reply line and a summary line in two, with pauses so that they arrive as separate chunks.
    const dir = mkdtempSync(path.join(tmpdir(), 'fake-fping-'));
    try {
      const fake = path.join(dir, 'fping');
      writeFileSync(
        fake,
        [
          '#!/bin/sh',
          'cat >/dev/null',
          "printf '127.0.0.1  : [0], 64 by'",
          'sleep 0.05',
          "printf 'tes, 0.013 ms (0.013 avg, 0%% loss)\\n'",
          "printf '127.0.0.2  : 0.0' >&2",
          'sleep 0.05',
          "printf '21' >&2",
          '',
        ].join('\n'),
      );
      chmodSync(fake, 0o755);
      batcher = new FpingBatcher({ fpingPath: fake });
      const replies = await Promise.all([batcher.ping('127.0.0.1', 1000, never()), batcher.ping('127.0.0.2', 1000, never())]);
      expect(replies).toEqual([
        { alive: true, rttMs: 0.013 },
        { alive: true, rttMs: 0.021 },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says so when fping cannot be started', async () => {
    batcher = new FpingBatcher({ fpingPath: '/nonexistent/fping' });
    expect(await batcher.ping('127.0.0.1', 500, never())).toEqual({
      alive: false,
      reason: 'fping could not be started (ENOENT) (no result for 127.0.0.1)',
    });
  });
});
