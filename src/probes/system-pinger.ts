import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { FpingBatcher, type FpingBatcherOptions } from './fping-batcher.js';
import { IputilsPinger } from './iputils-ping.js';
import type { Pinger, PingerStats, PingReply } from './pinger.js';

export interface SystemPingerOptions extends Omit<FpingBatcherOptions, 'fpingPath'> {
  /** Logs once which tool is used when it is not fping. */
  logger?: Logger;
  /** fping executable: a name looked up in PATH (default 'fping'), a path, or null to act as if it were missing. */
  fping?: string | null;
  /** iputils ping executable, same rules (default 'ping'). */
  ping?: string | null;
}

// Services often run with a short PATH; Debian puts fping in /usr/bin and ping in /usr/bin or /bin.
const STANDARD_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The executable's path, or undefined when there is none. */
export function findExecutable(name: string): string | undefined {
  const candidates = name.includes('/') ? [name] : [...(process.env.PATH ?? '').split(path.delimiter), ...STANDARD_DIRS].filter(Boolean).map((dir) => path.join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

const NO_TOOL_REASON = 'no ICMP tool: neither fping nor iputils ping is installed (install the Debian package fping)';

export type IcmpTool = { tool: 'fping' | 'ping'; path: string } | { tool: 'none' };

/** Which ICMP tool this machine offers: fping, else iputils ping, else none. */
export function detectIcmpTool(names: { fping?: string | null; ping?: string | null } = {}): IcmpTool {
  const { fping = 'fping', ping = 'ping' } = names;
  const fpingPath = fping === null ? undefined : findExecutable(fping);
  if (fpingPath) return { tool: 'fping', path: fpingPath };
  const pingPath = ping === null ? undefined : findExecutable(ping);
  if (pingPath) return { tool: 'ping', path: pingPath };
  return { tool: 'none' };
}

// Per logger, so the start-up check and the first ping of the same process say it once between them.
const reported = new WeakMap<Logger, Set<IcmpTool['tool']>>();

/** Warns, once per logger and tool, when the ICMP tool is not fping, with the fix. */
export function reportIcmpTool(found: IcmpTool, logger: Logger | undefined): void {
  if (!logger || found.tool === 'fping') return;
  const said = reported.get(logger) ?? new Set();
  if (said.has(found.tool)) return;
  said.add(found.tool);
  reported.set(logger, said);
  if (found.tool === 'ping') {
    logger.warn(
      { ping: found.path },
      'fping not found: ICMP checks fall back to one iputils ping process per address; install the Debian package fping (apt-get install fping)',
    );
  } else {
    logger.error(
      'neither fping nor iputils ping found: every ICMP check fails and VIMs probed with icmp turn UNREACHABLE; install the Debian package fping (apt-get install fping)',
    );
  }
}

/**
 * The start-up check of a process whose monitors run the icmp probe: says at
 * once, in the log, what would otherwise only show as UNREACHABLE VIMs.
 */
export function checkIcmpTool(logger: Logger, names: { fping?: string | null; ping?: string | null } = {}): IcmpTool {
  const found = detectIcmpTool(names);
  reportIcmpTool(found, logger);
  return found;
}

/**
 * The pinger of a vim-monitor process: fping batches when fping is installed,
 * otherwise iputils ping per address, otherwise none (every ICMP check fails
 * with a reason saying so). The choice is made once, at the first ping, and
 * logged once when it is not fping.
 */
export class SystemPinger implements Pinger {
  private chosen: Pinger | null | undefined;
  private requestsWithoutTool = 0;

  constructor(private readonly options: SystemPingerOptions = {}) {}

  ping(address: string, timeoutMs: number, signal: AbortSignal): Promise<PingReply> {
    const pinger = this.pinger();
    if (!pinger) {
      this.requestsWithoutTool += 1;
      return Promise.resolve({ alive: false, reason: NO_TOOL_REASON });
    }
    return pinger.ping(address, timeoutMs, signal);
  }

  stats(): PingerStats {
    if (this.chosen) return this.chosen.stats();
    const tool = this.chosen === null ? 'none' : 'undetected';
    return { tool, requests: this.requestsWithoutTool, batches: 0, addressesPinged: 0, processesSpawned: 0 };
  }

  async close(): Promise<void> {
    await this.chosen?.close();
  }

  private pinger(): Pinger | null {
    if (this.chosen !== undefined) return this.chosen;
    const { logger, fping, ping, ...batching } = this.options;
    const found = detectIcmpTool({ ...(fping !== undefined && { fping }), ...(ping !== undefined && { ping }) });
    reportIcmpTool(found, logger);
    if (found.tool === 'fping') this.chosen = new FpingBatcher({ ...batching, fpingPath: found.path });
    else if (found.tool === 'ping') this.chosen = new IputilsPinger(found.path);
    else this.chosen = null;
    return this.chosen;
  }
}
