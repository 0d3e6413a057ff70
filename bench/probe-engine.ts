/**
 * The probe engine a measured vim-monitor process runs (issue 13): the
 * native addon or the Node.js drivers (fping and node:http). The only
 * place that knows how the service is told: change ENGINE_SETTING here if
 * the service's setting is named otherwise.
 */

/** The benchmark's names for the engines; passed to the service as they are. */
export const ENGINES = ['native', 'node'] as const;
export type ProbeEngine = (typeof ENGINES)[number];

/** VIM_MONITOR_<this> selects the engine (the config key probes.engine). */
export const ENGINE_SETTING = 'PROBES_ENGINE';

/** The VIM_MONITOR_* settings (prefix left out, as startVimMonitor takes them) that select `engine`. */
export function engineSettings(engine: ProbeEngine): Record<string, string> {
  return { [ENGINE_SETTING]: engine };
}

/**
 * The engine a running service says it uses, if it says so: a field
 * `engine` (or `probe_engine`) of GET /v1.0/manager. undefined when the
 * service does not report one, so the table can say the choice is not
 * confirmed.
 */
export function reportedEngine(manager: object): string | undefined {
  const record = manager as Record<string, unknown>;
  const value = record['engine'] ?? record['probe_engine'];
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as Record<string, unknown>)['name'] === 'string') return (value as Record<string, string>)['name'];
  return undefined;
}

export function parseEngines(list: string): ProbeEngine[] {
  const engines = list.split(',').map((e) => e.trim()).filter((e) => e !== '');
  for (const engine of engines) {
    if (!(ENGINES as readonly string[]).includes(engine)) throw new Error(`--engine takes ${ENGINES.join(', ')}, not '${engine}'`);
  }
  if (engines.length === 0) throw new Error('--engine needs at least one engine');
  return [...new Set(engines)] as ProbeEngine[];
}
