import { formatTime } from '../format';
import { href } from '../router';
import type { VimEvent } from '../types';
import { HealthBadge, StatusBadge } from './badges';

/** What an event says, in a line: a status change, a health change, or a worker's isolation. */
function Change({ event }: { event: VimEvent }) {
  const d = event.event_details;
  if (event.event_type === 'HEALTH' && d.old_health === d.new_health) {
    // Health unchanged: a condition came, went or changed within the same level.
    return <span>conditions changed: {(d.changed ?? []).join(', ') || 'details'}</span>;
  }
  if (event.event_type === 'HEALTH') {
    return (
      <span>
        health <HealthBadge health={d.old_health ?? null} /> → <HealthBadge health={d.new_health ?? null} />
        {d.failing_layer ? ` (${d.failing_layer})` : ''}
      </span>
    );
  }
  if (event.event_type === 'ISOLATION') return <span>worker {event.resource_state === 'ISOLATED' ? 'isolated' : 'back to normal'}</span>;
  return (
    <span>
      <StatusBadge status={d.old_status ?? 'PENDING'} /> → <StatusBadge status={event.resource_state} />
    </span>
  );
}

export function EventList({ events, showVim }: { events: VimEvent[]; showVim: boolean }) {
  if (events.length === 0) return <p class="muted">No events in this period.</p>;
  return (
    <ol class="timeline">
      {events.map((event) => (
        <li key={event.id} data-event-id={event.id}>
          <time dateTime={event.timestamp.replace(' ', 'T') + 'Z'}>{formatTime(event.timestamp)}</time>
          <span>
            {showVim && event.resource_type === 'vim' && (
              <>
                <a href={href.vim(event.resource_id)}>{event.resource_name}</a>{' '}
              </>
            )}
            {showVim && event.resource_type === 'worker' && <strong>{event.resource_name} </strong>}
            <Change event={event} />
            {event.held_by && <span class="badge neutral"> held: {event.held_by}</span>}
          </span>
          <span class="muted">{event.event_details.reason}</span>
        </li>
      ))}
    </ol>
  );
}
