/**
 * Micro benchmark (not a test): the JavaScript cost of one VIM round
 * (icmp + api) on the native probe engine, at N VIMs on loopback.
 *
 *   npx tsc -p tsconfig.bench.json && \
 *   VIM_MONITOR_PROBE_ENGINE=$PWD/native/probe-engine/build/Release/probe_engine.node \
 *   node dist-bench/bench/probe-engine-js-cost.js [N=10000] [rounds=3] [perTick=250] [tickMs=250]
 *
 * Rounds are started as the round scheduler starts them: `perTick` VIMs per
 * tick (one macrotask), all on that tick's deadline() signal, a tick every
 * `tickMs` (10,000 VIMs at an interval of 10 s: 250 every 250 ms; 0: back to
 * back, a stress test of bursts). The CPU of the main (JavaScript) thread
 * and of all other threads (the engine's, V8's helpers: all named 'node')
 * are read apart from /proc/self/task (Linux clock ticks, 10 ms), over
 * whole rounds; round 0 (JIT warm-up, targets defined) is not counted. The HTTP
 * server answering the api probe runs in a child process, so its CPU is not
 * counted. Every address is on loopback: ICMP to 127.0.0.0/8, HTTP to
 * 127.0.0.1 on several ports (so TIME_WAIT does not pile up on one tuple).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { ApiProbe } from '../src/probes/api.js';
import { loadNativeBinding } from '../src/probes/engine/native-binding.js';
import { NativePinger } from '../src/probes/engine/native-pinger.js';
import { ProbeEngine } from '../src/probes/engine/probe-engine.js';
import { IcmpProbe } from '../src/probes/icmp.js';
import type { ProbeTarget } from '../src/probes/probe.js';
import { deadline } from '../src/time/deadline.js';

const [n = 10_000, rounds = 3, perTick = 250, tickMs = 250] = process.argv.slice(2).map(Number);
const PORTS = 8;

const SERVER = `
const http = require('node:http');
const ports = [];
let open = ${PORTS};
for (let i = 0; i < ${PORTS}; i++) {
  const s = http.createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2, connection: 'close' }).end('{}'));
  s.listen(0, '127.0.0.1', () => { ports.push(s.address().port); if (--open === 0) process.stdout.write(ports.join(',') + '\\n'); });
}`;

/** CPU ticks of the main (JavaScript) thread, and of all others: the engine's, V8's helpers (GC), libuv's. They all carry the name 'node'. */
function threadTicks(): { main: number; others: number } {
  let main = 0;
  let others = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    if (Number(tid) === process.pid) main += ticks;
    else others += ticks;
  }
  return { main, others };
}

async function main(): Promise<void> {
  const loaded = loadNativeBinding();
  if (!loaded.ok) throw new Error(loaded.reason);
  const server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ports = await new Promise<number[]>((resolve) => server.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim().split(',').map(Number))));
  const engine = new ProbeEngine(loaded.binding);
  const icmp = new IcmpProbe({ pinger: new NativePinger(engine) });
  const api = new ApiProbe({ engine });
  const targets: ProbeTarget[] = Array.from({ length: n }, (_, i) => {
    const port = ports[i % PORTS] as number;
    return {
      vimId: `vim-${i}`,
      type: 'openstack',
      authUrl: `http://127.0.0.1:${port}/v3`,
      host: `127.${(i >> 16) & 255}.${(i >> 8) & 255}.${(i & 255) || 1}`,
      port,
      tls: { verify: true },
      credentials: {},
      project: { name: 'p' },
    };
  });
  // ICMP goes to the host, HTTP to the auth_url: here host is a 127/8 address for the ping, the URL the server's.
  const ok = { icmp: 0, api: 0 };
  const failures = new Map<string, number>();
  const failed = (reason: string) => {
    const kind = reason.replace(/\d+/g, '#');
    failures.set(kind, (failures.get(kind) ?? 0) + 1);
  };
  const perRound: Array<{ mainMs: number; otherThreadsMs: number; wallMs: number }> = [];
  for (let round = 0; round < rounds + 1; round += 1) {
    const before = threadTicks();
    const started = performance.now();
    const pending: Promise<unknown>[] = [];
    for (let first = 0; first < n; first += perTick) {
      const tick = deadline(3000);
      for (let i = first; i < Math.min(n, first + perTick); i += 1) {
        const target = targets[i] as ProbeTarget;
        pending.push(icmp.check(target, tick.signal).then((o) => (o.ok ? void (ok.icmp += 1) : failed(o.reason))));
        pending.push(api.check(target, tick.signal).then((o) => (o.ok ? void (ok.api += 1) : failed(o.reason))));
      }
      await new Promise((resolve) => (tickMs > 0 ? setTimeout(resolve, tickMs) : setImmediate(resolve)));
    }
    await Promise.all(pending);
    const after = threadTicks();
    // Round 0 warms the JIT and defines every target: not counted.
    if (round > 0) {
      perRound.push({ mainMs: (after.main - before.main) * 10, otherThreadsMs: (after.others - before.others) * 10, wallMs: Math.round(performance.now() - started) });
    }
  }
  const sum = perRound.reduce((a, r) => ({ mainMs: a.mainMs + r.mainMs, otherThreadsMs: a.otherThreadsMs + r.otherThreadsMs }), { mainMs: 0, otherThreadsMs: 0 });
  const perVimRound = (ms: number) => ((ms * 1000) / (n * perRound.length)).toFixed(1);
  console.log(
    JSON.stringify({
      vims: n,
      rounds: perRound.length,
      perTick,
      ok: { icmp: ok.icmp / (rounds + 1), api: ok.api / (rounds + 1) },
      jsUsPerVimRound: perVimRound(sum.mainMs),
      otherThreadsUsPerVimRound: perVimRound(sum.otherThreadsMs),
      perRound,
      engine: engine.stats(),
      failures: Object.fromEntries(failures),
    }),
  );
  engine.close();
  server.kill();
}

void main();
