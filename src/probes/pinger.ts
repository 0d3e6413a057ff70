/** What the ICMP probe needs from an echo tool: one answer per address, and counters that show the cost. */
export type PingReply = { alive: true; rttMs: number } | { alive: false; reason: string; aborted?: boolean };

export interface PingerStats {
  /** Which tool answered: the native probe engine, fping (batched), iputils ping (one process per address) or none found yet/at all. */
  tool: 'native' | 'fping' | 'ping' | 'none' | 'undetected';
  /** ping() calls. */
  requests: number;
  /** fping rounds (one process each), or native engine calls; 0 with iputils ping. */
  batches: number;
  /** Distinct addresses sent an echo request, summed over rounds. */
  addressesPinged: number;
  processesSpawned: number;
}

export interface Pinger {
  /** Resolves (never rejects) by the time `signal` aborts, with `aborted: true` then. */
  ping(address: string, timeoutMs: number, signal: AbortSignal): Promise<PingReply>;
  stats(): PingerStats;
  /** Ends processes still running; later pings answer that the pinger is closed. */
  close(): Promise<void>;
}

export const ABORTED_REPLY: PingReply = { alive: false, reason: 'aborted', aborted: true };

export function noReplyReason(address: string, timeoutMs: number): string {
  return `no ICMP echo reply from ${address} within ${timeoutMs} ms`;
}
