/**
 * The JavaScript side of the native probe engine: one NativeEngine per
 * process, behind promises. Every ping() and http() made while one macrotask
 * runs (a tick of the round scheduler starts all its rounds in one) is
 * collected and handed to the engine in one native call at setImmediate;
 * results come back in batches and are dispatched by job id from flat tables,
 * with no closure or listener per check.
 *
 * Deadlines: a check's signal from src/time/deadline.ts says when it aborts
 * (remainingMs), so the engine gets min(the check's own timeout, what is left)
 * and answers by then by itself: no abort listener at all. Any other signal
 * (AbortSignal.timeout of a one-off check) gets ONE listener per distinct
 * signal, never one per check, and a cap on the engine's own timeout.
 */
import { performance } from 'node:perf_hooks';
import { remainingMs } from '../../time/deadline.js';
import type { NativeBinding, NativeEngine, NativeResults, EngineOptions, HttpTargetOptions, IcmpSupport, TlsContextOptions } from './native-binding.js';

/** What became of one job. */
export interface EngineReply {
  /** ICMP: 1 for an echo reply. HTTP: the status code. 0 when it failed. */
  outcome: number;
  latencyUs: number;
  /** A Node.js-style error code when outcome is 0 (see NativeResults.errors), or one of the wrapper's below. */
  error: string | undefined;
  /** The body asked for (maxBody > 0), as UTF-8. */
  body: string | undefined;
  /**
   * The caller's deadline ended the job, not its own timeout: the engine's
   * time-out came at what remainingMs() allowed, or the signal aborted.
   */
  deadline: boolean;
}

/** The caller's signal aborted before the engine answered (signals without remainingMs only). */
export const ABORTED = 'ERR_PROBE_ENGINE_ABORTED';
/** The engine was closed with the job in flight, or before it was asked. */
export const CLOSED = 'ERR_PROBE_ENGINE_CLOSED';
/** The engine refused a call without a code of its own. */
export const ENGINE_ERROR = 'ERR_PROBE_ENGINE';

const ABORTED_REPLY: EngineReply = Object.freeze({ outcome: 0, latencyUs: 0, error: ABORTED, body: undefined, deadline: true });
const CLOSED_REPLY: EngineReply = Object.freeze({ outcome: 0, latencyUs: 0, error: CLOSED, body: undefined, deadline: false });
const PASSED_REPLY: EngineReply = Object.freeze({ outcome: 0, latencyUs: 0, error: 'ETIMEDOUT', body: undefined, deadline: true });

export interface ProbeEngineOptions extends EngineOptions {
  /** The engine's time-out for a job whose signal does not say when it aborts and whose caller gave none (default 60 s). */
  fallbackTimeoutMs?: number;
}

export interface ProbeEngineStats {
  /** ping() and http() calls. */
  requests: number;
  /** Native ping() / http() calls: one per flush and distinct time-out. */
  batches: number;
  /** Jobs handed to the engine. */
  submitted: number;
  /** Jobs the engine has not answered yet. */
  inFlight: number;
  /** Abort listeners on signals right now (only signals without remainingMs get one, one each). */
  listeners: number;
}

/** An empty submission: wakes the engine for what is queued. */
const NO_IDS = new Uint32Array(0);
const KIND_PING = 1;
const KIND_HTTP = 2;

/** One queue of jobs of one kind waiting for the flush. */
class Pending {
  ids = new Uint32Array(64);
  /** The job's own time-out, counted from the flush. */
  timeouts = new Float64Array(64);
  /** When the job's signal aborts, on performance.now()'s clock (Infinity when it does not say). */
  deadlines = new Float64Array(64);
  addresses: string[] = [];
  targets = new Uint32Array(64);
  count = 0;

  push(id: number, timeoutMs: number, deadlineAt: number): void {
    if (this.count === this.ids.length) this.grow();
    this.ids[this.count] = id;
    this.timeouts[this.count] = timeoutMs;
    this.deadlines[this.count] = deadlineAt;
    this.count += 1;
  }

  private grow(): void {
    const size = this.ids.length * 2;
    const ids = new Uint32Array(size);
    ids.set(this.ids);
    this.ids = ids;
    const timeouts = new Float64Array(size);
    timeouts.set(this.timeouts);
    this.timeouts = timeouts;
    const deadlines = new Float64Array(size);
    deadlines.set(this.deadlines);
    this.deadlines = deadlines;
    const targets = new Uint32Array(size);
    targets.set(this.targets);
    this.targets = targets;
  }

  clear(): void {
    this.count = 0;
    this.addresses = [];
  }
}

/** The abort listener of one signal without remainingMs: answers its jobs when it aborts (an EventListener object, no closure per job). */
class SignalWatch {
  /** Jobs on this signal, possibly answered since (checked against the slot's watch on abort). */
  readonly ids: number[] = [];
  waiting = 0;

  constructor(
    private readonly engine: ProbeEngine,
    readonly signal: AbortSignal,
  ) {}

  handleEvent(): void {
    this.engine.abandon(this);
  }
}

let captured: ((reply: EngineReply) => void) | undefined;
/** The one executor of every job's promise: takes its resolve function without a closure per job. */
function capture(resolve: (reply: EngineReply) => void): void {
  captured = resolve;
}

/**
 * The engine of a process. Job ids come from a free list and go back to it
 * only when the engine has answered them, so a late answer for a job whose
 * caller gave up can never reach the next job with the same id.
 */
export class ProbeEngine {
  readonly icmp: IcmpSupport;
  readonly version: string;
  private readonly native: NativeEngine;
  private readonly fallbackTimeoutMs: number;

  // Job slots, indexed by id.
  private resolves: Array<((reply: EngineReply) => void) | undefined> = [];
  private watches: Array<SignalWatch | undefined> = [];
  /** 1 when the engine's time-out was the caller's deadline rather than its own. */
  private clipped = new Uint8Array(256);
  private free = new Uint32Array(256);
  private freeCount = 0;
  private nextId = 0;

  private readonly pings = new Pending();
  private readonly https = new Pending();
  private flushScheduled = false;
  private readonly bySignal = new Map<AbortSignal, SignalWatch>();
  private closed = false;
  private readonly counters = { requests: 0, batches: 0, submitted: 0, inFlight: 0 };

  constructor(binding: NativeBinding, options: ProbeEngineOptions = {}) {
    const { fallbackTimeoutMs, ...engineOptions } = options;
    this.fallbackTimeoutMs = fallbackTimeoutMs ?? 60_000;
    this.native = new binding.Engine((results) => this.onResults(results), engineOptions);
    this.icmp = this.native.icmp;
    this.version = binding.version;
  }

  /** One ICMP echo to an IPv4 or IPv6 literal, answered within `timeoutMs` or by the signal's deadline. */
  ping(address: string, timeoutMs: number, signal: AbortSignal): Promise<EngineReply> {
    const id = this.enqueue(this.pings, timeoutMs, signal);
    if (id < 0) return this.early(id);
    this.pings.addresses.push(address);
    return this.promiseOf(id);
  }

  /** One exchange with HTTP target `target` (defineHttpTarget), answered by the signal's deadline (or `timeoutMs` if it comes first). */
  http(target: number, signal: AbortSignal, timeoutMs = Number.POSITIVE_INFINITY): Promise<EngineReply> {
    const id = this.enqueue(this.https, timeoutMs, signal);
    if (id < 0) return this.early(id);
    this.https.targets[this.https.count - 1] = target;
    return this.promiseOf(id);
  }

  defineHttpTarget(key: number, options: HttpTargetOptions): void {
    if (!this.closed) this.native.defineHttpTarget(key, options);
  }

  dropHttpTarget(key: number): void {
    if (!this.closed) this.native.dropHttpTarget(key);
  }

  tlsContext(options: TlsContextOptions): number {
    return this.native.tlsContext(options);
  }

  dropTlsContext(id: number): void {
    if (!this.closed) this.native.dropTlsContext(id);
  }

  stats(): ProbeEngineStats {
    return { ...this.counters, listeners: this.bySignal.size };
  }

  /** Answers every job still pending or in flight with CLOSED and stops the engine's thread. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pings.clear();
    this.https.clear();
    for (const watch of this.bySignal.values()) watch.signal.removeEventListener('abort', watch);
    this.bySignal.clear();
    const resolves = this.resolves;
    this.resolves = [];
    this.watches = [];
    this.counters.inFlight = 0;
    for (const resolve of resolves) resolve?.(CLOSED_REPLY);
    this.native.close();
  }

  /** A signal without remainingMs aborted: its jobs are answered now; their ids stay taken until the engine answers them. */
  abandon(watch: SignalWatch): void {
    this.bySignal.delete(watch.signal);
    for (const id of watch.ids) {
      if (this.watches[id] !== watch) continue;
      this.watches[id] = undefined;
      const resolve = this.resolves[id];
      this.resolves[id] = undefined;
      resolve?.(ABORTED_REPLY);
    }
  }

  /**
   * Takes an id and queues the job; a negative number when the job is
   * answered at once (-1: closed, -2: the deadline has passed).
   */
  private enqueue(queue: Pending, timeoutMs: number, signal: AbortSignal): number {
    this.counters.requests += 1;
    if (this.closed) return -1;
    if (signal.aborted) return -2;
    const left = remainingMs(signal);
    let deadlineAt = Number.POSITIVE_INFINITY;
    let ms = timeoutMs;
    let watch: SignalWatch | undefined;
    if (left !== undefined) {
      if (left < 1) return -2;
      deadlineAt = performance.now() + left;
    } else {
      if (ms > this.fallbackTimeoutMs) ms = this.fallbackTimeoutMs;
      watch = this.watch(signal);
    }
    const id = this.takeId();
    if (watch !== undefined) {
      this.watches[id] = watch;
      watch.ids.push(id);
      watch.waiting += 1;
    }
    queue.push(id, ms, deadlineAt);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
    return id;
  }

  private early(code: number): Promise<EngineReply> {
    return Promise.resolve(code === -1 ? CLOSED_REPLY : PASSED_REPLY);
  }

  private promiseOf(id: number): Promise<EngineReply> {
    const promise = new Promise<EngineReply>(capture);
    this.resolves[id] = captured;
    captured = undefined;
    this.counters.inFlight += 1;
    return promise;
  }

  private watch(signal: AbortSignal): SignalWatch {
    let watch = this.bySignal.get(signal);
    if (watch === undefined) {
      watch = new SignalWatch(this, signal);
      this.bySignal.set(signal, watch);
      signal.addEventListener('abort', watch, ONCE);
    }
    return watch;
  }

  private unwatch(id: number): void {
    const watch = this.watches[id];
    if (watch === undefined) return;
    this.watches[id] = undefined;
    if ((watch.waiting -= 1) > 0) return;
    this.bySignal.delete(watch.signal);
    watch.signal.removeEventListener('abort', watch);
  }

  private takeId(): number {
    if (this.freeCount > 0) {
      this.freeCount -= 1;
      return this.free[this.freeCount] as number;
    }
    const id = this.nextId;
    this.nextId += 1;
    if (id >= this.clipped.length) this.growSlots();
    return id;
  }

  private releaseId(id: number): void {
    if (this.freeCount === this.free.length) {
      const free = new Uint32Array(this.free.length * 2);
      free.set(this.free);
      this.free = free;
    }
    this.free[this.freeCount] = id;
    this.freeCount += 1;
  }

  private growSlots(): void {
    const clipped = new Uint8Array(this.clipped.length * 2);
    clipped.set(this.clipped);
    this.clipped = clipped;
  }

  /**
   * Hands every queued job to the engine: one native call per kind and
   * distinct time-out. A job's time-out counts from here: its own, or what is
   * left of its signal's, whichever ends first. Checks of one tick share
   * both (the tick's signal, the probe's timeout), so a tick is one call.
   */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.closed) return;
    const now = performance.now();
    // The engine is woken once, by the last call: it takes the tick's pings and exchanges together and answers them in one delivery.
    if (this.pings.count > 0) this.submit(this.pings, now, KIND_PING, this.https.count > 0);
    if (this.https.count > 0) this.submit(this.https, now, KIND_HTTP, false);
  };

  /** `more`: another submit follows in this flush (the engine is woken by the last one). */
  private submit(queue: Pending, now: number, kind: number, more: boolean): void {
    const { count, ids, timeouts, deadlines } = queue;
    const times = new Uint32Array(count);
    let same = true;
    for (let i = 0; i < count; i += 1) {
      const own = timeouts[i] as number;
      const left = Math.floor((deadlines[i] as number) - now);
      const id = ids[i] as number;
      let ms: number;
      if (left < own) {
        ms = left;
        this.clipped[id] = 1;
      } else {
        ms = Math.floor(own);
        this.clipped[id] = 0;
      }
      times[i] = ms < 1 ? 1 : ms;
      if (times[i] !== times[0]) same = false;
    }
    if (same) {
      this.send(kind, ids.slice(0, count), queue.addresses, queue.targets.slice(0, count), times[0] as number, more);
    } else {
      const groups = new Map<number, number[]>();
      for (let i = 0; i < count; i += 1) {
        const members = groups.get(times[i] as number);
        if (members) members.push(i);
        else groups.set(times[i] as number, [i]);
      }
      let left = groups.size;
      for (const [ms, members] of groups) {
        left -= 1;
        const groupIds = new Uint32Array(members.length);
        const groupTargets = new Uint32Array(members.length);
        const groupAddresses: string[] = [];
        for (let j = 0; j < members.length; j += 1) {
          const i = members[j] as number;
          groupIds[j] = ids[i] as number;
          groupTargets[j] = queue.targets[i] as number;
          if (kind === KIND_PING) groupAddresses.push(queue.addresses[i] as string);
        }
        this.send(kind, groupIds, groupAddresses, groupTargets, ms, more || left > 0);
      }
    }
    queue.clear();
  }

  private send(kind: number, ids: Uint32Array, addresses: string[], targets: Uint32Array, timeoutMs: number, more: boolean): void {
    this.counters.batches += 1;
    this.counters.submitted += ids.length;
    try {
      if (kind === KIND_PING) this.native.ping(ids, addresses, timeoutMs, more);
      else this.native.http(ids, targets, timeoutMs, more);
    } catch (error) {
      // Jobs queued before this call with `more` wait for a wake-up that this call was to give: given here.
      if (!more) this.wake();
      // The engine refused the call (a bad argument: a bug, not a target's fault). Its jobs fail with the code
      // instead of waiting forever, and this runs in setImmediate: a throw here would end the process.
      const code = (error as { code?: unknown }).code;
      this.fail(ids, typeof code === 'string' && code !== '' ? code : ENGINE_ERROR);
    }
  }

  private wake(): void {
    try {
      this.native.ping(NO_IDS, [], 1, false);
    } catch {
      // A closed engine: nothing queued is answered any more, and close() has failed those jobs.
    }
  }

  private fail(ids: Uint32Array, code: string): void {
    const reply: EngineReply = { outcome: 0, latencyUs: 0, error: code, body: undefined, deadline: false };
    for (const id of ids) {
      const resolve = this.resolves[id];
      this.resolves[id] = undefined;
      this.releaseId(id);
      this.counters.inFlight -= 1;
      if (resolve === undefined) continue;
      this.unwatch(id);
      resolve(reply);
    }
  }

  private onResults(results: NativeResults): void {
    if (this.closed) return;
    const { count, ids, outcome, latencyUs, errors, bodyLength } = results;
    for (let i = 0; i < count; i += 1) {
      const id = ids[i] as number;
      const resolve = this.resolves[id];
      this.resolves[id] = undefined;
      this.releaseId(id);
      this.counters.inFlight -= 1;
      // Abandoned: its caller has had its answer; the id is free again all the same.
      if (resolve === undefined) continue;
      this.unwatch(id);
      const error = errors[i];
      const length = bodyLength[i] as number;
      const start = length > 0 ? (results.bodyStart[i] as number) : 0;
      resolve({
        outcome: outcome[i] as number,
        latencyUs: latencyUs[i] as number,
        error,
        body: length > 0 ? results.bodies.toString('utf8', start, start + length) : undefined,
        deadline: error === 'ETIMEDOUT' && this.clipped[id] === 1,
      });
    }
  }
}

const ONCE = { once: true };
