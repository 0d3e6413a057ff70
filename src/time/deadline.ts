import { setMaxListeners } from 'node:events';

export interface Deadline {
  signal: AbortSignal;
  /** Clears the timer; call when the work is done. */
  dispose(): void;
}

/**
 * An AbortSignal that aborts after `ms`. Built from a controller and a timer
 * this module holds, not from `AbortSignal.timeout()` composed with
 * `AbortSignal.any()`: on Node 20 such a composed timeout signal can be
 * garbage-collected before it fires, and work waiting on it then never gives
 * up (seen in the benchmark as monitors stuck past their deadline). The timer
 * does not keep the process alive on its own.
 */
export function deadline(ms: number): Deadline {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`deadline of ${ms} ms passed`, 'TimeoutError')), ms);
  timer.unref();
  // A tick's signal is shared by every round of the tick: each probe in flight may listen to it.
  setMaxListeners(0, controller.signal);
  abortsAt.set(controller.signal, performance.now() + ms);
  return { signal: controller.signal, dispose: () => clearTimeout(timer) };
}

/** When each deadline signal aborts, on performance.now()'s clock. */
const abortsAt = new WeakMap<AbortSignal, number>();

/**
 * Milliseconds until `signal` aborts, when it is a deadline() signal; undefined
 * for any other signal. Lets work that has its own timer (the native probe
 * engine) take the deadline as a number instead of an abort listener per job.
 */
export function remainingMs(signal: AbortSignal): number | undefined {
  const at = abortsAt.get(signal);
  return at === undefined ? undefined : Math.max(0, at - performance.now());
}

/** Returned by `beforeDeadline` when the signal aborted first. */
export const DEADLINE_PASSED = Symbol('deadline passed');

/**
 * Settles with `work`, or with DEADLINE_PASSED as soon as `signal` aborts.
 * For work that cannot be cancelled itself (a DNS lookup): the probe must
 * answer by its deadline even if the work goes on a little longer.
 */
export function beforeDeadline<T>(work: Promise<T>, signal: AbortSignal): Promise<T | typeof DEADLINE_PASSED> {
  if (signal.aborted) {
    work.catch(() => undefined); // it may still reject later; nobody waits for it
    return Promise.resolve(DEADLINE_PASSED);
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(DEADLINE_PASSED);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
