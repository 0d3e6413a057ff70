import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { LineSplitter, parseFpingLine } from './fping-output.js';
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
  round: Round;
  /** The listener of this waiter's signal in its round. */
  watch: SignalWatch | undefined;
  resolve: (reply: PingReply) => void;
  settled: boolean;
}

/**
 * The callers of one round, from the first ping() of its window until its
 * fping has exited. A thousand checks a second go through here, so a round
 * keeps its callers in as few objects as it can: one Map entry per address
 * (the waiter itself, an array only when callers share the address) and one
 * abort listener per distinct signal, not per caller.
 */
class Round {
  /** Waiters by address: one waiter, or several that asked for the same address. */
  readonly byAddress = new Map<string, Waiter | Waiter[]>();
  /** One abort listener per distinct signal of the round's waiters: removed once they all have their answer, or when the round ends. */
  readonly bySignal = new Map<AbortSignal, SignalWatch>();
  /** Waiters not answered yet: at 0, fping's further output concerns nobody. */
  unsettled = 0;
  /** A caller gave up (its signal aborted): once nobody waits any more, fping is stopped. */
  abandoned = false;
  child: ChildProcess | undefined;
  ended = false;
  /** 'ICMP Host Unreachable from …' seen for an address before its summary line. */
  icmpErrors: Map<string, string> | undefined;
  readonly otherOutput: string[] = [];

  add(waiter: Waiter, signal: AbortSignal): void {
    const same = this.byAddress.get(waiter.address);
    if (same === undefined) this.byAddress.set(waiter.address, waiter);
    else if (Array.isArray(same)) same.push(waiter);
    else this.byAddress.set(waiter.address, [same, waiter]);
    this.unsettled += 1;
    let watch = this.bySignal.get(signal);
    if (watch) watch.add(waiter);
    else {
      watch = new SignalWatch(this, signal, waiter);
      this.bySignal.set(signal, watch);
      signal.addEventListener('abort', watch, ONCE);
    }
    waiter.watch = watch;
  }

  /** Stops listening to the signals still watched: the round has ended (or never needs to start). */
  unwatchSignals(): void {
    for (const watch of this.bySignal.values()) watch.detach();
  }

  /** A round whose callers all gave up has no one to answer: stop its fping. */
  stopIfAbandoned(): void {
    if (this.unsettled === 0 && this.abandoned && !this.ended) this.child?.kill('SIGKILL');
  }
}

const ONCE = { once: true };

/**
 * The abort listener of one signal in one round (an EventListener object: no
 * closure per caller). It is removed as soon as none of its waiters waits any
 * more, and at the latest when the round ends.
 */
class SignalWatch {
  private more: Waiter[] | undefined;
  /** Waiters with this signal not answered yet. */
  waiting = 1;
  private detached = false;

  constructor(
    private readonly round: Round,
    private readonly signal: AbortSignal,
    private readonly first: Waiter,
  ) {}

  add(waiter: Waiter): void {
    (this.more ??= []).push(waiter);
    this.waiting += 1;
  }

  detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.round.bySignal.delete(this.signal);
    this.signal.removeEventListener('abort', this);
  }

  handleEvent(): void {
    // Registered with `once`: the signal has dropped this listener already.
    this.detached = true;
    const round = this.round;
    round.bySignal.delete(this.signal);
    round.abandoned = true;
    settle(this.first, ABORTED_REPLY);
    if (this.more) for (const waiter of this.more) settle(waiter, ABORTED_REPLY);
    round.stopIfAbandoned();
  }
}

function settle(waiter: Waiter, reply: PingReply): void {
  if (waiter.settled) return;
  waiter.settled = true;
  const round = waiter.round;
  round.unsettled -= 1;
  const watch = waiter.watch;
  if (watch !== undefined && (watch.waiting -= 1) === 0) watch.detach();
  waiter.resolve(reply);
  if (round.unsettled === 0 && round.abandoned) round.stopIfAbandoned();
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
  /** The round whose window is open: its fping has not started yet. */
  private pending: Round | undefined;
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
    let round = this.pending;
    if (round === undefined) {
      round = new Round();
      this.pending = round;
      this.timer = setTimeout(() => this.flush(), this.windowMs);
    }
    const waiter: Waiter = { address, timeoutMs, round, watch: undefined, resolve: noResolve, settled: false };
    const reply = new Promise<PingReply>((resolve) => {
      waiter.resolve = resolve;
    });
    round.add(waiter, signal);
    return reply;
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
    const pending = this.pending;
    this.pending = undefined;
    if (pending) {
      pending.unwatchSignals();
      forEachWaiter(pending, (waiter) => settle(waiter, { alive: false, reason: 'ICMP pinger is closed' }));
    }
    const exits = [...this.running].map((round) => this.stop(round));
    await Promise.all(exits);
  }

  private flush(): void {
    this.timer = undefined;
    const round = this.pending;
    this.pending = undefined;
    if (round === undefined) return;
    // Callers that gave up while the window was open have their answer already.
    let targets = '';
    let timeoutMs = 1;
    for (const [address, same] of round.byAddress) {
      let waiting = false;
      if (Array.isArray(same)) {
        for (const waiter of same) {
          if (waiter.settled) continue;
          waiting = true;
          timeoutMs = Math.max(timeoutMs, Math.round(waiter.timeoutMs));
        }
      } else if (!same.settled) {
        waiting = true;
        timeoutMs = Math.max(timeoutMs, Math.round(same.timeoutMs));
      }
      if (waiting) targets += `${address}\n`;
      else round.byAddress.delete(address);
    }
    if (round.unsettled === 0) {
      round.ended = true;
      round.unwatchSignals();
      return;
    }
    // One timeout for the round (timeoutMs above): the longest asked for.
    // Callers that asked for less judge the round-trip time against their own limit.
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
    child.stdin?.end(targets);

    // The round ends when fping has exited and both of its outputs are read.
    let openStreams = 0;
    let exit: { code: number | null; error?: string } | undefined;
    const finish = () => {
      if (openStreams > 0 || exit === undefined || round.ended) return;
      round.ended = true;
      this.running.delete(round);
      round.unwatchSignals();
      this.answerRest(round, exit);
    };
    const streamClosed = () => {
      openStreams -= 1;
      finish();
    };
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      openStreams += 1;
      this.readLines(round, stream, streamClosed);
    }
    child.on('error', (error: NodeJS.ErrnoException) => {
      exit = { code: null, error: `fping could not be started (${error.code ?? error.message})` };
      openStreams = 0; // no output will come
      finish();
    });
    child.on('exit', (code) => {
      exit ??= { code };
      finish();
    });
  }

  /**
   * Feeds a stream of fping's output to onLine, a line at a time (see
   * LineSplitter). Once every caller of the round has its answer the rest of
   * the output is dropped unread: it concerns nobody.
   */
  private readLines(round: Round, stream: Readable, onClose: () => void): void {
    const lines = new LineSplitter((line) => this.onLine(round, line));
    stream.on('data', (chunk: Buffer) => {
      if (round.unsettled === 0) lines.discard();
      else lines.push(chunk);
    });
    stream.on('close', () => {
      if (round.unsettled === 0) lines.discard();
      else lines.end();
      onClose();
    });
  }

  private onLine(round: Round, line: string): void {
    if (round.unsettled === 0) return; // nobody left to answer
    const parsed = parseFpingLine(line);
    if (!parsed) return;
    if (parsed.kind === 'other') {
      if (round.otherOutput.length < 5) round.otherOutput.push(parsed.text);
      return;
    }
    if (parsed.kind === 'lost') return; // the summary on stderr follows, after any ICMP error for the address
    if (parsed.kind === 'icmp-error') {
      (round.icmpErrors ??= new Map()).set(parsed.address, parsed.message);
      return;
    }
    const same = round.byAddress.get(parsed.address);
    if (same === undefined) return;
    const icmp = parsed.rttMs === undefined ? round.icmpErrors?.get(parsed.address) : undefined;
    if (Array.isArray(same)) for (const waiter of same) answer(waiter, parsed.rttMs, icmp);
    else answer(same, parsed.rttMs, icmp);
    // A reply line on stdout is followed by a summary on stderr; waiters are settled already.
  }

  /** Callers that fping said nothing about when it exited (it failed, or was killed). */
  private answerRest(round: Round, exit: { code: number | null; error?: string }): void {
    if (round.unsettled === 0) return;
    const detail = exit.error ?? `fping exited with ${exit.code === null ? 'a signal' : `code ${exit.code}`}${round.otherOutput.length > 0 ? `: ${round.otherOutput[0]}` : ''}`;
    forEachWaiter(round, (waiter) => settle(waiter, { alive: false, reason: `${detail} (no result for ${waiter.address})` }));
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

function noResolve(): void {}

/** Answers a waiter from a reply or summary line: alive in time, too slow, or no reply (with the ICMP error seen, if any). */
function answer(waiter: Waiter, rttMs: number | undefined, icmp: string | undefined): void {
  if (waiter.settled) return;
  if (rttMs === undefined) {
    settle(waiter, { alive: false, reason: icmp ? `${icmp} for ${waiter.address}` : noReplyReason(waiter.address, waiter.timeoutMs) });
  } else if (rttMs <= waiter.timeoutMs) {
    settle(waiter, { alive: true, rttMs });
  } else {
    settle(waiter, { alive: false, reason: `${noReplyReason(waiter.address, waiter.timeoutMs)} (the reply took ${rttMs} ms)` });
  }
}

function forEachWaiter(round: Round, each: (waiter: Waiter) => void): void {
  for (const same of round.byAddress.values()) {
    if (Array.isArray(same)) for (const waiter of same) each(waiter);
    else each(same);
  }
}
