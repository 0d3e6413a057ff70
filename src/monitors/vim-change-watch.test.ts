import { describe, expect, it } from 'vitest';
import { VimChangeWatch } from './vim-change-watch.js';

/** A watch over a counter the test moves, with the number of counter reads and row counts it caused. */
function watched(): { watch: VimChangeWatch; move(): void; counterReads(): number } {
  let counter = 0;
  let reads = 0;
  const watch = new VimChangeWatch(async () => {
    reads += 1;
    return counter;
  });
  return { watch, move: () => (counter += 1), counterReads: () => reads };
}

/** One sweep as the manager does it: a full read when due, acknowledged when it succeeded. */
async function sweep(watch: VimChangeWatch, safetyNet = 10): Promise<boolean> {
  const due = await watch.fullReadDue(safetyNet);
  if (due) watch.followed(due);
  return due !== undefined;
}

describe('the VIM change watch', () => {
  it('asks for a full read on the first sweep, then only when the counter moved', async () => {
    const { watch, move, counterReads } = watched();
    expect(await sweep(watch)).toBe(true);
    expect(await sweep(watch)).toBe(false);
    expect(await sweep(watch)).toBe(false);
    move();
    expect(await sweep(watch)).toBe(true);
    expect(await sweep(watch)).toBe(false);
    expect(counterReads()).toBe(5);
  });

  it('asks for a full read every 10th sweep even when the counter stood still', async () => {
    const { watch } = watched();
    const full: number[] = [];
    for (let n = 1; n <= 25; n++) if (await sweep(watch)) full.push(n);
    expect(full).toEqual([1, 11, 21]);
  });

  it('asks again after a full read that failed (was not acknowledged)', async () => {
    const { watch, move } = watched();
    await sweep(watch);
    move();
    expect(await watch.fullReadDue(10)).toBeDefined(); // the read fails: followed() is not called
    expect(await sweep(watch)).toBe(true);
    expect(await sweep(watch)).toBe(false);
  });

  it('treats a missing counter row as a change', async () => {
    const watch = new VimChangeWatch(async () => undefined);
    expect(await sweep(watch)).toBe(true);
    expect(await sweep(watch)).toBe(true);
  });

  it('keeps the monitor row count until the next full read or a change in live workers', async () => {
    const { watch, move } = watched();
    let rows = 30;
    let counts = 0;
    const count = async () => {
      counts += 1;
      return rows;
    };
    await sweep(watch);
    expect(await watch.monitorRows(3, count)).toBe(30);
    await sweep(watch);
    expect(await watch.monitorRows(3, count)).toBe(30);
    expect(counts).toBe(1);
    // A worker died: counted again.
    expect(await watch.monitorRows(2, count)).toBe(30);
    expect(counts).toBe(2);
    // A VIM was created: the full read it causes brings a new count.
    rows = 31;
    move();
    await sweep(watch);
    expect(await watch.monitorRows(2, count)).toBe(31);
    expect(counts).toBe(3);
  });
});
