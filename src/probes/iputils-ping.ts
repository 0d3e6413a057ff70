import { spawn } from 'node:child_process';
import { ABORTED_REPLY, noReplyReason, type Pinger, type PingerStats, type PingReply } from './pinger.js';

const TIME = /time[=<]([\d.]+) ms/;
const ICMP_ERROR = /^From (\S+?):? icmp_seq=\d+ (.+)$/m;

/**
 * The fallback when fping is missing: one iputils `ping -c 1` process per
 * address (concurrent calls for one address share it). This is the per-check
 * cost the design avoids, so it is only used when fping cannot be found.
 */
export class IputilsPinger implements Pinger {
  private readonly inFlight = new Map<string, Promise<PingReply>>();
  private readonly children = new Set<ReturnType<typeof spawn>>();
  private readonly counters = { requests: 0, batches: 0, addressesPinged: 0, processesSpawned: 0 };
  private closed = false;

  constructor(private readonly pingPath: string = 'ping') {}

  ping(address: string, timeoutMs: number, signal: AbortSignal): Promise<PingReply> {
    this.counters.requests += 1;
    if (this.closed) return Promise.resolve({ alive: false, reason: 'ICMP pinger is closed' });
    if (signal.aborted) return Promise.resolve(ABORTED_REPLY);
    const key = `${address}/${timeoutMs}`;
    let shared = this.inFlight.get(key);
    if (!shared) {
      shared = this.run(address, timeoutMs).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, shared);
    }
    return new Promise((resolve) => {
      const onAbort = () => resolve(ABORTED_REPLY);
      signal.addEventListener('abort', onAbort, { once: true });
      void shared.then((reply) => {
        signal.removeEventListener('abort', onAbort);
        resolve(reply);
      });
    });
  }

  stats(): PingerStats {
    return { tool: 'ping', ...this.counters };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const child of this.children) child.kill('SIGKILL');
  }

  private run(address: string, timeoutMs: number): Promise<PingReply> {
    this.counters.addressesPinged += 1;
    this.counters.processesSpawned += 1;
    return new Promise((resolve) => {
      // -W takes seconds (a decimal fraction is allowed by iputils); -n: no reverse DNS.
      const seconds = Math.max(0.001, timeoutMs / 1000).toFixed(3);
      const child = spawn(this.pingPath, ['-n', '-c', '1', '-W', seconds, address], { stdio: ['ignore', 'pipe', 'pipe'] });
      this.children.add(child);
      let out = '';
      let err = '';
      child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
      child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
      child.on('error', (error: NodeJS.ErrnoException) => {
        this.children.delete(child);
        resolve({ alive: false, reason: `ping could not be started (${error.code ?? error.message})` });
      });
      child.on('close', (code) => {
        this.children.delete(child);
        const time = TIME.exec(out);
        if (code === 0 && time) {
          const rttMs = Number(time[1]);
          resolve(rttMs <= timeoutMs ? { alive: true, rttMs } : { alive: false, reason: `${noReplyReason(address, timeoutMs)} (the reply took ${rttMs} ms)` });
        } else if (code === 1) {
          const icmp = ICMP_ERROR.exec(out);
          resolve({ alive: false, reason: icmp ? `ICMP ${icmp[2]} from ${icmp[1]} for ${address}` : noReplyReason(address, timeoutMs) });
        } else {
          const message = err.trim().split('\n')[0] ?? '';
          resolve({ alive: false, reason: `ping failed for ${address}${message ? `: ${message}` : ` (exit ${code ?? 'by signal'})`}` });
        }
      });
    });
  }
}
