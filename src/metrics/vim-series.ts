import type { ConditionType } from '../health/condition.js';
import { PROBE_NAMES } from '../probes/probe.js';
import { VIM_STATUSES, type VimStatus } from '../vims/model.js';

/**
 * What one VIM's series (status, conditions, health, probe latencies) are
 * written from at scrape time: one small record per VIM, where prom-client
 * keeps a label object, a value object and a hash key per series (27.6 MB
 * of heap at 10,000 VIMs, issue 13).
 */
export class VimSeries {
  status: VimStatus | undefined = undefined;
  /** The latest latency per probe in seconds, indexed like PROBE_NAMES; NaN: no series. Made on the first latency. */
  latencies: number[] | undefined = undefined;
  conditionTypes: readonly ConditionType[] = NO_CONDITION_TYPES;
  /** CONDITION_VALUE of each condition, in the order of conditionTypes. */
  conditionValues: readonly number[] = NO_CONDITION_VALUES;
  /** HEALTH_VALUE of the conditions; NaN before the first conditions. */
  health = Number.NaN;
}

const NO_CONDITION_TYPES: readonly ConditionType[] = [];
const NO_CONDITION_VALUES: readonly number[] = [];

/** A plain array of doubles: a Float64Array costs three objects (view, buffer, backing store), about 200 bytes more per VIM. */
export function noLatencies(): number[] {
  return new Array<number>(PROBE_NAMES.length).fill(Number.NaN);
}

/** VIMs written per chunk of the exposition: up to about 250 KB of text (the status family's). */
export const VIMS_PER_CHUNK = 500;

interface Family {
  name: string;
  help: string;
  /** The family's lines for one VIM ('' when it has none); `id` is its id escaped as a label value. */
  lines(name: string, id: string, vim: VimSeries): string;
}

const FAMILIES: readonly Family[] = [
  {
    name: 'vim_status',
    help: 'Status of each VIM watched by this process: 1 for its current status, 0 for the others.',
    lines: (name, id, vim) => {
      const current = vim.status;
      if (current === undefined) return '';
      let out = '';
      for (const status of VIM_STATUSES) out += `${name}{vim_id="${id}",status="${status}"} ${status === current ? 1 : 0}\n`;
      return out;
    },
  },
  {
    name: 'vim_condition',
    help: 'Each condition of each VIM watched by this process (one series per condition type): 1 True, 0 False, -1 Unknown.',
    lines: (name, id, vim) => {
      let out = '';
      vim.conditionTypes.forEach((type, i) => {
        out += `${name}{vim_id="${id}",type="${type}"} ${sampleValue(vim.conditionValues[i] ?? 0)}\n`;
      });
      return out;
    },
  },
  {
    name: 'vim_health',
    help: 'Health derived from the conditions of each VIM watched by this process: 0 OK, 1 DEGRADED, 2 DOWN.',
    lines: (name, id, vim) => (Number.isNaN(vim.health) ? '' : `${name}{vim_id="${id}"} ${sampleValue(vim.health)}\n`),
  },
  {
    name: 'probe_latency_seconds',
    help: "Latency measured by each VIM's latest check per probe; absent while the latest check measured none (e.g. a timeout).",
    lines: (name, id, vim) => {
      let out = '';
      vim.latencies?.forEach((seconds, index) => {
        if (!Number.isNaN(seconds)) out += `${name}{vim_id="${id}",probe="${PROBE_NAMES[index]}"} ${sampleValue(seconds)}\n`;
      });
      return out;
    },
  },
];

/** The names of the per-VIM gauges, prefix included. */
export function perVimMetricNames(prefix: string): string[] {
  return FAMILIES.map((family) => prefix + family.name);
}

/**
 * The per-VIM gauges in the text exposition format, written straight from
 * the VimSeries, VIMS_PER_CHUNK VIMs per chunk. Made through prom-client,
 * every series became a sample object and a label object, then a line, then
 * one string of all lines: at 10,000 VIMs (4.9 MB of text) a scrape every
 * 15 s took 403 ms and lifted the peak RSS by about 50 MB; streamed, 95 ms
 * and no lift (issue 13). Each family comes whole, after a blank line, as
 * prom-client separates its metrics. A VIM
 * added or forgotten between chunks is written or not, as a Map iteration
 * gives it; no series is written twice.
 */
export function* perVimExposition(prefix: string, vims: ReadonlyMap<string, VimSeries>): Generator<string> {
  for (const family of FAMILIES) {
    const name = prefix + family.name;
    let chunk = `\n# HELP ${name} ${family.help}\n# TYPE ${name} gauge\n`;
    let inChunk = 0;
    for (const [vimId, vim] of vims) {
      chunk += family.lines(name, labelValue(vimId), vim);
      if (++inChunk === VIMS_PER_CHUNK) {
        if (chunk !== '') yield chunk;
        chunk = '';
        inChunk = 0;
      }
    }
    if (chunk !== '') yield chunk;
  }
}

/** As prom-client escapes a label value: backslash, newline, double quote. */
function labelValue(value: string): string {
  return /[\\\n"]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : value;
}

/** As prom-client writes a value. */
function sampleValue(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return String(value);
}
