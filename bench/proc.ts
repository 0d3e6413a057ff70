/**
 * CPU and memory of a process from /proc, as the kernel accounts them.
 *
 * CPU is utime + stime of the process itself plus cutime + cstime: the CPU of
 * its children that it has waited for. Node reaps every child it spawns, so
 * for vim-monitor this includes every fping process that has exited.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let clockTicks: number | undefined;

/** Clock ticks per second of /proc/<pid>/stat (CLK_TCK, 100 on Linux almost everywhere). */
export function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export interface CpuTimes {
  /** Seconds of CPU the process used itself. */
  self: number;
  /** Seconds of CPU of its children that have exited and been waited for. */
  children: number;
}

/** CPU seconds of a process ('self' for this one) and of its reaped children. */
export function cpuTimes(pid: number | 'self'): CpuTimes {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces and parentheses: fields are counted from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const field = (n: number) => Number(fields[n - 3]);
  const tck = ticksPerSecond();
  return { self: (field(14) + field(15)) / tck, children: (field(16) + field(17)) / tck };
}

export const totalCpu = (times: CpuTimes): number => times.self + times.children;

export interface Memory {
  /** Resident set size now, MB. */
  rssMb: number;
  /** Peak resident set size since the process started (VmHWM), MB. */
  peakRssMb: number;
}

export function memory(pid: number | 'self'): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}

export interface CpuSample {
  /** Monotonic ms. */
  at: number;
  cpu: number;
  rssMb: number;
}

/**
 * Samples a process's total CPU (self + reaped children) and RSS every
 * `everyMs` until stopped; gives the average over any span and the busiest
 * span of a given length.
 */
export class CpuSampler {
  readonly samples: CpuSample[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pid: number, private readonly everyMs = 1000) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    return this;
  }

  stop(): CpuSample | undefined {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    return this.sample();
  }

  /** Highest CPU % of one core over any `spanMs` between samples. */
  busiest(spanMs: number): number | undefined {
    let best: number | undefined;
    let from = 0;
    for (let to = 0; to < this.samples.length; to++) {
      const end = this.samples[to]!;
      while (from < to && end.at - this.samples[from + 1]!.at >= spanMs) from += 1;
      const start = this.samples[from]!;
      if (end.at - start.at < spanMs * 0.9) continue;
      const percent = ((end.cpu - start.cpu) / ((end.at - start.at) / 1000)) * 100;
      if (best === undefined || percent > best) best = percent;
    }
    return best;
  }

  private sample(): CpuSample | undefined {
    try {
      const sample = { at: performance.now(), cpu: totalCpu(cpuTimes(this.pid)), rssMb: memory(this.pid).rssMb };
      this.samples.push(sample);
      return sample;
    } catch {
      return undefined; // the process is gone
    }
  }
}
