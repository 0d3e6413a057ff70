/**
 * How much memory the history recorder keeps for 10,000 VIMs with two
 * probes at the worst moment (late in the UTC day, every hour of it filled,
 * an hour's latencies in the histograms). Not a timed test: run it with
 * `npm run build && tsc -p tsconfig.bench.json && node --expose-gc dist-bench/bench/history-memory.js`.
 */
import { pino } from 'pino';
import { HistoryRecorder } from '../src/history/recorder.js';
import { DAY_MS } from '../src/history/model.js';

const VIMS = Number(process.env.VIMS ?? 10_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

function used(): number {
  gc!();
  gc!();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

const start = 20_500 * DAY_MS;
let nowMs = start;
const recorder = new HistoryRecorder(
  { flushIntervalMs: 60_000, hourEndGraceMs: 13_000 },
  { store: { read: async () => [], save: async () => [] }, clock: { now: () => new Date(nowMs) }, logger: pino({ level: 'silent' }) },
);
const ids = Array.from({ length: VIMS }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
// The ids are the monitors' own strings: not counted.
const monitorIds = ids.map((_, i) => `monitor-${i}`);
const before = used();
const handles = ids.map((id, i) => recorder.track(id, monitorIds[i]!, 'tenant'));
const timing = { interval: 600, timeout: 3 };
// One round per VIM every 10 minutes over 24 hours: every hour present; a spread of latencies fills histogram buckets.
for (let at = start; at < start + DAY_MS - 1; at += 600_000) {
  nowMs = at;
  for (let i = 0; i < VIMS; i++) {
    const handle = handles[i]!;
    handle.checked('icmp', true, 0.5 + ((i + at / 600_000) % 17) * 0.3, at + i);
    handle.checked('api', i % 50 !== 0, 20 + ((i * 7 + at / 600_000) % 23) * 4, at + i);
    handle.roundEnded(i % 10 === 0 ? 'UNREACHABLE' : 'REACHABLE', at + i, timing, i % 97 === 0);
  }
}
const after = used();
console.log(JSON.stringify({ ...recorder.stats(), handles: handles.length, bytes: after - before, bytes_per_vim: Math.round((after - before) / VIMS), mb: +((after - before) / 1e6).toFixed(1) }));

// Just after midnight, before the flush that writes the old day: two days per VIM for a moment.
nowMs = start + DAY_MS + 60_000;
for (let i = 0; i < VIMS; i++) {
  handles[i]!.checked('icmp', true, 1, nowMs + i);
  handles[i]!.roundEnded('REACHABLE', nowMs + i, { interval: 600, timeout: 3 }, false);
}
const midnight = used();
console.log(JSON.stringify({ ...recorder.stats(), moment: 'after midnight, before the flush', bytes: midnight - before, mb: +((midnight - before) / 1e6).toFixed(1) }));
