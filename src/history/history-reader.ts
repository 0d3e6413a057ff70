import { InvalidInputError } from '../errors.js';
import type { HistoryRepository, SummedDays } from '../store/history-repository.js';
import type { Clock } from '../time/clock.js';
import type { VimRegistry } from '../vims/registry.js';
import type { RequestContext, VimRecord } from '../vims/model.js';
import { DAY_MS, dayOf, type HistoryDay } from './model.js';
import { bucketCount, buckets, indexDays, observedEnd, uptimeOf, windowFigures, type Bucket, type Figures, type HistoryStep, type ReadingContext } from './uptime.js';

export const UPTIME_WINDOWS = { '24h': DAY_MS, '7d': 7 * DAY_MS, '30d': 30 * DAY_MS, '90d': 90 * DAY_MS } as const;
export type UptimeWindow = keyof typeof UPTIME_WINDOWS;

/** More buckets than this in one answer is refused (about 91 days of hours). */
export const MAX_BUCKETS = 2200;
/** Without a step: hours up to this span, days beyond. */
const HOURLY_UP_TO_MS = 7 * DAY_MS;

export interface HistoryQuery {
  fromMs?: number;
  toMs?: number;
  step?: HistoryStep;
}

export interface VimHistory {
  vim: VimRecord;
  fromMs: number;
  /** The observed end: the requested end, but never past now nor into the not-yet-written tail. */
  toMs: number;
  step: HistoryStep;
  buckets: Bucket[];
}

export interface VimUptime {
  vim: VimRecord;
  window: UptimeWindow;
  fromMs: number;
  toMs: number;
  figures: Figures;
  uptime: number | null;
  excludeMaintenance: boolean;
}

export interface HistoryReaderDeps {
  registry: Pick<VimRegistry, 'get'>;
  history: Pick<HistoryRepository, 'read' | 'sums'>;
  clock: Clock;
  /** history.flush_interval in ms (the open tail is up to two of them). */
  flushIntervalMs: number;
}

/**
 * Status history and uptime as a caller may read them: the VIM is looked up
 * through the registry (a VIM the caller cannot see is not found), its stored
 * days read in one range query, the figures computed by history/uptime.ts.
 */
export class HistoryReader {
  constructor(private readonly deps: HistoryReaderDeps) {}

  async history(ctx: RequestContext, vimId: string, query: HistoryQuery): Promise<VimHistory> {
    const nowMs = this.nowMs();
    const toMs = query.toMs ?? nowMs;
    const fromMs = query.fromMs ?? toMs - DAY_MS;
    if (fromMs >= toMs) throw new InvalidInputError('from must be before to');
    const step = query.step ?? (toMs - fromMs <= HOURLY_UP_TO_MS ? 'hour' : 'day');
    const count = bucketCount(fromMs, toMs, step);
    if (count > MAX_BUCKETS) {
      throw new InvalidInputError(`from..to holds ${count} ${step} buckets; at most ${MAX_BUCKETS}: narrow the range or use step=day`);
    }
    const vim = await this.deps.registry.get(ctx, vimId);
    const readTo = Math.min(toMs, nowMs);
    // Hour buckets need every day's hours; day buckets only those of the edge days.
    const stored =
      step === 'hour'
        ? await this.deps.history.read([vim.id], dayOf(fromMs), Math.max(dayOf(fromMs), dayOf(readTo)))
        : ((await this.read([vim.id], fromMs, readTo, 'buckets')).get(vim.id) ?? []);
    const days = indexDays(stored);
    // Now again, once the store has answered: a flush that landed while it read (seconds, under load) wrote after the
    // first now, and the open hour, cut there, would be taken pro rata, short of what was stored.
    const context = this.context(vim, this.nowMs());
    const endMs = observedEnd(days, fromMs, query.toMs ?? context.nowMs, context);
    return { vim, fromMs, toMs: endMs, step, buckets: buckets(days, fromMs, endMs, step, context) };
  }

  async uptime(ctx: RequestContext, vimId: string, window: UptimeWindow, excludeMaintenance: boolean): Promise<VimUptime> {
    const vim = await this.deps.registry.get(ctx, vimId);
    const [one] = await this.uptimes([vim], window, excludeMaintenance);
    return one as VimUptime;
  }

  /**
   * The uptime of VIMs the caller already may see (a page of the VIM list),
   * with a few reads for all of them: the whole days inside the window summed
   * in SQL, the edge days read in detail. VIMs created inside the window (or
   * whose window ends before its summed days do) read their days instead.
   */
  async uptimes(vims: readonly VimRecord[], window: UptimeWindow, excludeMaintenance: boolean): Promise<VimUptime[]> {
    const nowMs = this.nowMs();
    const fromMs = nowMs - UPTIME_WINDOWS[window];
    const first = dayOf(fromMs);
    const last = Math.max(first, dayOf(nowMs));
    // The day before the last is read in detail too: the open tail may move the window's end into it.
    const middle = last - first > 2 ? { fromDay: first + 1, toDay: last - 2 } : undefined;
    const summable = middle ? vims.filter((vim) => epochOfTackerTimestamp(vim.createdAt) <= middle.fromDay * DAY_MS).map((vim) => vim.id) : [];
    const summed = new Set(summable);
    const edges = new Map<string, HistoryDay[]>();
    let sums = new Map<string, SummedDays>();
    if (middle && summable.length > 0) {
      sums = await this.deps.history.sums(summable, middle.fromDay, middle.toDay);
      groupByVim(await this.deps.history.read(summable, first, first, { hours: true, probes: false }), edges);
      groupByVim(await this.deps.history.read(summable, last - 1, last, { hours: true, probes: false }), edges);
    }
    const stored = await this.read(
      vims.filter((vim) => !summed.has(vim.id)).map((vim) => vim.id),
      fromMs,
      nowMs,
      'uptime',
    );
    const out: VimUptime[] = [];
    // Now again, once the store has answered (see history()).
    const endMs = this.nowMs();
    for (const vim of vims) {
      const context = this.context(vim, endMs);
      let figures: (Figures & { fromMs: number; toMs: number }) | undefined;
      if (middle && summed.has(vim.id)) {
        const days = indexDays(edges.get(vim.id) ?? []);
        const sum = sums.get(vim.id);
        figures = sum ? windowFigures(days, fromMs, endMs, context, { ...middle, ...sum }) : windowFigures(days, fromMs, endMs, context);
        // A window that does not hold every summed day (a flush interval of half a day or more): read that VIM's days.
        figures ??= windowFigures(indexDays((await this.read([vim.id], fromMs, endMs, 'uptime')).get(vim.id) ?? []), fromMs, endMs, context);
      } else {
        figures = windowFigures(indexDays(stored.get(vim.id) ?? []), fromMs, endMs, context);
      }
      out.push({ vim, window, fromMs: figures.fromMs, toMs: figures.toMs, figures, uptime: uptimeOf(figures, excludeMaintenance), excludeMaintenance });
    }
    return out;
  }

  /**
   * The stored days of [fromMs, toMs], by VIM. Whole days inside the range
   * need only their totals; the hours are read for the edge days (and the
   * day before the last, where the open tail may move the end to), or for
   * every day of hour buckets. Uptime needs no probe figures.
   */
  private async read(vimIds: string[], fromMs: number, toMs: number, mode: 'buckets' | 'uptime'): Promise<Map<string, HistoryDay[]>> {
    if (vimIds.length === 0) return new Map();
    const first = dayOf(fromMs);
    const last = Math.max(first, dayOf(toMs));
    const probes = mode === 'buckets';
    const rows: HistoryDay[] = [];
    if (last - first <= 2) {
      rows.push(...(await this.deps.history.read(vimIds, first, last, { hours: true, probes })));
    } else {
      rows.push(...(await this.deps.history.read(vimIds, first, first, { hours: true, probes })));
      rows.push(...(await this.deps.history.read(vimIds, first + 1, last - 2, { hours: false, probes })));
      rows.push(...(await this.deps.history.read(vimIds, last - 1, last, { hours: true, probes })));
    }
    return groupByVim(rows, new Map());
  }

  private context(vim: VimRecord, nowMs: number): ReadingContext {
    return { createdAtMs: epochOfTackerTimestamp(vim.createdAt), nowMs, flushIntervalMs: this.deps.flushIntervalMs };
  }

  /**
   * Answers speak in whole seconds. Rounded up, not down: a day written
   * within the current second has its last write after a rounded-down now,
   * and the window would then end before what was stored (an hour's figures
   * undercounted until the next second).
   */
  private nowMs(): number {
    return Math.ceil(this.deps.clock.now().getTime() / 1000) * 1000;
  }
}

function groupByVim(rows: readonly HistoryDay[], byVim: Map<string, HistoryDay[]>): Map<string, HistoryDay[]> {
  for (const row of rows) {
    const list = byVim.get(row.vimId);
    if (list) list.push(row);
    else byVim.set(row.vimId, [row]);
  }
  return byVim;
}

/** `YYYY-MM-DD hh:mm:ss.ffffff` (UTC) to epoch ms. */
export function epochOfTackerTimestamp(value: string): number {
  return Date.parse(`${value.slice(0, 23).replace(' ', 'T')}Z`);
}
