import { useEffect, useMemo, useState } from 'preact/hooks';
import { HealthBadge, StatusBadge } from '../components/badges';
import { useStore } from '../components/use-store';
import { href } from '../router';
import type { VimRow } from '../types';
import { problemRank, problemsFirst, vimList } from '../vim-list';

const PAGE_SIZE = 50;
const STATUSES = ['UNREACHABLE', 'PENDING', 'REACHABLE'] as const;
const HEALTHS = ['DOWN', 'DEGRADED', 'OK', 'UNKNOWN'] as const;

interface Filters {
  text: string;
  tenant: string;
  type: string;
  status: string;
  health: string;
}

const NO_FILTERS: Filters = { text: '', tenant: '', type: '', status: '', health: '' };

function matches(vim: VimRow, f: Filters, text: string): boolean {
  if (f.status && vim.status !== f.status) return false;
  if (f.health && (vim.health ?? 'UNKNOWN') !== f.health) return false;
  if (f.tenant && vim.tenant_id !== f.tenant) return false;
  if (f.type && vim.type !== f.type) return false;
  if (text && !vim.name.toLowerCase().includes(text) && !vim.id.startsWith(text)) return false;
  return true;
}

/**
 * Every VIM the caller can see, problems first. Held in memory and filtered
 * there (10,000 rows filter in a few ms); one page of rows is in the DOM.
 */
export function Overview() {
  const version = useStore(vimList);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [page, setPage] = useState(0);

  const all = useMemo(() => [...vimList.rows.values()], [version]);
  const counts = useMemo(() => {
    const status: Record<string, number> = {};
    const health: Record<string, number> = {};
    for (const vim of all) {
      status[vim.status] = (status[vim.status] ?? 0) + 1;
      const h = vim.health ?? 'UNKNOWN';
      health[h] = (health[h] ?? 0) + 1;
    }
    return { status, health };
  }, [all]);
  const tenants = useMemo(() => [...new Set(all.map((v) => v.tenant_id))].sort(), [all]);
  const types = useMemo(() => [...new Set(all.map((v) => v.type))].sort(), [all]);
  const shown = useMemo(() => {
    const text = filters.text.trim().toLowerCase();
    return problemsFirst(vimList.byName, (vim) => matches(vim, filters, text));
  }, [all, filters]);

  // For measurements (the benchmark's first render at 10,000 VIMs): the first paint of a loaded list, as a performance mark.
  useEffect(() => {
    if (vimList.loaded && performance.getEntriesByName('vim-monitor:overview-rendered').length === 0) {
      requestAnimationFrame(() => performance.mark('vim-monitor:overview-rendered', { detail: { vims: vimList.rows.size } }));
    }
  }, [version]);

  const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
  const current = Math.min(page, pages - 1);
  const rows = shown.slice(current * PAGE_SIZE, (current + 1) * PAGE_SIZE);
  const set = (patch: Partial<Filters>) => {
    setFilters({ ...filters, ...patch });
    setPage(0);
  };
  const filtered = JSON.stringify(filters) !== JSON.stringify(NO_FILTERS);

  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">VIMs</h1>
      {vimList.error && (
        <p class="error" role="alert">
          Could not load the VIMs: {vimList.error}
        </p>
      )}
      <div class="counts" role="group" aria-label="Counts by status and health">
        <CountCard label="VIMs" value={all.length} onSelect={() => set(NO_FILTERS)} pressed={!filtered} />
        {STATUSES.map((s) => (
          <CountCard key={s} label={s} value={counts.status[s] ?? 0} tone={s === 'UNREACHABLE' ? 'bad' : s === 'REACHABLE' ? 'ok' : 'neutral'} pressed={filters.status === s} onSelect={() => set({ status: filters.status === s ? '' : s })} />
        ))}
        {HEALTHS.map((h) => (
          <CountCard key={h} label={`health ${h}`} value={counts.health[h] ?? 0} tone={h === 'DOWN' ? 'bad' : h === 'DEGRADED' ? 'warn' : h === 'OK' ? 'ok' : 'neutral'} pressed={filters.health === h} onSelect={() => set({ health: filters.health === h ? '' : h })} />
        ))}
      </div>

      <form class="filters" role="search" aria-label="Filter VIMs" onSubmit={(e) => e.preventDefault()}>
        <div class="field grow">
          <label for="filter-text">Name or id</label>
          <input id="filter-text" type="search" value={filters.text} placeholder="Search" onInput={(e) => set({ text: e.currentTarget.value })} />
        </div>
        <Select label="Tenant" value={filters.tenant} options={tenants} onChange={(tenant) => set({ tenant })} />
        <Select label="Type" value={filters.type} options={types} onChange={(type) => set({ type })} />
        <Select label="Status" value={filters.status} options={[...STATUSES]} onChange={(status) => set({ status })} />
        <Select label="Health" value={filters.health} options={[...HEALTHS]} onChange={(health) => set({ health })} />
        {filtered && (
          <button type="button" class="secondary" onClick={() => set(NO_FILTERS)}>
            Clear filters
          </button>
        )}
      </form>

      {!vimList.loaded && !vimList.error ? (
        <p aria-busy="true">Loading VIMs…</p>
      ) : (
        <>
          <p class="summary" aria-live="polite">
            {shown.length === all.length ? `${all.length} VIMs` : `${shown.length} of ${all.length} VIMs`}
            {shown.length > PAGE_SIZE && `, page ${current + 1} of ${pages}`}
          </p>
          <div class="table-wrap">
            <table class="vims">
              <caption class="visually-hidden">VIMs, problems first</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Status</th>
                  <th scope="col">Health</th>
                  <th scope="col" class="wide">Type</th>
                  <th scope="col" class="wide">Tenant</th>
                  <th scope="col" class="wide">Maintenance</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((vim) => (
                  <tr key={vim.id} data-vim-id={vim.id} data-status={vim.status} class={problemRank(vim) === 0 ? 'problem' : undefined}>
                    <th scope="row">
                      <a href={href.vim(vim.id)}>{vim.name}</a>
                    </th>
                    <td>
                      <StatusBadge status={vim.status} />
                    </td>
                    <td>
                      <HealthBadge health={vim.health} />
                    </td>
                    <td class="wide">{vim.type}</td>
                    <td class="wide mono" title={vim.tenant_id}>
                      {vim.tenant_id}
                    </td>
                    <td class="wide">{vim.maintenance ? vim.maintenance.reason || 'yes' : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {rows.length === 0 && <p>{all.length === 0 ? 'No VIMs registered yet.' : 'No VIM matches these filters.'}</p>}
          {pages > 1 && <Pager page={current} pages={pages} onPage={setPage} />}
        </>
      )}
    </section>
  );
}

function CountCard(props: { label: string; value: number; tone?: string; pressed: boolean; onSelect: () => void }) {
  return (
    <button type="button" class={`count ${props.tone ?? ''}`} aria-pressed={props.pressed} onClick={props.onSelect}>
      <span class="count-value">{props.value.toLocaleString('en')}</span>
      <span class="count-label">{props.label}</span>
    </button>
  );
}

function Select(props: { label: string; value: string; options: string[]; onChange: (value: string) => void }) {
  // An explicit label (for=): the accessible name is "Status", not the label's text plus the chosen option.
  const id = `filter-${props.label.toLowerCase()}`;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select id={id} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        <option value="">any</option>
        {props.options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </div>
  );
}

export function Pager(props: { page: number; pages: number; onPage: (page: number) => void }) {
  const { page, pages, onPage } = props;
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={page === 0} onClick={() => onPage(0)}>
        First
      </button>
      <button type="button" disabled={page === 0} onClick={() => onPage(page - 1)}>
        Previous
      </button>
      <span aria-current="page">
        Page {page + 1} of {pages}
      </span>
      <button type="button" disabled={page >= pages - 1} onClick={() => onPage(page + 1)}>
        Next
      </button>
      <button type="button" disabled={page >= pages - 1} onClick={() => onPage(pages - 1)}>
        Last
      </button>
    </nav>
  );
}
