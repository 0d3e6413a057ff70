import { covers, type MaintenanceWindow } from '../maintenance/window.js';

/** What the spans need of the maintenance calendar (src/maintenance/calendar.ts). */
export interface WindowSource {
  readonly version: number;
  openWindows(atMs: number): MaintenanceWindow[];
  nextChange(atMs: number): number | undefined;
}

interface Span {
  startMs: number;
  /** The next instant any window opens or closes (Infinity: none ahead). */
  endMs: number;
  /** The windows open throughout [startMs, endMs). */
  open: MaintenanceWindow[];
}

const KEPT_SPANS = 4;

/**
 * Which part of a stretch of time a VIM spent inside a maintenance window,
 * asked by the history recorder for every round of every VIM. The calendar
 * is asked only where a window opens or closes: between two such instants
 * the set of open windows is fixed, so a round costs a span lookup and, only
 * while some window is open, a scope check per open window (usually none).
 */
export class MaintenanceSpans {
  private spans: Span[] = [];
  private version = -1;

  /** `lookbackMs`: how far before the first time asked about a fresh chain of spans starts (rounds reach back up to a stall gap). */
  constructor(
    private readonly calendar: WindowSource,
    private readonly lookbackMs: number,
  ) {}

  /** The milliseconds of [fromMs, toMs) during which a window covering the VIM was open. */
  insideMs(vimId: string, tenantId: string, fromMs: number, toMs: number): number {
    let inside = 0;
    let start = fromMs;
    while (start < toMs) {
      const span = this.spanAt(start);
      const end = Math.min(toMs, span.endMs);
      if (coversAny(span.open, vimId, tenantId)) inside += end - start;
      start = end;
    }
    return inside;
  }

  private spanAt(atMs: number): Span {
    if (this.calendar.version !== this.version) {
      this.version = this.calendar.version;
      this.spans = [];
    }
    for (let i = this.spans.length - 1; i >= 0; i--) {
      const span = this.spans[i]!;
      if (span.startMs <= atMs && atMs < span.endMs) return span;
    }
    const last = this.spans[this.spans.length - 1];
    // Time moves on: chain from the last known change. Asked about earlier time than any span: start afresh a lookback before it.
    let startMs = last && atMs >= last.endMs ? last.endMs : atMs - this.lookbackMs;
    if (!(last && atMs >= last.endMs)) this.spans = [];
    for (;;) {
      const span: Span = { startMs, endMs: this.calendar.nextChange(startMs) ?? Number.POSITIVE_INFINITY, open: this.calendar.openWindows(startMs) };
      // A change that does not move time on (a schedule answering its own instant) must not loop forever.
      if (!(span.endMs > startMs)) span.endMs = startMs + 1;
      this.spans.push(span);
      if (this.spans.length > KEPT_SPANS) this.spans.shift();
      if (atMs < span.endMs) return span;
      startMs = span.endMs;
    }
  }
}

function coversAny(windows: readonly MaintenanceWindow[], vimId: string, tenantId: string): boolean {
  for (const window of windows) if (covers(window, vimId, tenantId)) return true;
  return false;
}
