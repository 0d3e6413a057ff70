import { afterEach, describe, expect, it, vi } from 'vitest';
import { MEMORY_TRIM_INTERVAL_MS, startMemoryTrim } from './memory-trim.js';

describe('startMemoryTrim', () => {
  afterEach(() => vi.useRealTimers());

  it('gives freed memory back every 30 s until stopped, and stopping twice is harmless', () => {
    vi.useFakeTimers();
    const trim = vi.fn(() => true);
    const stop = startMemoryTrim(trim);
    vi.advanceTimersByTime(MEMORY_TRIM_INTERVAL_MS - 1);
    expect(trim).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(trim).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(MEMORY_TRIM_INTERVAL_MS * 3);
    expect(trim).toHaveBeenCalledTimes(4);
    stop();
    stop();
    vi.advanceTimersByTime(MEMORY_TRIM_INTERVAL_MS * 3);
    expect(trim).toHaveBeenCalledTimes(4);
  });

  it('does nothing without the native addon', () => {
    vi.useFakeTimers();
    const stop = startMemoryTrim(null);
    expect(vi.getTimerCount()).toBe(0);
    stop();
  });
});
