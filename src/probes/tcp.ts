import { connect, type Socket } from 'node:net';
import { beforeDeadline, DEADLINE_PASSED } from '../time/deadline.js';
import { latencySince, monotonicMs, timedOutReason } from './deadline.js';
import { describeNetworkError } from './network-error.js';
import type { Probe, ProbeOutcome, ProbeTarget } from './probe.js';
import type { EgressGuard } from '../net/egress-guard.js';
import { hostPort, type HostLookup } from './resolve-host.js';
import { probeTargetGuard } from './target-policy.js';

export interface TcpProbeOptions {
  /** The probe target policy (shared by all probes); by default the built-in one with `lookup`. */
  guard?: EgressGuard;
  lookup?: HostLookup;
}

type Attempt = { ok: true; address: string; latencyMs: number } | { ok: false; address: string; reason: string };

/**
 * A TCP connect to host:port of auth_url: success means something listens.
 * All addresses of a host name are tried at once; the first to accept wins
 * and its connect time is the latency. The connection is closed at once.
 */
export class TcpProbe implements Probe {
  readonly name = 'tcp' as const;

  private readonly guard: EgressGuard;

  constructor(options: TcpProbeOptions = {}) {
    this.guard = options.guard ?? probeTargetGuard(options.lookup ? { lookup: options.lookup } : {});
  }

  async check(target: ProbeTarget, signal: AbortSignal): Promise<ProbeOutcome> {
    const startedAt = monotonicMs();
    // Resolved and checked once; only the checked addresses are connected to.
    const resolution = await beforeDeadline(this.guard.resolve(target.host), signal);
    if (resolution === DEADLINE_PASSED) return { ok: false, reason: `${timedOutReason(startedAt)} (DNS lookup of ${target.host})` };
    if (!resolution.ok) return { ok: false, reason: resolution.reason };

    // The losers of the race are abandoned once one address accepted.
    const race = new AbortController();
    const attemptSignal = AbortSignal.any([signal, race.signal]);
    const attempts = await firstConnected(resolution.addresses.map(({ address }) => connectOnce(address, target.port, attemptSignal)));
    race.abort();
    const won = attempts.find((a): a is Extract<Attempt, { ok: true }> => a.ok);
    if (won) return { ok: true, latencyMs: won.latencyMs, reason: `connected to ${hostPort(won.address, target.port)} in ${won.latencyMs} ms` };
    if (signal.aborted) return { ok: false, reason: timedOutReason(startedAt) };
    const failures = attempts.filter((a): a is Extract<Attempt, { ok: false }> => !a.ok);
    if (failures.length === 1) return { ok: false, reason: (failures[0] as { reason: string }).reason };
    return { ok: false, reason: failures.map((f) => `${hostPort(f.address, target.port)}: ${f.reason}`).join('; ') };
  }
}

function connectOnce(address: string, port: number, signal: AbortSignal): Promise<Attempt> {
  if (signal.aborted) return Promise.resolve({ ok: false, address, reason: 'aborted' });
  return new Promise((resolve) => {
    const startedAt = monotonicMs();
    const socket: Socket = connect({ host: address, port });
    const done = (attempt: Attempt) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(attempt);
    };
    const onAbort = () => done({ ok: false, address, reason: 'aborted' });
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => done({ ok: true, address, latencyMs: latencySince(startedAt) }));
    socket.once('error', (error) => done({ ok: false, address, reason: describeNetworkError(error) }));
  });
}

/** Settles when one attempt connected, or when all have failed. */
function firstConnected(attempts: Promise<Attempt>[]): Promise<Attempt[]> {
  return new Promise((resolve) => {
    const results: Attempt[] = [];
    if (attempts.length === 0) resolve(results);
    for (const attempt of attempts) {
      void attempt.then((result) => {
        results.push(result);
        if (result.ok || results.length === attempts.length) resolve(results);
      });
    }
  });
}
