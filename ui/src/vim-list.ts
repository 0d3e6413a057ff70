import { api, query } from './api';
import { live } from './live';
import type { Health, VimEvent, VimRow, VimStatus } from './types';

/** Only what the overview shows: at 10,000 VIMs the full documents would be megabytes. */
export const ROW_FIELDS = ['id', 'name', 'tenant_id', 'type', 'status', 'health', 'maintenance'] as const;

// One collator for every comparison: String#localeCompare builds one per call.
const byText = new Intl.Collator('en', { numeric: true }).compare;

/** A full reload at most this often; between reloads the stream keeps the list current. */
const REFRESH_MS = 5 * 60_000;
/** Live changes are applied at once but shown at most this often, so a burst is one render. */
const RENDER_EVERY_MS = 250;

export interface Change {
  id: string;
  name: string;
  what: string;
}

/**
 * Every VIM the caller can see, kept in memory and current: loaded once,
 * then changed by the event stream (status and health), reloaded every few
 * minutes for VIMs added or deleted elsewhere.
 */
class VimList {
  readonly rows = new Map<string, VimRow>();
  /** The rows by name: sorted when the set of VIMs changes, not on a status change (a live update never sorts 10,000 rows). */
  byName: VimRow[] = [];
  loaded = false;
  error: string | undefined;
  /** Bumped on every change: views compare it to know when to recompute. */
  version = 0;
  /** The latest live changes, newest last, for the aria-live announcement. */
  changes: Change[] = [];
  /** Every live change so far (the list above keeps the latest 20 only). */
  changeCount = 0;
  private readonly listeners = new Set<() => void>();
  private pendingRender: ReturnType<typeof setTimeout> | undefined;
  private refreshTimer: ReturnType<typeof setInterval> | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly fetching = new Set<string>();

  start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = live.subscribe((event) => this.apply(event));
    void this.reload();
    this.refreshTimer = setInterval(() => void this.reload(), REFRESH_MS);
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    clearInterval(this.refreshTimer);
    this.rows.clear();
    this.byName = [];
    this.loaded = false;
  }

  async reload(): Promise<void> {
    try {
      const { vims } = await api<{ vims: VimRow[] }>('GET', `/v1.0/vims${query({ fields: [...ROW_FIELDS] })}`);
      this.rows.clear();
      for (const vim of vims) this.rows.set(vim.id, vim);
      this.sortByName();
      if (!this.loaded) performance.mark('vim-monitor:vim-list-loaded', { detail: { vims: vims.length } });
      this.loaded = true;
      this.error = undefined;
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
    }
    this.notify(true);
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  apply(event: VimEvent): void {
    if (event.resource_type !== 'vim') return;
    const row = this.rows.get(event.resource_id);
    if (!row) {
      // A VIM registered since the list was loaded: its first status change brings it in.
      void this.fetchOne(event.resource_id);
      return;
    }
    if (event.event_type === 'MONITOR') {
      const status = event.resource_state as VimStatus;
      if (row.status === status) return;
      row.status = status;
      this.changes.push({ id: row.id, name: row.name, what: `is now ${status}` });
    } else if (event.event_type === 'HEALTH') {
      const health = event.event_details.new_health ?? null;
      if (row.health === health) return;
      row.health = health;
      this.changes.push({ id: row.id, name: row.name, what: `health is now ${health ?? 'unknown'}` });
    }
    this.changeCount += 1;
    if (this.changes.length > 20) this.changes.splice(0, this.changes.length - 20);
    this.notify(false);
  }

  private async fetchOne(id: string): Promise<void> {
    if (this.fetching.has(id)) return;
    this.fetching.add(id);
    try {
      const { vim } = await api<{ vim: VimRow }>('GET', `/v1.0/vims/${encodeURIComponent(id)}${query({ fields: [...ROW_FIELDS] })}`);
      this.rows.set(vim.id, vim);
      this.sortByName();
      this.notify(false);
    } catch {
      // Deleted again, or not ours to see: nothing to show.
    } finally {
      this.fetching.delete(id);
    }
  }

  private sortByName(): void {
    this.byName = [...this.rows.values()].sort((a, b) => byText(a.name, b.name) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private notify(now: boolean): void {
    this.version += 1;
    if (now) {
      clearTimeout(this.pendingRender);
      this.pendingRender = undefined;
      for (const listener of this.listeners) listener();
      return;
    }
    if (this.pendingRender) return;
    this.pendingRender = setTimeout(() => {
      this.pendingRender = undefined;
      for (const listener of this.listeners) listener();
    }, RENDER_EVERY_MS);
  }
}

export const vimList = new VimList();

/** Problems first (down, then degraded, then pending, then the rest), by name within each: one pass over the name order, no sort. */
export function problemsFirst(byName: readonly VimRow[], keep: (vim: VimRow) => boolean): VimRow[] {
  const ranks: VimRow[][] = [[], [], [], []];
  for (const vim of byName) if (keep(vim)) ranks[problemRank(vim)]!.push(vim);
  return ranks.flat();
}

export function problemRank(vim: Pick<VimRow, 'status' | 'health'>): number {
  if (vim.status === 'UNREACHABLE' || vim.health === 'DOWN') return 0;
  if (vim.health === 'DEGRADED') return 1;
  if (vim.status === 'PENDING') return 2;
  return 3;
}

export function healthLabel(health: Health | null | undefined): string {
  return health ?? 'UNKNOWN';
}
