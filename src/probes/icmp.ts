import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { beforeDeadline, DEADLINE_PASSED } from '../time/deadline.js';
import { monotonicMs, timedOutReason } from './deadline.js';
import type { Pinger, PingerStats, PingReply } from './pinger.js';
import type { Probe, ProbeOutcome, ProbeTarget } from './probe.js';
import type { EgressGuard } from '../net/egress-guard.js';
import type { HostLookup } from './resolve-host.js';
import { probeTargetGuard } from './target-policy.js';
import { SystemPinger, type SystemPingerOptions } from './system-pinger.js';

export interface IcmpProbeOptions extends SystemPingerOptions {
  /** How long to wait for an echo reply (default 1000 ms); the check's signal may end it sooner. */
  replyTimeoutMs?: number;
  /** Another pinger than the system's (one is shared by every VIM of a process). */
  pinger?: Pinger;
  /** The probe target policy (shared by all probes); by default the built-in one with `lookup`. */
  guard?: EgressGuard;
  lookup?: HostLookup;
  logger?: Logger;
}

/**
 * ICMP echo to the host of auth_url. A host name is resolved in both
 * families and the host counts as up when any of its addresses answers.
 * Every check of every VIM goes through one pinger: the native probe
 * engine's (engine/native-pinger.ts, one socket per family), or fping's,
 * which sends all checks of a round through one fping process.
 */
export class IcmpProbe implements Probe {
  readonly name = 'icmp' as const;
  private readonly pinger: Pinger;
  private readonly replyTimeoutMs: number;
  private readonly guard: EgressGuard;
  /**
   * The policy's verdict per IP literal checked. The policy does not change
   * while the process runs, and judging an address costs node:net BlockList
   * lookups (a SocketAddress each: ~10 µs, the largest share of an ICMP
   * check's JavaScript on the native engine), so each VIM's host is judged once.
   */
  private readonly verdicts = new Map<string, boolean>();

  constructor(options: IcmpProbeOptions = {}) {
    const { pinger, replyTimeoutMs, lookup, guard, ...systemOptions } = options;
    this.pinger = pinger ?? new SystemPinger(systemOptions);
    this.replyTimeoutMs = replyTimeoutMs ?? 1000;
    this.guard = guard ?? probeTargetGuard(lookup ? { lookup } : {});
  }

  check(target: ProbeTarget, signal: AbortSignal): Promise<ProbeOutcome> {
    const startedAt = monotonicMs();
    // An IP literal (the usual auth_url): one ping, no DNS, no promise or abort listener of the probe's own.
    if (isIP(target.host) !== 0) {
      if (this.refuses(target.host)) return Promise.resolve({ ok: false, reason: this.guard.refusedReason });
      return this.checkAddress(target.host, signal, startedAt);
    }
    return this.checkHostName(target.host, signal, startedAt);
  }

  /** Not an async function: one `then` costs less garbage than a suspended frame, at one check per VIM and round. */
  private checkAddress(address: string, signal: AbortSignal, startedAt: number): Promise<ProbeOutcome> {
    return this.pinger.ping(address, this.replyTimeoutMs, signal).then((reply) => echoOutcome(reply, address, signal, startedAt));
  }

  private async checkHostName(host: string, signal: AbortSignal, startedAt: number): Promise<ProbeOutcome> {
    // Resolved and checked once; only the checked addresses are pinged.
    const resolution = await beforeDeadline(this.guard.resolve(host), signal);
    if (resolution === DEADLINE_PASSED) return { ok: false, reason: `${timedOutReason(startedAt)} (DNS lookup of ${host})` };
    if (!resolution.ok) return { ok: false, reason: resolution.reason };
    const [only] = resolution.addresses;
    if (only !== undefined && resolution.addresses.length === 1) return this.checkAddress(only.address, signal, startedAt);

    const addresses = resolution.addresses.map((a) => a.address);
    const replies = await firstAlive(addresses.map((address) => this.pinger.ping(address, this.replyTimeoutMs, signal)));
    const alive = replies.find((r): r is Extract<PingReply, { alive: true }> => r.alive);
    if (alive) return { ok: true, latencyMs: alive.rttMs, reason: `ICMP echo reply in ${alive.rttMs} ms` };
    // The monitor's deadline came before the pinger's own reply timeout: still a missing echo, and said so.
    if (signal.aborted || replies.some((r) => !r.alive && r.aborted === true)) return { ok: false, reason: `no ICMP echo reply from ${addresses.join(', ')}: ${timedOutReason(startedAt)}` };
    return { ok: false, reason: describeFailures(addresses, replies, this.replyTimeoutMs) };
  }

  private refuses(address: string): boolean {
    let refused = this.verdicts.get(address);
    if (refused === undefined) {
      refused = this.guard.policy.refuses(address);
      // Bounded: far more addresses than VIMs means addresses come and go; start over.
      if (this.verdicts.size >= MAX_VERDICTS) this.verdicts.clear();
      this.verdicts.set(address, refused);
    }
    return refused;
  }

  stats(): PingerStats {
    return this.pinger.stats();
  }

  async close(): Promise<void> {
    await this.pinger.close();
  }
}

const MAX_VERDICTS = 100_000;

/** Settles as soon as one reply is alive, or when all have answered. */
function firstAlive(pings: Promise<PingReply>[]): Promise<PingReply[]> {
  return new Promise((resolve) => {
    const replies: PingReply[] = [];
    let remaining = pings.length;
    if (remaining === 0) resolve(replies);
    for (const ping of pings) {
      void ping.then((reply) => {
        replies.push(reply);
        remaining -= 1;
        if (reply.alive || remaining === 0) resolve(replies);
      });
    }
  });
}

function describeFailures(addresses: string[], replies: PingReply[], timeoutMs: number): string {
  const reasons = [...new Set(replies.flatMap((r) => (r.alive ? [] : [r.reason])))];
  const allSilent = reasons.every((r) => r.startsWith('no ICMP echo reply from ') && !r.includes('(the reply took'));
  if (allSilent && addresses.length > 1) return `no ICMP echo reply from ${addresses.join(', ')} within ${timeoutMs} ms`;
  return reasons.join('; ');
}

function echoOutcome(reply: PingReply, address: string, signal: AbortSignal, startedAt: number): ProbeOutcome {
  if (reply.alive) return { ok: true, latencyMs: reply.rttMs, reason: `ICMP echo reply in ${reply.rttMs} ms` };
  // The monitor's deadline came before the pinger's own reply timeout: still a missing echo, and said so.
  // (The native engine ends the echo at the deadline itself and says so with `aborted`, just before the signal fires.)
  if (signal.aborted || reply.aborted === true) return { ok: false, reason: `no ICMP echo reply from ${address}: ${timedOutReason(startedAt)}` };
  return { ok: false, reason: reply.reason };
}
