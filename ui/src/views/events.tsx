import { useEffect, useState } from 'preact/hooks';
import { useLoad } from '../components/async';
import { EventList } from '../components/event-list';
import { latestEvents } from '../events-query';
import { live } from '../live';
import type { VimEvent } from '../types';

const KEEP = 300;
const DAY_MS = 86_400_000;

/** The latest day of events, newest first, with new ones added as the stream delivers them. */
export function EventsFeed() {
  const [type, setType] = useState('');
  const [text, setText] = useState('');
  const [arrived, setArrived] = useState<VimEvent[]>([]);
  const loaded = useLoad(() => latestEvents({ since: new Date(Date.now() - DAY_MS), keep: KEEP }), []);

  useEffect(
    () =>
      live.subscribe((event) => {
        if (event.resource_type === 'vim') setArrived((events) => [event, ...events].slice(0, KEEP));
      }),
    [],
  );

  const seen = new Set<number>();
  const all = [...arrived, ...(loaded.state === 'ok' ? loaded.value : [])].filter((e) => (seen.has(e.id) ? false : (seen.add(e.id), true)));
  const needle = text.trim().toLowerCase();
  const shown = all.filter((e) => (!type || e.event_type === type) && (!needle || e.resource_name.toLowerCase().includes(needle))).slice(0, KEEP);

  return (
    <section aria-labelledby="events-title">
      <h1 id="events-title">Events</h1>
      <form class="filters" role="search" aria-label="Filter events" onSubmit={(e) => e.preventDefault()}>
        <div class="field grow">
          <label for="events-text">VIM name</label>
          <input id="events-text" type="search" value={text} onInput={(e) => setText(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="events-type">Kind</label>
          <select id="events-type" value={type} onChange={(e) => setType(e.currentTarget.value)}>
            <option value="">status and health</option>
            <option value="MONITOR">status changes</option>
            <option value="HEALTH">health changes</option>
          </select>
        </div>
      </form>
      <p class="summary">Last 24 hours and live, newest first (at most {KEEP}).</p>
      {loaded.state === 'error' && (
        <p class="error" role="alert">
          Could not load the events: {loaded.message}
        </p>
      )}
      {loaded.state === 'loading' ? <p aria-busy="true">Loading events…</p> : <EventList events={shown} showVim={true} />}
    </section>
  );
}
