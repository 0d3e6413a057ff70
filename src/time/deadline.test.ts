import { describe, expect, it } from 'vitest';
import { deadline } from './deadline.js';

describe('a deadline signal', () => {
  it('aborts with a TimeoutError after its time', async () => {
    const { signal } = deadline(30);
    expect(signal.aborted).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as DOMException).name).toBe('TimeoutError');
  });

  it('aborts at once when its parent aborts, and not again after dispose', async () => {
    const parent = new AbortController();
    const child = deadline(10_000, parent.signal);
    parent.abort(new Error('stopped'));
    expect(child.signal.aborted).toBe(true);
    expect((child.signal.reason as Error).message).toBe('stopped');
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
