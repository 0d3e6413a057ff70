import { formatDuration, formatUptime } from '../format';
import type { HistoryBucket } from '../types';

const DAY_MS = 86_400_000;

function tone(bucket: HistoryBucket | undefined): string {
  if (!bucket || bucket.uptime === null) return 'none';
  if (bucket.uptime >= 0.999) return 'ok';
  if (bucket.uptime >= 0.95) return 'warn';
  return 'bad';
}

/**
 * One bar per UTC day, oldest left. A day with nothing observed is grey
 * ("no data"), never green: time nobody watched is not uptime.
 */
export function UptimeBars({ buckets, days, endMs }: { buckets: HistoryBucket[]; days: number; endMs: number }) {
  const byDay = new Map<number, HistoryBucket>();
  for (const bucket of buckets) byDay.set(Math.floor(Date.parse(bucket.start) / DAY_MS), bucket);
  const lastDay = Math.floor(endMs / DAY_MS);
  const slots = Array.from({ length: days }, (_, i) => lastDay - days + 1 + i);
  const withDowntime = slots.filter((day) => (byDay.get(day)?.unreachable_s ?? 0) > 0).length;
  const noData = slots.filter((day) => tone(byDay.get(day)) === 'none').length;
  return (
    <div class="uptime">
      <div class="uptime-bars" role="img" aria-label={`${days} days: ${withDowntime} with downtime, ${noData} without data`}>
        {slots.map((day) => {
          const bucket = byDay.get(day);
          const date = new Date(day * DAY_MS).toISOString().slice(0, 10);
          const detail = bucket
            ? `${formatUptime(bucket.uptime)}; down ${formatDuration(bucket.unreachable_s)}, unknown ${formatDuration(bucket.unknown_s)}${bucket.maintenance_s > 0 ? `, maintenance ${formatDuration(bucket.maintenance_s)}` : ''}`
            : 'no data';
          return <span key={day} class={tone(bucket)} data-day={date} title={`${date}: ${detail}`} />;
        })}
      </div>
      <div class="uptime-axis" aria-hidden="true">
        <span>{days} days ago</span>
        <span>today</span>
      </div>
    </div>
  );
}
