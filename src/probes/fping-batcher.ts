import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseFpingLine } from './fping-output.js';
import { ABORTED_REPLY, noReplyReason, type Pinger, type PingerStats, type PingReply } from './pinger.js';

export interface FpingBatcherOptions {
  /** Path of the fping executable (default: `fping` from PATH). */
  fpingPath?: string;
  /** How long the first ping() of a round waits for others to join it (default 20 ms). */
  windowMs?: number;
  /** fping -i: gap between echo requests to consecutive targets (default 1 ms, the least fping allows a non-root user). */
  intervalMs?: number;
}

interface Waiter {
  address: string;
  timeoutMs: number;
  settle(reply: PingReply): void;
  settled: boolean;
}

interface Round {
  byAddress: Map<string, Waiter[]>;
  child?: ChildProcess;
  /** 'ICMP Host Unreachable from …' seen for an address before its summary line. */
  icmpErrors: Map<string, string>;
  otherOutput: string[];
}

/**
 * Collects the ping() calls made within a short window and sends them all
 * through ONE fping process: the cost of a round is one fork however many
 * VIMs are due, and an address shared by several VIMs is pinged once. Each
 * caller is answered as soon as its address replies (fping prints replies as
 * they come), and at the latest when fping exits or the caller's signal aborts.
 */
export class FpingBatcher implements Pinger {
  private readonly fpingPath: string;
  private readonly windowMs: number;
  private readonly intervalMs: number;
  private pending: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly running = new Set<Round>();
  private closed = false;
  private readonly counters = { requests: 0, batches: 0, addressesPinged: 0, processesSpawned: 0 };

  constructor(options: FpingBatcherOptions = {}) {
    this.fpingPath = options.fpingPath ?? 'fping';
    this.windowMs = options.windowMs ?? 20;
    this.intervalMs = options.intervalMs ?? 1;
  }

  ping(address: string, timeoutMs: number, signal: AbortSignal): Promise<PingReply> {
    this.counters.requests += 1;
    if (this.closed) return Promise.resolve({ alive: false, reason: 'ICMP pinger is closed' });
    if (signal.aborted) return Promise.resolve(ABORTED_REPLY);
    return new Promise((resolve) => {
      const onAbort = () => {
        waiter.settle(ABORTED_REPLY);
        this.killIdleRounds();
      };
      const waiter: Waiter = {
        address,
        timeoutMs,
        settled: false,
        settle: (reply) => {
          if (waiter.settled) return;
          waiter.settled = true;
          signal.removeEventListener('abort', onAbort);
          resolve(reply);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.push(waiter);
      this.timer ??= setTimeout(() => this.flush(), this.windowMs);
    });
  }

  stats(): PingerStats {
    return { tool: 'fping', ...this.counters };
  }

  /** fping processes still running (for tests: an abandoned round must not linger). */
  activeProcesses(): number {
    return this.running.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const waiter of this.pending.splice(0)) waiter.settle({ alive: false, reason: 'ICMP pinger is closed' });
    const exits = [...this.running].map((round) => this.stop(round));
    await Promise.all(exits);
  }

  private flush(): void {
    this.timer = undefined;
    const waiters = this.pending.splice(0).filter((w) => !w.settled);
    if (waiters.length === 0) return;
    const round: Round = { byAddress: new Map(), icmpErrors: new Map(), otherOutput: [] };
    for (const waiter of waiters) {
      const list = round.byAddress.get(waiter.address);
      if (list) list.push(waiter);
      else round.byAddress.set(waiter.address, [waiter]);
    }
    // One timeout for the round: the longest asked for. Callers that asked
    // for less judge the round-trip time against their own limit.
    const timeoutMs = Math.max(1, ...waiters.map((w) => Math.round(w.timeoutMs)));
    this.counters.batches += 1;
    this.counters.addressesPinged += round.byAddress.size;
    this.counters.processesSpawned += 1;

    // -C 1: one echo per target, results per target; -r 0: no retries (the
    // monitor's thresholds handle loss); -B1: no backoff; -f -: targets on
    // stdin, so thousands of them never hit the argument-length limit.
    const child = spawn(this.fpingPath, ['-C', '1', '-t', String(timeoutMs), '-r', '0', '-B', '1', '-i', String(this.intervalMs), '-f', '-'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    round.child = child;
    this.running.add(round);
    child.stdin?.on('error', () => undefined); // EPIPE if fping exits before reading
    child.stdin?.end([...round.byAddress.keys()].join('\n') + '\n');

    let stderrClosed = false;
    let exit: { code: number | null; error?: string } | undefined;
    const finish = () => {
      if (!stderrClosed || exit === undefined) return;
      this.running.delete(round);
      this.answerRest(round, exit);
    };
    if (child.stdout) createInterface({ input: child.stdout }).on('line', (line) => this.onLine(round, line));
    if (child.stderr) {
      createInterface({ input: child.stderr })
        .on('line', (line) => this.onLine(round, line))
        .on('close', () => {
          stderrClosed = true;
          finish();
        });
    } else {
      stderrClosed = true;
    }
    child.on('error', (error: NodeJS.ErrnoException) => {
      exit = { code: null, error: `fping could not be started (${error.code ?? error.message})` };
      stderrClosed = true; // no output will come
      finish();
    });
    child.on('exit', (code) => {
      exit ??= { code };
      finish();
    });
  }

  private onLine(round: Round, line: string): void {
    const parsed = parseFpingLine(line);
    if (!parsed) return;
    if (parsed.kind === 'other') {
      if (round.otherOutput.length < 5) round.otherOutput.push(parsed.text);
      return;
    }
    if (parsed.kind === 'lost') return; // the summary on stderr follows, after any ICMP error for the address
    if (parsed.kind === 'icmp-error') {
      round.icmpErrors.set(parsed.address, parsed.message);
      return;
    }
    const waiters = round.byAddress.get(parsed.address);
    if (!waiters) return;
    if (parsed.rttMs === undefined) {
      const icmp = round.icmpErrors.get(parsed.address);
      for (const w of waiters) w.settle({ alive: false, reason: icmp ? `${icmp} for ${parsed.address}` : noReplyReason(parsed.address, w.timeoutMs) });
      return;
    }
    const rttMs = parsed.rttMs;
    for (const w of waiters) {
      if (rttMs <= w.timeoutMs) w.settle({ alive: true, rttMs });
      else w.settle({ alive: false, reason: `${noReplyReason(parsed.address, w.timeoutMs)} (the reply took ${rttMs} ms)` });
    }
    // A reply line on stdout is followed by a summary on stderr; waiters are settled already.
  }

  /** Callers that fping said nothing about when it exited (it failed, or was killed). */
  private answerRest(round: Round, exit: { code: number | null; error?: string }): void {
    const detail = exit.error ?? `fping exited with ${exit.code === null ? 'a signal' : `code ${exit.code}`}${round.otherOutput.length > 0 ? `: ${round.otherOutput[0]}` : ''}`;
    for (const [address, waiters] of round.byAddress) {
      for (const w of waiters) w.settle({ alive: false, reason: `${detail} (no result for ${address})` });
    }
  }

  /** A round whose callers all gave up (deadline passed) has no one to answer: stop its fping. */
  private killIdleRounds(): void {
    for (const round of this.running) {
      const waiting = [...round.byAddress.values()].some((list) => list.some((w) => !w.settled));
      if (!waiting) round.child?.kill('SIGKILL');
    }
  }

  private stop(round: Round): Promise<void> {
    const child = round.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }
}
