import { ref } from '../health-schemas.js';

/**
 * Status history and uptime (issue 12) as the OpenAPI document shows them.
 * Documentation only, like every response schema (server.ts); closed, so an
 * attribute added to the presenter and not here fails the tests that check
 * real answers against the document.
 */

const instant = { type: 'string', description: 'ISO 8601 UTC instant, whole seconds (`2026-12-01T10:00:00Z`)' } as const;
const seconds = (description: string) => ({ type: 'number', minimum: 0, description }) as const;
const fraction = {
  type: ['number', 'null'],
  minimum: 0,
  maximum: 1,
  description: 'reachable / (reachable + unreachable); with exclude_maintenance the time inside maintenance windows is left out of both; null when nothing was observed',
} as const;
const latency = { type: ['number', 'null'], description: 'ms; null when no check measured a latency' } as const;

export const probeFiguresSchema = {
  $id: 'HistoryProbeFigures',
  type: 'object',
  description: 'The checks of one probe over a period; percentiles over several stored periods are check-weighted means of theirs (an approximation), max is exact.',
  additionalProperties: false,
  required: ['checks', 'failed', 'latency_ms'],
  properties: {
    checks: { type: 'integer', minimum: 0 },
    failed: { type: 'integer', minimum: 0 },
    latency_ms: {
      type: 'object',
      additionalProperties: false,
      required: ['p50', 'p95', 'max'],
      properties: { p50: latency, p95: latency, max: latency },
    },
  },
} as const;

const statusSeconds = {
  reachable_s: seconds('Time the monitor saw the VIM REACHABLE'),
  unreachable_s: seconds('Time the monitor saw the VIM UNREACHABLE'),
  pending_s: seconds('Time the monitor saw the VIM PENDING'),
  unknown_s: seconds('Time after the VIM was created that no stored entry covers (the monitor was not running or could not store): never counted as up'),
  maintenance_s: seconds('The part of reachable_s and unreachable_s inside a maintenance window'),
} as const;

export const historyBucketSchema = {
  $id: 'HistoryBucket',
  type: 'object',
  description: 'One hour or day of a VIM\'s status history (the first and last bucket may be partial).',
  additionalProperties: false,
  required: ['start', 'end', 'reachable_s', 'unreachable_s', 'pending_s', 'unknown_s', 'maintenance_s', 'uptime', 'condition_changes', 'detail', 'probes'],
  properties: {
    start: instant,
    end: instant,
    ...statusSeconds,
    uptime: fraction,
    condition_changes: { type: 'integer', minimum: 0 },
    detail: {
      type: 'string',
      enum: ['hour', 'day', 'none'],
      description:
        'What the figures come from: stored hours; a stored day (its hourly detail was pruned, or the bucket is a whole day): an hour bucket then holds the day\'s figures pro rata; none: nothing stored',
    },
    probes: { type: 'object', additionalProperties: ref(probeFiguresSchema), description: 'By probe name' },
  },
} as const;

export const uptimeSchema = {
  $id: 'VimUptime',
  type: 'object',
  description: 'A VIM\'s availability over a window ending now.',
  additionalProperties: false,
  required: ['vim_id', 'vim_name', 'window', 'from', 'to', 'uptime', 'reachable_s', 'unreachable_s', 'pending_s', 'unknown_s', 'maintenance_s', 'exclude_maintenance'],
  properties: {
    vim_id: { type: 'string' },
    vim_name: { type: 'string' },
    window: { type: 'string', enum: ['24h', '7d', '30d', '90d'] },
    from: { ...instant, description: 'The later of the window\'s start and the VIM\'s creation' },
    to: { ...instant, description: 'Now, or the VIM\'s last stored write when that is younger than two history.flush_interval (the rest is not written yet)' },
    uptime: fraction,
    ...statusSeconds,
    exclude_maintenance: { type: 'boolean' },
  },
} as const;

export const HISTORY_COMPONENTS = [probeFiguresSchema, historyBucketSchema, uptimeSchema] as const;

export const historyResponse = {
  description: 'A VIM\'s status history in buckets',
  type: 'object',
  additionalProperties: false,
  required: ['history'],
  properties: {
    history: {
      type: 'object',
      additionalProperties: false,
      required: ['vim_id', 'from', 'to', 'step', 'buckets'],
      properties: {
        vim_id: { type: 'string' },
        from: instant,
        to: { ...instant, description: 'As asked, but never past now, nor past the VIM\'s last stored write when that is younger than two history.flush_interval' },
        step: { type: 'string', enum: ['hour', 'day'] },
        buckets: { type: 'array', items: ref(historyBucketSchema) },
      },
    },
  },
} as const;

export const uptimeResponse = {
  description: 'A VIM\'s uptime over a window',
  type: 'object',
  additionalProperties: false,
  required: ['uptime'],
  properties: { uptime: ref(uptimeSchema) },
} as const;

export const uptimeListResponse = {
  description: 'The uptime of the VIMs the caller may see, filtered like GET /v1.0/vims, in its order, one page',
  type: 'object',
  additionalProperties: false,
  required: ['uptimes'],
  properties: { uptimes: { type: 'array', items: ref(uptimeSchema) } },
} as const;
