/** Tacker writes UTC as `YYYY-MM-DD hh:mm:ss.ffffff`; history times are ISO 8601 with Z. */
export function parseTime(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const iso = value.includes('T') ? value : `${value.replace(' ', 'T')}Z`;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Shown in UTC, as the API and the logs write it, to the second. */
export function formatTime(value: string | number | null | undefined): string {
  const ms = typeof value === 'number' ? value : parseTime(value);
  if (ms === undefined) return '—';
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function formatAgo(value: string | null | undefined, now = Date.now()): string {
  const ms = parseTime(value);
  if (ms === undefined) return '—';
  const s = Math.round((now - ms) / 1000);
  if (s < 0) return `in ${formatDuration(-s)}`;
  return `${formatDuration(s)} ago`;
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86_400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

/** Uptime as operators read it: 99.95 %, never rounded up to 100 % while anything was down. */
export function formatUptime(uptime: number | null | undefined): string {
  if (uptime === null || uptime === undefined) return 'no data';
  if (uptime >= 1) return '100 %';
  const percent = Math.floor(uptime * 10_000) / 100;
  return `${percent.toFixed(2)} %`;
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}
