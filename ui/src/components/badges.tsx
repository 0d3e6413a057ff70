import type { Health, VimStatus } from '../types';

/** Colour and word together: the status never depends on colour alone. */
export function StatusBadge({ status }: { status: VimStatus | string }) {
  const tone = status === 'REACHABLE' ? 'ok' : status === 'UNREACHABLE' ? 'bad' : 'neutral';
  return (
    <span class={`badge ${tone}`} data-status={status}>
      {status}
    </span>
  );
}

export function HealthBadge({ health }: { health: Health | null | undefined }) {
  const value = health ?? 'UNKNOWN';
  const tone = value === 'OK' ? 'ok' : value === 'DOWN' ? 'bad' : value === 'DEGRADED' ? 'warn' : 'neutral';
  return (
    <span class={`badge ${tone}`} data-health={value}>
      {value}
    </span>
  );
}
