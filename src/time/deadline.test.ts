import { describe, expect, it } from 'vitest';
import { deadline, remainingMs } from './deadline.js';

describe('a deadline signal', () => {
  it('says how long until it aborts, and other signals do not', () => {
    const { signal, dispose } = deadline(3000);
    const left = remainingMs(signal);
    expect(left).toBeGreaterThan(2900);
    expect(left).toBeLessThanOrEqual(3000);
    expect(remainingMs(new AbortController().signal)).toBeUndefined();
    dispose();
  });

  it('takes an abort listener from every probe of a tick without a MaxListenersExceededWarning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const { signal, dispose } = deadline(1000);
    for (let i = 0; i < 50; i++) signal.addEventListener('abort', () => undefined, { once: true });
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    dispose();
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('aborts with a TimeoutError after its time', async () => {
    const { signal } = deadline(30);
    expect(signal.aborted).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as DOMException).name).toBe('TimeoutError');
  });

  it('does not abort after dispose', async () => {
    const later = deadline(20);
    later.dispose();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(later.signal.aborted).toBe(false);
  });

  it('still fires when nothing but the pending work refers to it (garbage collection)', async () => {
    const fired = await new Promise<boolean>((resolve) => {
      const { signal } = deadline(50);
      signal.addEventListener('abort', () => resolve(true), { once: true });
    });
    expect(fired).toBe(true);
  });
});
