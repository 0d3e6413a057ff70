import { useEffect, useState } from 'preact/hooks';
import { api, query } from '../api';
import { useLoad, type Loaded } from '../components/async';
import { HealthBadge, StatusBadge } from '../components/badges';
import { EventList } from '../components/event-list';
import { LatencyChart } from '../components/latency-chart';
import { UptimeBars } from '../components/uptime-bars';
import { DeleteVim, MaintenanceForm } from '../components/vim-actions';
import { vimList } from '../vim-list';
import { latestEvents } from '../events-query';
import { formatAgo, formatDuration, formatMs, formatTime, formatUptime } from '../format';
import { live } from '../live';
import { href } from '../router';
import type { History, Maintenance, Monitor, Uptime, Vim, VimEvent } from '../types';

const DAY_MS = 86_400_000;
const WINDOWS = ['24h', '7d', '30d', '90d'] as const;
const UPTIME_DAYS = 90;

/** Everything about one VIM: status, uptime, latency, conditions, monitor, maintenance, events; kept current by the stream. */
export function VimPage({ id }: { id: string }) {
  // Bumped by a live change of this VIM: its document and monitor are read again (the history is not: it moves by the hour).
  const [changed, setChanged] = useState(0);
  const [liveEvents, setLiveEvents] = useState<VimEvent[]>([]);
  const [excludeMaintenance, setExcludeMaintenance] = useState(false);
  const [windowsChanged, setWindowsChanged] = useState(0);
  const path = `/v1.0/vims/${encodeURIComponent(id)}`;

  useEffect(() => {
    setLiveEvents([]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const unsubscribe = live.subscribe((event) => {
      if (event.resource_id !== id) return;
      setLiveEvents((events) => [event, ...events].slice(0, 50));
      clearTimeout(timer);
      timer = setTimeout(() => setChanged((n) => n + 1), 300);
    });
    return () => {
      clearTimeout(timer);
      unsubscribe();
    };
  }, [id]);

  const vim = useLoad(() => api<{ vim: Vim }>('GET', path).then((r) => r.vim), [id, changed]);
  const monitor = useLoad(() => api<{ monitor: Monitor }>('GET', `${path}/monitor`).then((r) => r.monitor), [id, changed]);
  const [now] = useState(() => Date.now());
  // Up to the server's now (no `to`): a browser clock behind the server's would cut off the newest figures, and the
  // open hour would be taken pro rata of what was stored after it.
  const hourly = useLoad(
    () => api<{ history: History }>('GET', `${path}/history${query({ from: new Date(now - DAY_MS).toISOString(), step: 'hour' })}`).then((r) => r.history),
    [id],
  );
  const daily = useLoad(() => {
    const from = (Math.floor(now / DAY_MS) - UPTIME_DAYS + 1) * DAY_MS;
    return api<{ history: History }>('GET', `${path}/history${query({ from: new Date(from).toISOString(), step: 'day' })}`).then((r) => r.history);
  }, [id]);
  const uptimes = useLoad(
    () => Promise.all(WINDOWS.map((window) => api<{ uptime: Uptime }>('GET', `${path}/uptime${query({ window, exclude_maintenance: excludeMaintenance })}`).then((r) => r.uptime))),
    [id, excludeMaintenance, changed],
  );
  const events = useLoad(() => latestEvents({ since: new Date(now - 30 * DAY_MS), resourceId: id, keep: 50 }), [id]);
  const maintenances = useLoad(() => api<{ maintenances: Maintenance[] }>('GET', '/v1.0/maintenances').then((r) => r.maintenances), [id, windowsChanged]);

  if (vim.state === 'loading') return <p aria-busy="true">Loading…</p>;
  if (vim.state === 'error') {
    return (
      <section>
        <p>
          <a href={href.overview}>← All VIMs</a>
        </p>
        <p class="error" role="alert">
          {vim.message}
        </p>
      </section>
    );
  }
  const v = vim.value;
  const shownEvents = mergeEvents(liveEvents, events.state === 'ok' ? events.value : []);

  return (
    <article aria-labelledby="vim-title" data-vim-id={v.id}>
      <p>
        <a href={href.overview}>← All VIMs</a>
      </p>
      <h1 id="vim-title">
        {v.name} <StatusBadge status={v.status} /> <HealthBadge health={v.health} />
      </h1>
      <dl class="facts">
        <dt>Type</dt>
        <dd>{v.type}</dd>
        <dt>Auth URL</dt>
        <dd class="mono">{v.auth_url}</dd>
        <dt>Tenant</dt>
        <dd class="mono">{v.tenant_id}</dd>
        <dt>Id</dt>
        <dd class="mono">{v.id}</dd>
        {v.description && (
          <>
            <dt>Description</dt>
            <dd>{v.description}</dd>
          </>
        )}
        {v.maintenance && (
          <>
            <dt>Maintenance</dt>
            <dd>now: {v.maintenance.reason}</dd>
          </>
        )}
      </dl>

      <h2>Uptime</h2>
      <label class="inline">
        <input type="checkbox" checked={excludeMaintenance} onChange={(e) => setExcludeMaintenance(e.currentTarget.checked)} /> Leave maintenance time out
      </label>
      <Section loaded={uptimes} what="uptime">
        {(list) => (
          <div class="uptime-figures">
            {list.map((u) => (
              <div key={u.window} data-window={u.window}>
                <span class="muted">{u.window}</span>
                <strong>{formatUptime(u.uptime)}</strong>
                <span class="muted">
                  down {formatDuration(u.unreachable_s)}
                  {u.unknown_s > 0 ? `, unknown ${formatDuration(u.unknown_s)}` : ''}
                </span>
              </div>
            ))}
          </div>
        )}
      </Section>
      <Section loaded={daily} what="daily history">
        {(history) => <UptimeBars buckets={history.buckets} days={UPTIME_DAYS} endMs={now} />}
      </Section>

      <h2>Latency, last 24 hours</h2>
      <Section loaded={hourly} what="hourly history">
        {(history) => <LatencyChart buckets={history.buckets} title="Probe latency, last 24 hours" />}
      </Section>

      <h2>Conditions</h2>
      {v.conditions.length === 0 ? (
        <p class="muted">No condition checked yet.</p>
      ) : (
        <div class="table-wrap">
          <table class="conditions">
            <thead>
              <tr>
                <th scope="col">Condition</th>
                <th scope="col">Status</th>
                <th scope="col" class="wide">Layer</th>
                <th scope="col" class="wide">Severity</th>
                <th scope="col">Reason</th>
                <th scope="col" class="wide">Since</th>
              </tr>
            </thead>
            <tbody>
              {v.conditions.map((c) => (
                <tr key={c.type} data-condition={c.type}>
                  <th scope="row">{c.type}</th>
                  <td>
                    <span class={`badge ${c.status === 'True' ? 'ok' : c.status === 'False' ? (c.severity === 'error' ? 'bad' : c.severity === 'warning' ? 'warn' : 'neutral') : 'neutral'}`}>{c.status}</span>
                  </td>
                  <td class="wide">{c.layer}</td>
                  <td class="wide">{c.severity}</td>
                  <td>{c.reason}</td>
                  <td class="wide">{formatTime(c.since)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h2>Monitor</h2>
      <Section loaded={monitor} what="monitor">
        {(m) => <MonitorDetail monitor={m} />}
      </Section>

      <h2>Maintenance windows</h2>
      <Section loaded={maintenances} what="maintenance windows">
        {(list) => <MaintenanceList windows={list.filter((w) => affects(w, v))} />}
      </Section>
      <MaintenanceForm
        vim={v}
        onCreated={() => {
          setWindowsChanged((n) => n + 1);
          setChanged((n) => n + 1);
        }}
      />

      <h2>Events</h2>
      <Section loaded={events} what="events">
        {() => <EventList events={shownEvents} showVim={false} />}
      </Section>

      <h2>Delete</h2>
      <DeleteVim
        vim={v}
        onDeleted={() => {
          void vimList.reload();
          location.hash = href.overview;
        }}
      />
    </article>
  );
}

function mergeEvents(live: VimEvent[], loaded: VimEvent[]): VimEvent[] {
  const seen = new Set<number>();
  const out: VimEvent[] = [];
  for (const event of [...live, ...loaded]) {
    if (seen.has(event.id)) continue;
    seen.add(event.id);
    out.push(event);
  }
  return out.sort((a, b) => b.id - a.id).slice(0, 50);
}

function affects(window: Maintenance, vim: Vim): boolean {
  return window.scope.all === true || window.scope.tenant_id === vim.tenant_id || (window.scope.vim_ids ?? []).includes(vim.id);
}

/** A part of the page that loads on its own: its error is shown in place, the rest of the page stays. */
function Section<T>({ loaded, what, children }: { loaded: Loaded<T>; what: string; children: (value: T) => preact.ComponentChildren }) {
  if (loaded.state === 'loading') return <p aria-busy="true" class="muted">Loading {what}…</p>;
  if (loaded.state === 'error') {
    return (
      <p class="error" role="alert">
        Could not load the {what}: {loaded.message}
      </p>
    );
  }
  return <>{children(loaded.value)}</>;
}

function MonitorDetail({ monitor: m }: { monitor: Monitor }) {
  return (
    <div class="cards">
      <div class="card">
        <h3>Worker</h3>
        <dl class="facts">
          <dt>Owner</dt>
          <dd class="mono">{m.owner}</dd>
          <dt>State</dt>
          <dd>{m.state}</dd>
          <dt>Last round</dt>
          <dd>{formatAgo(m.last_round_at)}</dd>
          <dt>Next round</dt>
          <dd>{formatAgo(m.next_round_at)}</dd>
          <dt>Heartbeat</dt>
          <dd>{formatAgo(m.heartbeat_at)}</dd>
          {m.consecutive_failures !== undefined && (
            <>
              <dt>Failures in a row</dt>
              <dd>{m.consecutive_failures}</dd>
            </>
          )}
          {m.held && (
            <>
              <dt>Held</dt>
              <dd>
                {m.held.reason} (since {formatTime(m.held.since)})
              </dd>
            </>
          )}
          {m.flapping && (
            <>
              <dt>Flapping</dt>
              <dd>
                {m.flapping.changes} changes since {formatTime(m.flapping.since)}
              </dd>
            </>
          )}
          {m.isolation && m.isolation !== 'normal' && (
            <>
              <dt>Isolation</dt>
              <dd>{m.isolation}</dd>
            </>
          )}
        </dl>
      </div>
      {Object.entries(m.probes ?? {}).map(([name, p]) => (
        <div class="card" key={name} data-probe={name}>
          <h3>
            Probe {name} <span class={`badge ${p.ok ? 'ok' : 'bad'}`}>{p.ok ? 'ok' : 'failing'}</span>
          </h3>
          <dl class="facts">
            <dt>Latency</dt>
            <dd>{formatMs(p.latency_ms)}</dd>
            <dt>Checked</dt>
            <dd>{formatAgo(p.checked_at)}</dd>
            <dt>Saw</dt>
            <dd>{p.reason}</dd>
          </dl>
        </div>
      ))}
      {m.state === 'remote' && <p class="muted">Run by another worker: only what the database knows is shown.</p>}
    </div>
  );
}

function MaintenanceList({ windows }: { windows: Maintenance[] }) {
  if (windows.length === 0) return <p class="muted">No maintenance window covers this VIM.</p>;
  return (
    <ul class="plain">
      {windows.map((w) => (
        <li key={w.id}>
          <strong>{w.reason}</strong>{' '}
          {w.open_now ? <span class="badge warn">open now</span> : null}{' '}
          <span class="muted">
            {w.recurrence
              ? `every ${w.recurrence.days.join(', ')} at ${w.recurrence.start_time} (${w.recurrence.time_zone}) for ${w.recurrence.duration} min`
              : `${formatTime(w.start)} – ${w.end ? formatTime(w.end) : 'open end'}`}
          </span>
        </li>
      ))}
    </ul>
  );
}

