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
