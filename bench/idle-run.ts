/**
 * An idle service (issue 13): `vim-monitor serve` on an empty SQLite
 * database, no VIM, left to settle, then its CPU (self and reaped children)
 * over a window. What it spends here (timers, sweeps, heartbeats, metrics)
 * it spends at every size on top of the probes.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MONITOR_SETTINGS, NO_DEEP_INTERVAL } from './monitoring-run.js';
import { engineSettings, reportedEngine, type ProbeEngine } from './probe-engine.js';
import { CpuSampler, memory } from './proc.js';
import { round, sleep } from './util.js';
import { logMessages, startVimMonitor } from './vim-monitor.js';

export interface IdleRunResult {
  engine: ProbeEngine;
  reported_engine: string | null;
  settle_seconds: number;
  seconds: number;
  cpu_seconds: number;
  cpu_percent: number;
  peak_rss_mb: number;
  log_warnings: Record<string, number>;
}

export interface IdleRunOptions {
  cli: string;
  workDir: string;
  engine: ProbeEngine;
  settleSeconds: number;
  durationSeconds: number;
  nodeArgs: string[];
  log: (line: string) => void;
}

export async function runIdle(options: IdleRunOptions): Promise<IdleRunResult> {
  const s = MONITOR_SETTINGS;
  mkdirSync(options.workDir, { recursive: true });
  const p = await startVimMonitor({
    cli: options.cli,
    name: 'idle',
    workDir: options.workDir,
    settings: {
      DATABASE_URL: `sqlite:${join(options.workDir, 'vim-monitor.db')}`,
      SECRETS_KEY_FILE: join(options.workDir, 'secret.key'),
      MONITOR_PROBES: 'icmp,api',
      MONITOR_INTERVAL: s.interval,
      MONITOR_TIMEOUT: s.timeout,
      HEALTH_DEEP_INTERVAL: NO_DEEP_INTERVAL,
      ...engineSettings(options.engine),
    },
    nodeArgs: options.nodeArgs,
  });
  try {
    const manager = await p.api.manager();
    // Start-up work (migrations, the first sweeps, JIT) is not what an idle service costs.
    await sleep(options.settleSeconds * 1000);
    const sampler = new CpuSampler(p.pid, 5000).start();
    const first = sampler.samples[0]!;
    await sleep(options.durationSeconds * 1000);
    const end = sampler.stop() ?? first;
    const seconds = (end.at - first.at) / 1000;
    const cpuSeconds = end.cpu - first.cpu;
    const peak = memory(p.pid).peakRssMb;
    await p.stop();
    const logText = readFileSync(p.child.logFile, 'utf8');
    const result: IdleRunResult = {
      engine: options.engine,
      reported_engine: reportedEngine(manager, logText) ?? null,
      settle_seconds: options.settleSeconds,
      seconds: round(seconds, 1),
      cpu_seconds: round(cpuSeconds, 3),
      cpu_percent: round((cpuSeconds / seconds) * 100, 3),
      peak_rss_mb: round(peak, 1),
      log_warnings: logMessages(logText),
    };
    options.log(`  idle: ${result.cpu_percent} % of a core over ${result.seconds} s, peak RSS ${result.peak_rss_mb} MB`);
    return result;
  } finally {
    await p.stop();
  }
}
