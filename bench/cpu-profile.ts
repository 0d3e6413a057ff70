/**
 * Where a vim-monitor process spends its (JavaScript thread's) CPU: a
 * summary of a V8 .cpuprofile written by `node --cpu-prof`, by function and
 * by area (vim-monitor's own modules, each dependency, Node internals, GC).
 * It does not see fping's CPU (other processes) nor libuv's thread pool.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface ProfileSummary {
  file: string;
  sampledSeconds: number;
  /** Share of samples (%) by area, busiest first; '(idle)' excluded from the shares. */
  areas: Array<{ area: string; percent: number }>;
  functions: Array<{ fn: string; percent: number }>;
}

function area(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dependency) return dependency[1]!;
  const own = /\/dist\/([^/]+)\//.exec(url);
  if (own) return `vim-monitor ${own[1]}/`;
  if (url.startsWith('node:')) return `node ${url.slice(5).split('/')[0]}`;
  return url;
}

export function summarizeProfile(file: string, top = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; startTime: number; endTime: number };
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busy = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') continue;
    busy += hits;
    const a = area(url, functionName);
    byArea.set(a, (byArea.get(a) ?? 0) + hits);
    const where = url === '' ? '' : ` ${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}`;
    const fn = `${functionName || '(anonymous)'}${where}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + hits);
  }
  const shares = (map: Map<string, number>) =>
    [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([key, hits]) => ({ key, percent: busy === 0 ? 0 : Math.round((hits / busy) * 1000) / 10 }));
  return {
    file,
    sampledSeconds: (profile.endTime - profile.startTime) / 1e6,
    areas: shares(byArea).map(({ key, percent }) => ({ area: key, percent })),
    functions: shares(byFunction).map(({ key, percent }) => ({ fn: key, percent })),
  };
}

/** The newest .cpuprofile in a directory. */
export function newestProfile(dir: string): string | undefined {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  return files.length === 0 ? undefined : join(dir, files[files.length - 1]!);
}
