import { useMemo, useState } from 'preact/hooks';
import { api } from '../api';
import { useLoad } from '../components/async';
import { StatusBadge } from '../components/badges';
import { useStore } from '../components/use-store';
import { formatAgo, formatMs, parseTime } from '../format';
import { href } from '../router';
import type { Monitor } from '../types';
import { vimList } from '../vim-list';
import { Pager } from './overview';

const PAGE_SIZE = 50;

interface ManagerStats {
  enabled?: false;
  owner?: string;
  monitors?: number;
  live_workers?: number;
  replacements?: number;
  takeovers?: number;
  rounds?: { scheduled: number; executed: number; late_over_1s: number; lateness_ms: { p50: number; p99: number; max: number } };
  pending_writes?: number;
  isolation?: { state: string } | null;
}

interface WorkerSummary {
  owner: string;
  monitors: number;
  states: Record<string, number>;
  latestHeartbeat: number | undefined;
}

/** The workers that run monitors, from the monitors table, and this process's own figures. */
export function Workers() {
  useStore(vimList);
  const manager = useLoad(() => api<{ manager: ManagerStats }>('GET', '/v1.0/manager').then((r) => r.manager), []);
  const monitors = useLoad(() => api<{ monitors: Monitor[] }>('GET', '/v1.0/monitors').then((r) => r.monitors), []);
  const [owner, setOwner] = useState('');
  const [page, setPage] = useState(0);

  const workers = useMemo(() => {
    if (monitors.state !== 'ok') return [];
    const byOwner = new Map<string, WorkerSummary>();
    for (const m of monitors.value) {
      const w = byOwner.get(m.owner) ?? { owner: m.owner, monitors: 0, states: {}, latestHeartbeat: undefined };
      w.monitors += 1;
      w.states[m.state] = (w.states[m.state] ?? 0) + 1;
      const beat = parseTime(m.heartbeat_at);
      if (beat !== undefined && (w.latestHeartbeat === undefined || beat > w.latestHeartbeat)) w.latestHeartbeat = beat;
      byOwner.set(m.owner, w);
    }
    return [...byOwner.values()].sort((a, b) => a.owner.localeCompare(b.owner));
  }, [monitors]);

  const listed = monitors.state === 'ok' ? monitors.value.filter((m) => !owner || m.owner === owner) : [];
  const pages = Math.max(1, Math.ceil(listed.length / PAGE_SIZE));
  const current = Math.min(page, pages - 1);

  return (
    <section aria-labelledby="workers-title">
      <h1 id="workers-title">Workers</h1>
      {manager.state === 'ok' && manager.value.owner && (
        <div class="card">
          <h2>This worker: {manager.value.owner}</h2>
          <dl class="facts">
            <dt>Monitors</dt>
            <dd>{manager.value.monitors}</dd>
            <dt>Live workers</dt>
            <dd>{manager.value.live_workers}</dd>
            <dt>Rounds</dt>
            <dd>
              {manager.value.rounds?.executed} run, {manager.value.rounds?.late_over_1s} over 1 s late; lateness p50 {formatMs(manager.value.rounds?.lateness_ms.p50)}, p99{' '}
              {formatMs(manager.value.rounds?.lateness_ms.p99)}
            </dd>
            <dt>Pending writes</dt>
            <dd>{manager.value.pending_writes}</dd>
            <dt>Takeovers / replacements</dt>
            <dd>
              {manager.value.takeovers} / {manager.value.replacements}
            </dd>
            {manager.value.isolation && (
              <>
                <dt>Isolation guard</dt>
                <dd>{manager.value.isolation.state}</dd>
              </>
            )}
          </dl>
        </div>
      )}
      {manager.state === 'ok' && manager.value.enabled === false && <p class="muted">This process runs no monitors (manager.enabled is false).</p>}

      <h2>Workers and their monitors</h2>
      {monitors.state === 'loading' && <p aria-busy="true">Loading monitors…</p>}
      {monitors.state === 'error' && (
        <p class="error" role="alert">
          Could not load the monitors: {monitors.message}
        </p>
      )}
      {monitors.state === 'ok' && (
        <>
          <div class="table-wrap">
            <table class="workers">
              <thead>
                <tr>
                  <th scope="col">Worker</th>
                  <th scope="col">Monitors</th>
                  <th scope="col">States</th>
                  <th scope="col" class="wide">Latest heartbeat</th>
                </tr>
              </thead>
              <tbody>
                {workers.map((w) => (
                  <tr key={w.owner} data-worker={w.owner}>
                    <th scope="row">
                      <button type="button" class="link" aria-pressed={owner === w.owner} onClick={() => (setOwner(owner === w.owner ? '' : w.owner), setPage(0))}>
                        {w.owner}
                      </button>
                    </th>
                    <td>{w.monitors}</td>
                    <td>
                      {Object.entries(w.states)
                        .map(([state, n]) => `${n} ${state}`)
                        .join(', ')}
                    </td>
                    <td class="wide">{w.latestHeartbeat === undefined ? '—' : formatAgo(new Date(w.latestHeartbeat).toISOString())}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h2>{owner ? `Monitors of ${owner}` : 'All monitors'}</h2>
          <div class="table-wrap">
            <table class="monitors">
              <thead>
                <tr>
                  <th scope="col">VIM</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="wide">Worker</th>
                  <th scope="col">State</th>
                  <th scope="col" class="wide">Last round</th>
                  <th scope="col" class="wide">Replacements</th>
                </tr>
              </thead>
              <tbody>
                {listed.slice(current * PAGE_SIZE, (current + 1) * PAGE_SIZE).map((m) => {
                  const vim = vimList.rows.get(m.vim_id);
                  return (
                    <tr key={m.monitor_id}>
                      <th scope="row">
                        <a href={href.vim(m.vim_id)}>{vim?.name ?? m.vim_id}</a>
                      </th>
                      <td>{vim ? <StatusBadge status={vim.status} /> : '—'}</td>
                      <td class="wide mono">{m.owner}</td>
                      <td>{m.state}</td>
                      <td class="wide">{formatAgo(m.last_round_at)}</td>
                      <td class="wide">{m.replacements}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          {pages > 1 && <Pager page={current} pages={pages} onPage={setPage} />}
        </>
      )}
    </section>
  );
}
