import type { Logger } from 'pino';
import { ConfigurationError } from '../../errors.js';
import { loadNativeBinding, type LoadResult } from './native-binding.js';
import { ProbeEngine } from './probe-engine.js';

/** monitor.probe_engine: the native engine when it can run (auto), always (native), or never (node). */
export const PROBE_ENGINE_SETTINGS = ['auto', 'native', 'node'] as const;
export type ProbeEngineSetting = (typeof PROBE_ENGINE_SETTINGS)[number];

export interface EngineChoice {
  /** The engine, when ICMP or HTTP runs on it. */
  engine: ProbeEngine | undefined;
  /** ICMP echo on the engine (a family it cannot ping still goes to fping). */
  icmp: boolean;
  /** The api probe's exchanges on the engine. */
  http: boolean;
}

const NODE: EngineChoice = { engine: undefined, icmp: false, http: false };

/**
 * Decides, once at start, which engine runs the icmp and api probes, and
 * says so in ONE log line (with the reason when auto falls back to the
 * Node.js drivers). ICMP and HTTP fall back separately: without a raw socket
 * or ping_group_range, ICMP stays on fping while HTTP runs natively.
 * `native` fails the start with a ConfigurationError instead of falling back.
 */
export function chooseProbeEngine(setting: ProbeEngineSetting, logger: Logger, load: () => LoadResult = loadNativeBinding): EngineChoice {
  if (setting === 'node') {
    logger.info({ probe_engine: 'node' }, 'probe engine: Node.js drivers (monitor.probe_engine is node): ICMP by fping, HTTP by node:http');
    return NODE;
  }
  const loaded = load();
  let engine: ProbeEngine | undefined;
  let unavailable = loaded.ok ? undefined : loaded.reason;
  if (loaded.ok) {
    try {
      engine = new ProbeEngine(loaded.binding);
    } catch (error) {
      unavailable = `the native probe engine at ${loaded.path} did not start: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
  if (engine === undefined) {
    if (setting === 'native') throw new ConfigurationError(`monitor.probe_engine is native, but ${unavailable ?? 'the native probe engine is unavailable'}; build it with npm run build:native, or set monitor.probe_engine to auto`);
    logger.warn({ probe_engine: 'node', reason: unavailable }, `probe engine: Node.js drivers (fping, node:http), because ${unavailable ?? 'the native probe engine is unavailable'}`);
    return NODE;
  }
  const { ipv4, ipv6, reason } = engine.icmp;
  const icmp = ipv4 !== 'none' || ipv6 !== 'none';
  const partial = icmp && (ipv4 === 'none' || ipv6 === 'none');
  const noIcmp = reason ?? 'no raw socket (CAP_NET_RAW) and ping_group_range excludes this group';
  if (!icmp && setting === 'native') {
    engine.close();
    throw new ConfigurationError(`monitor.probe_engine is native, but the native probe engine cannot send ICMP: ${noIcmp}; set monitor.probe_engine to auto to ping with fping instead`);
  }
  const fields = { probe_engine: 'native', version: engine.version, icmp: { ipv4, ipv6 } };
  if (!icmp) logger.warn(fields, `probe engine: native for HTTP; ICMP by fping, because the engine cannot send ICMP: ${noIcmp}`);
  else if (partial) logger.warn(fields, `probe engine: native (IPv${ipv4 === 'none' ? 4 : 6} ICMP by fping, because ${noIcmp})`);
  else logger.info(fields, 'probe engine: native (ICMP and HTTP)');
  return { engine, icmp, http: true };
}
