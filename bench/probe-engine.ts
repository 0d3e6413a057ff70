/**
 * The probe engine a measured vim-monitor process runs (issue 13): the
 * native addon or the Node.js drivers (fping and node:http). The only
 * place that knows how the service is told: change ENGINE_SETTING here if
 * the service's setting is named otherwise.
 */

/** The benchmark's names for the engines; passed to the service as they are. */
export const ENGINES = ['native', 'node', 'auto'] as const;
export type ProbeEngine = (typeof ENGINES)[number];

/**
 * VIM_MONITOR_<this> selects the engine: the config key monitor.probe_engine
 * (auto | native | node; native refuses to start without the addon). A
 * service that does not know the key ignores the variable and runs its
 * Node.js drivers, which the table then shows as "not reported".
 */
export const ENGINE_SETTING = 'MONITOR_PROBE_ENGINE';

/** The VIM_MONITOR_* settings (prefix left out, as startVimMonitor takes them) that select `engine`. */
export function engineSettings(engine: ProbeEngine): Record<string, string> {
  return { [ENGINE_SETTING]: engine };
}

/**
 * The engine a running service says it uses, if it says so: a field
 * `probe_engine` (or `engine`) of GET /v1.0/manager, else the `probe_engine`
 * field of the start-up log line that names it (logged at info when all is
 * as asked, which the benchmark's log level warn drops; at warn when the
 * service falls back). undefined when neither says.
 */
export function reportedEngine(manager: object, logText = ''): string | undefined {
  const record = manager as Record<string, unknown>;
  const value = record['probe_engine'] ?? record['engine'];
  if (typeof value === 'string') return value;
  for (const line of logText.split('\n')) {
    if (!line.startsWith('{') || !line.includes('"probe_engine"')) continue;
    try {
      const entry = JSON.parse(line) as { probe_engine?: unknown; msg?: unknown };
      if (typeof entry.probe_engine === 'string') return typeof entry.msg === 'string' ? `${entry.probe_engine} (${entry.msg})` : entry.probe_engine;
    } catch {
      // not a log line
    }
  }
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
