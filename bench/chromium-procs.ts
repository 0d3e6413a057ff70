/**
 * The Chromium processes this benchmark launched, found in /proc as
 * descendants of this process, and their memory as the kernel accounts it:
 * RSS (counts pages shared between Chromium's processes once per process)
 * and PSS (shares them out, so the sum is what the browser really holds).
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ChromiumMemory {
  /** Renderer processes of web pages (`--type=renderer`, not Chromium's own WebUI): where the page's DOM and JavaScript live. */
  renderers: number;
  renderer_rss_mb: number;
  renderer_pss_mb: number | null;
  /** Every Chromium process: browser, GPU (software), network and storage services, renderers. */
  processes: number;
  total_rss_mb: number;
  total_pss_mb: number | null;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // the process ended meanwhile
  }
}

function parentOf(pid: number): number | undefined {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // The command name may contain spaces and parentheses: fields are counted from the last ')'.
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

function kb(text: string | undefined, key: string): number | undefined {
  const match = text && new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

/** Pids of the descendants of `root` (this process by default). */
function descendants(root = process.pid): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const parent = parentOf(pid);
    if (parent === undefined) continue;
    children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

export function chromiumMemory(): ChromiumMemory {
  let renderers = 0;
  let processes = 0;
  let rendererRss = 0;
  let rendererPss: number | null = 0;
  let totalRss = 0;
  let totalPss: number | null = 0;
  for (const pid of descendants()) {
    // Processes forked from the zygote rewrite their command line into one space-separated string.
    const cmdline = read(`/proc/${pid}/cmdline`)?.replaceAll('\0', ' ') ?? '';
    if (!/^\S*chrom/i.test(cmdline)) continue;
    const rss = kb(read(`/proc/${pid}/status`), 'VmRSS');
    if (rss === undefined) continue;
    // smaps_rollup needs Linux 4.14 and ptrace access to the process (we are its ancestor).
    const pss = kb(read(`/proc/${pid}/smaps_rollup`), 'Pss');
    processes += 1;
    totalRss += rss;
    totalPss = pss === undefined || totalPss === null ? null : totalPss + pss;
    if (cmdline.includes('--type=renderer') && !cmdline.includes('--top-chrome-webui') && !cmdline.includes('--extension-process')) {
      renderers += 1;
      rendererRss += rss;
      rendererPss = pss === undefined || rendererPss === null ? null : rendererPss + pss;
    }
  }
  const mb = (k: number | null) => (k === null ? null : Math.round(k / 102.4) / 10);
  return {
    renderers,
    renderer_rss_mb: mb(rendererRss)!,
    renderer_pss_mb: mb(rendererPss),
    processes,
    total_rss_mb: mb(totalRss)!,
    total_pss_mb: mb(totalPss),
  };
}
