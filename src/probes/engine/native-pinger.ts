import { describeNetworkError } from '../network-error.js';
import { ABORTED_REPLY, noReplyReason, type Pinger, type PingerStats, type PingReply } from '../pinger.js';
import { ABORTED, CLOSED, type EngineReply, type ProbeEngine } from './probe-engine.js';

/** How fping words an ICMP error reply (fping-output.ts); the engine gives the code, not the router that sent it. */
const ICMP_ERRORS: Record<string, string> = {
  EHOSTUNREACH: 'ICMP Host Unreachable',
  ENETUNREACH: 'ICMP Network Unreachable',
};

const CLOSED_PING: PingReply = { alive: false, reason: 'ICMP pinger is closed' };

/**
 * The ICMP echo of the native engine behind the Pinger of the fping path,
 * with the same reasons: an echo request per check over one socket per
 * family, no process. A family the engine cannot ping (no raw socket and
 * ping_group_range excludes us) goes to `fallback` (fping) when one is given.
 */
export class NativePinger implements Pinger {
  private readonly ipv4: boolean;
  private readonly ipv6: boolean;
  private requests = 0;
  private closed = false;

  constructor(
    private readonly engine: ProbeEngine,
    private readonly fallback?: Pinger,
  ) {
    this.ipv4 = engine.icmp.ipv4 !== 'none';
    this.ipv6 = engine.icmp.ipv6 !== 'none';
  }

  ping(address: string, timeoutMs: number, signal: AbortSignal): Promise<PingReply> {
    this.requests += 1;
    if (this.closed) return Promise.resolve(CLOSED_PING);
    // Addresses are literals here (IcmpProbe resolves names): a colon means IPv6.
    const native = address.includes(':') ? this.ipv6 : this.ipv4;
    if (!native) {
      if (this.fallback) return this.fallback.ping(address, timeoutMs, signal);
      return Promise.resolve({ alive: false, reason: `no ICMP echo possible to ${address}: ${this.engine.icmp.reason ?? 'the native probe engine cannot send ICMP in this family'}` });
    }
    return this.engine.ping(address, timeoutMs, signal).then((reply) => toPingReply(reply, address, timeoutMs));
  }

  stats(): PingerStats {
    const engine = this.engine.stats();
    return { tool: 'native', requests: this.requests, batches: engine.batches, addressesPinged: engine.submitted, processesSpawned: this.fallback?.stats().processesSpawned ?? 0 };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.fallback?.close();
  }
}

function toPingReply(reply: EngineReply, address: string, timeoutMs: number): PingReply {
  if (reply.outcome === 1) return { alive: true, rttMs: reply.latencyUs / 1000 };
  const error = reply.error;
  if (reply.deadline) return ABORTED_REPLY;
  if (error === 'ETIMEDOUT') return { alive: false, reason: noReplyReason(address, timeoutMs) };
  if (error === CLOSED) return CLOSED_PING;
  if (error === ABORTED) return ABORTED_REPLY;
  const icmp = error === undefined ? undefined : ICMP_ERRORS[error];
  if (icmp !== undefined) return { alive: false, reason: `${icmp} for ${address}` };
  return { alive: false, reason: `no ICMP echo sent to ${address}: ${describeNetworkError({ code: error })}` };
}
