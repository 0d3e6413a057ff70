/**
 * Scripted probes, for benchmarks and tests only: every probe of the process
 * answers from a script instead of the network, so that thousands of VIMs
 * that cannot exist here still drive the real monitors, leases, heartbeats,
 * confirmation, events and history through the real store. No packet is
 * sent. Turned on only by the process's own configuration
 * (`probes.simulate_file`), never through the API.
 *
 * The answer is a pure function of (script, VIM id, probe, wall-clock time),
 * so every worker of a shared database, and a confirming worker asked for a
 * second opinion, sees the same VIM down at the same moment.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import type { Logger } from 'pino';
import { ConfigurationError } from '../errors.js';
import { PROBE_NAMES, type Probe, type ProbeName, type ProbeOutcome, type ProbeTarget } from './probe.js';

/** One scripted outage pattern: a share of the VIMs, each down for `down` seconds of every `period`, phases spread. */
export interface ScriptedOutage {
  /** Fraction of all VIMs (0..1) in this pattern; the shares of several patterns are disjoint. */
  share: number;
  /** Epoch ms (or an ISO 8601 time) before which these VIMs are up. */
  start: number | string;
  /** Seconds of one down-and-up cycle. */
  period: number;
  /** Seconds of each cycle a VIM is down. */
  down: number;
  /** Probes that fail while down (default: all of them, as for a host that is gone). */
  probes?: ProbeName[];
}

export interface ProbeScript {
  /** Mixed into every hash: another seed picks other VIMs and other phases. */
  seed?: string;
  /** Latency answered for an up check: [min, max] ms, pseudo-random per VIM and second (default [1, 5]). */
  latency_ms?: [number, number];
  outages?: ScriptedOutage[];
}

const scriptSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    seed: { type: 'string' },
    latency_ms: { type: 'array', items: { type: 'number', minimum: 0 }, minItems: 2, maxItems: 2 },
    outages: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['share', 'start', 'period', 'down'],
        properties: {
          share: { type: 'number', minimum: 0, maximum: 1 },
          start: { type: ['number', 'string'] },
          period: { type: 'number', exclusiveMinimum: 0 },
          down: { type: 'number', minimum: 0 },
          probes: { type: 'array', items: { enum: [...PROBE_NAMES] } },
        },
      },
    },
  },
} as const;

interface CompiledOutage {
  from: number;
  to: number;
  startMs: number;
  periodMs: number;
  downMs: number;
  probes: ReadonlySet<ProbeName>;
}

/** 32-bit FNV-1a: cheap, stable across processes and Node versions. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

const unit = (text: string): number => fnv1a(text) / 2 ** 32;

/** Checks a script and turns it into the answering function's terms; problems become a ConfigurationError naming `source`. */
export function compileScript(script: unknown, source: string): { answer: (vimId: string, probe: ProbeName, nowMs: number) => ProbeOutcome; describe: string } {
  const validate = new Ajv({ strict: true, allowUnionTypes: true, allErrors: false }).compile(scriptSchema);
  if (!validate(script)) {
    const error = validate.errors?.[0];
    throw new ConfigurationError(`probe script ${source} is invalid: ${error?.instancePath || '(root)'} ${error?.message ?? ''}`.trim());
  }
  const parsed = script as ProbeScript;
  const seed = parsed.seed ?? '';
  const [minLatency, maxLatency] = parsed.latency_ms ?? [1, 5];
  if (maxLatency < minLatency) throw new ConfigurationError(`probe script ${source} is invalid: latency_ms must be [min, max]`);
  let from = 0;
  const outages: CompiledOutage[] = (parsed.outages ?? []).map((o, i) => {
    const startMs = typeof o.start === 'number' ? o.start : Date.parse(o.start);
    if (Number.isNaN(startMs)) throw new ConfigurationError(`probe script ${source} is invalid: outages[${i}].start is not a time`);
    if (o.down > o.period) throw new ConfigurationError(`probe script ${source} is invalid: outages[${i}].down is longer than its period`);
    const compiled = { from, to: from + o.share, startMs, periodMs: o.period * 1000, downMs: o.down * 1000, probes: new Set(o.probes ?? PROBE_NAMES) };
    from += o.share;
    return compiled;
  });
  if (from > 1 + 1e-9) throw new ConfigurationError(`probe script ${source} is invalid: the outage shares add up to more than 1`);

  const answer = (vimId: string, probe: ProbeName, nowMs: number): ProbeOutcome => {
    const u = unit(`${seed}/${vimId}`);
    const outage = outages.find((o) => u >= o.from && u < o.to);
    if (outage && outage.probes.has(probe)) {
      // Each VIM's first outage begins at its own phase after start, so outages spread evenly over a period instead of all at once.
      const elapsed = nowMs - outage.startMs - unit(`${seed}#${vimId}`) * outage.periodMs;
      if (elapsed >= 0 && elapsed % outage.periodMs < outage.downMs) return { ok: false, reason: `scripted outage: ${probe} gets no answer` };
    }
    const latencyMs = Math.round((minLatency + unit(`${seed}:${vimId}:${Math.floor(nowMs / 1000)}`) * (maxLatency - minLatency)) * 100) / 100;
    return { ok: true, latencyMs, reason: `scripted: ${probe} answered`, ...(probe === 'auth' && { regions: ['RegionOne'] }) };
  };
  const shares = outages.map((o) => `${Math.round((o.to - o.from) * 1e4) / 100} % down ${o.downMs / 1000} s of every ${o.periodMs / 1000} s`);
  return { answer, describe: shares.length > 0 ? shares.join('; ') : 'every VIM up' };
}

/** One probe of the given name, answering from the script. */
class ScriptedProbe implements Probe {
  constructor(
    readonly name: ProbeName,
    private readonly answer: (vimId: string, probe: ProbeName, nowMs: number) => ProbeOutcome,
    private readonly now: () => number,
  ) {}

  check(target: ProbeTarget): Promise<ProbeOutcome> {
    return Promise.resolve(this.answer(target.vimId, this.name, this.now()));
  }
}

export interface ScriptedProbesOptions {
  /** Path of the JSON script (`probes.simulate_file`). */
  file: string;
  logger: Logger;
  /** Wall clock, epoch ms (tests pass their own). */
  now?: () => number;
}

/** Reads the script and makes one scripted probe per probe name; says loudly in the log that the probes are not real. */
export function createScriptedProbes(options: ScriptedProbesOptions): Probe[] {
  let text: string;
  try {
    text = readFileSync(options.file, 'utf8');
  } catch (error) {
    throw new ConfigurationError(`cannot read probe script ${options.file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let script: unknown;
  try {
    script = JSON.parse(text);
  } catch {
    throw new ConfigurationError(`probe script ${options.file} is not valid JSON`);
  }
  const { answer, describe } = compileScript(script, options.file);
  options.logger.warn(
    { simulate_file: options.file, script: describe },
    'PROBES ARE SIMULATED (probes.simulate_file): no VIM is checked, every status comes from a script; for benchmarks and tests only',
  );
  const now = options.now ?? Date.now;
  return PROBE_NAMES.map((name) => new ScriptedProbe(name, answer, now));
}
