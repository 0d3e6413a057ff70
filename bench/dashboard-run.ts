/**
 * The dashboard at 10,000 VIMs (issue 12), measured in Debian's Chromium:
 * how long the overview takes to first show its rows and counts, and how
 * much memory the page holds after minutes of live updates at hundreds of
 * status changes a minute.
 *
 * Everything is real: one `vim-monitor serve` (noauth, SQLite, loopback)
 * monitors the VIMs with the api probe against the simulated clouds of
 * target-server.js on 127.20.0.0/14; a VIM "goes down" when its cloud
 * answers 503 (POST /_bench/outage), so the monitor's own verdicts, stored
 * with their events, are what the page's SSE stream delivers. Each VIM goes
 * down at most once and comes back once, so flap damping never applies.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { CDPSession, Page } from 'playwright-core';
import { launchChromium, type TestBrowser, type TestPage } from '../test/support/browser.js';
import { firstJsonLine, spawnChild, type Child } from './children.js';
import { chromiumMemory, type ChromiumMemory } from './chromium-procs.js';
import { NO_DEEP_INTERVAL } from './monitoring-run.js';
import { loopbackAddresses } from './netns.js';
import { CpuSampler, memory } from './proc.js';
import { nowMs, percentile, pool, round, sleep, waitFor } from './util.js';
import { ApiError, logMessages, startVimMonitor, type VimMonitorProcess } from './vim-monitor.js';

export const DASHBOARD_VIEWPORT = { width: 1280, height: 800 } as const;

export interface DashboardRunOptions {
  /** dist/cli/main.js */
  cli: string;
  /** dist-bench/bench/target-server.js */
  targetServer: string;
  workDir: string;
  vims: number;
  /** Cold first renders, each in a new browser context. */
  coldRuns: number;
  /** Minutes of live updates. */
  minutes: number;
  /** Status changes per minute the outages are paced for (half down, half back up). */
  changesPerMinute: number;
  /** Seconds between memory samples. */
  sampleSeconds: number;
  concurrency: number;
  log: (line: string) => void;
}

/**
 * Lighter than the other phases' settings (interval 10 s, thresholds 3 and
 * 2): on the shared 2-core machine, a serve process starting 10,000 api
 * checks every 10 s did not answer HTTP for minutes, and the dashboard is
 * what is measured here, not the monitors. The pace of status changes does
 * not depend on these, only how long after an outage begins it is seen.
 */
export const DASHBOARD_MONITOR_SETTINGS = { interval: 30, timeout: 5, failure_threshold: 1, success_threshold: 1, batch_window: 0.25 } as const;

/** A VIM stays out of service this long: past the monitor's detection (failure_threshold × interval + timeout). */
const OUTAGE_SECONDS = 60;
/**
 * Outages start this long before the measured window, so that inside it
 * VIMs are both detected down and seen back up at the paced rate (a
 * recovery is seen about OUTAGE_SECONDS + success_threshold × interval after
 * its outage began).
 */
const LEAD_IN_SECONDS = OUTAGE_SECONDS + DASHBOARD_MONITOR_SETTINGS.success_threshold * DASHBOARD_MONITOR_SETTINGS.interval + 10;

export interface FirstRender {
  run: number;
  /** Navigation start to the DOM holding rows and the total count (in-page clock, ms). */
  dom_ms: number;
  /** To the frame after that (two animation frames): the rows painted. */
  painted_ms: number;
  /** From page.goto to the condition seen by the benchmark (includes the CDP round trips). */
  wall_ms: number;
  navigation: { response_end_ms: number; dom_content_loaded_ms: number; load_event_end_ms: number } | null;
  first_contentful_paint_ms: number | null;
  /** The VIM list call: when it ended, how long it took, bytes received (compressed as sent). */
  vim_list_request: { start_ms: number; end_ms: number; duration_ms: number; transfer_kb: number; decoded_kb: number } | null;
  marks: Array<{ name: string; start_ms: number }>;
  js_heap_used_mb: number;
  dom_nodes: number;
}

export interface MemorySample {
  /** Seconds since the live window began (negative: the lead-in). */
  t_s: number;
  js_heap_used_mb: number;
  js_heap_total_mb: number;
  dom_nodes: number;
  js_event_listeners: number;
  chromium: ChromiumMemory;
  service_rss_mb: number;
  /** Status changes the service's stream delivered so far in the window (the benchmark's own SSE client). */
  changes_so_far: number;
  page_unreachable: number | null;
  /** The machine's 1-minute load average (it is shared: other work inflates every figure). */
  load_1m: number;
}

export interface DashboardResult {
  vims: number;
  viewport: typeof DASHBOARD_VIEWPORT;
  chromium: string;
  setup: { registration_s: number; all_reachable_s: number; probes: string; monitor: typeof DASHBOARD_MONITOR_SETTINGS };
  /** 1-minute load average of the machine during the cold runs and the live window (start / max / end). */
  load_1m: { cold_runs: number[]; live: { start: number; max: number; end: number } };
  first_render: {
    runs: FirstRender[];
    dom_ms: { median: number; max: number };
    painted_ms: { median: number; max: number };
    wall_ms: { median: number; max: number };
  };
  live: {
    minutes: number;
    paced_changes_per_minute: number;
    /** How the changes were made: real monitors seeing real 503s (see the module comment). */
    source: string;
    outages_started: number;
    outages_ended: number;
    /** Status changes of the service's SSE stream inside the window, as the benchmark's own client counted them. */
    changes_in_window: number;
    changes_per_minute: number;
    /** Per whole minute of the window. */
    changes_by_minute: number[];
    page_problems: string[];
    page_stayed_live: boolean;
    reloads: number;
    samples: MemorySample[];
    js_heap_used_mb: { start: number; peak: number; end: number; end_after_gc: number; start_after_gc: number };
    renderer_rss_mb: { start: number; peak: number; end: number };
    renderer_pss_mb: { start: number | null; peak: number | null; end: number | null };
    chromium_total_pss_mb: { start: number | null; peak: number | null; end: number | null };
    dom_nodes: { start: number; end: number };
    service: { rss_mb_start: number; rss_mb_peak: number; rss_mb_end: number; cpu_percent: number };
    check: {
      store_unreachable: number;
      page_unreachable: number | null;
      page_reachable: number | null;
      store_reachable: number;
      page_total: number | null;
      settled_s: number;
      matches: boolean;
    };
  };
  target_requests: Record<string, unknown>;
  log_warnings: Record<string, number>;
}

/** Set in the page before any of its scripts: watches the DOM for the first render of the overview. */
const RENDER_WATCH = `(() => {
  const expected = String(__EXPECTED__);
  const value = (label) => {
    for (const card of document.querySelectorAll('.count')) {
      if (card.querySelector('.count-label')?.textContent === label) return card.querySelector('.count-value')?.textContent?.replace(/[^0-9]/g, '');
    }
    return undefined;
  };
  const done = () => document.querySelectorAll('table.vims tbody tr').length > 0 && value('VIMs') === expected;
  const observer = new MutationObserver(() => {
    if (window.__vmRender || !done()) return;
    const render = { dom_ms: performance.now(), painted_ms: null };
    window.__vmRender = render;
    observer.disconnect();
    requestAnimationFrame(() => requestAnimationFrame(() => { render.painted_ms = performance.now(); }));
  });
  observer.observe(document, { childList: true, subtree: true, characterData: true });
})();`;

const PAGE_TIMINGS = `(() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const fcp = performance.getEntriesByType('paint').find((e) => e.name === 'first-contentful-paint');
  const list = performance.getEntriesByType('resource').find((e) => /\\/v1\\.0\\/vims(\\?|$)/.test(e.name));
  const mem = performance.memory;
  return {
    render: window.__vmRender,
    navigation: nav ? { response_end_ms: nav.responseEnd, dom_content_loaded_ms: nav.domContentLoadedEventEnd, load_event_end_ms: nav.loadEventEnd } : null,
    first_contentful_paint_ms: fcp ? fcp.startTime : null,
    vim_list_request: list ? { start_ms: list.startTime, end_ms: list.responseEnd, duration_ms: list.duration, transfer_kb: list.transferSize / 1024, decoded_kb: list.decodedBodySize / 1024 } : null,
    marks: performance.getEntriesByType('mark').map((m) => ({ name: m.name, start_ms: m.startTime })),
    dom_nodes: document.getElementsByTagName('*').length,
  };
})()`;

/** The number on a count card of the overview (`VIMs`, `UNREACHABLE`, …), or null when absent. */
const countCard = (label: string) => `(() => {
  for (const card of document.querySelectorAll('.count')) {
    if (card.querySelector('.count-label')?.textContent === ${JSON.stringify(label)}) return Number(card.querySelector('.count-value')?.textContent?.replace(/[^0-9]/g, ''));
  }
  return null;
})()`;

interface PageTimings {
  render: { dom_ms: number; painted_ms: number | null } | undefined;
  navigation: FirstRender['navigation'];
  first_contentful_paint_ms: number | null;
  vim_list_request: FirstRender['vim_list_request'];
  marks: FirstRender['marks'];
  dom_nodes: number;
}

async function heapMetrics(cdp: CDPSession): Promise<Record<string, number>> {
  const { metrics } = await cdp.send('Performance.getMetrics');
  return Object.fromEntries(metrics.map((m) => [m.name, m.value]));
}

const MB = 1024 * 1024;
const median = (values: number[]) => percentile(values, 0.5) ?? NaN;
const stats = (values: number[]) => ({ median: round(median(values), 0), max: round(Math.max(...values), 0) });

/** Opens /ui/ in a fresh context and waits for the overview's first full render. */
async function openOverview(browser: TestBrowser, url: string, vims: number): Promise<{ open: TestPage; cdp: CDPSession; wallMs: number; timings: PageTimings }> {
  const open = await browser.open(DASHBOARD_VIEWPORT);
  await open.context.addInitScript({ content: RENDER_WATCH.replace('__EXPECTED__', String(vims)) });
  const cdp = await open.context.newCDPSession(open.page);
  await cdp.send('Performance.enable');
  const startedAt = nowMs();
  await open.page.goto(`${url}/ui/`, { waitUntil: 'commit', timeout: 60_000 });
  // A function, not a string: the dashboard's CSP (script-src 'self') forbids the eval a string predicate needs.
  await open.page.waitForFunction(
    () => {
      const render = (globalThis as unknown as { __vmRender?: { painted_ms: number | null } }).__vmRender;
      return render !== undefined && render.painted_ms !== null;
    },
    undefined,
    { timeout: 180_000, polling: 50 },
  );
  const wallMs = nowMs() - startedAt;
  const timings = (await open.page.evaluate(PAGE_TIMINGS)) as PageTimings;
  return { open, cdp, wallMs, timings };
}

/** The benchmark's own subscriber to the service's stream: counts status changes as any client receives them. */
class StreamCounter {
  readonly times: number[] = [];
  private readonly abort = new AbortController();
  private done: Promise<void> | undefined;

  async start(url: string): Promise<void> {
    const response = await fetch(`${url}/v1.0/events/stream`, { signal: this.abort.signal, headers: { accept: 'text/event-stream' } });
    if (!response.ok || !response.body) throw new Error(`event stream: HTTP ${response.status}`);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    this.done = (async () => {
      let buffer = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const message = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (/^event: vim\.status$/m.test(message)) this.times.push(nowMs());
          }
        }
      } catch {
        // aborted at the end
      }
    })();
  }

  countBetween(from: number, to: number): number {
    return this.times.filter((t) => t >= from && t < to).length;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}

/** Takes VIMs out of service and brings them back on the simulated clouds, paced evenly. */
class OutagePacer {
  private next = 0;
  private readonly down: Array<{ address: string; at: number }> = [];
  started = 0;
  ended = 0;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private due = 0;
  private lastTick = 0;

  constructor(
    private readonly addresses: string[],
    private readonly targetUrl: string,
    private readonly outagesPerSecond: number,
  ) {}

  start(): void {
    this.lastTick = nowMs();
    this.timer = setInterval(() => void this.tick(), 1000);
  }

  /** Stops starting and ending outages; the VIMs down now stay down. */
  stop(): Set<string> {
    clearInterval(this.timer);
    return new Set(this.down.map((d) => d.address));
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const now = nowMs();
      this.due += ((now - this.lastTick) / 1000) * this.outagesPerSecond;
      this.lastTick = now;
      const down: string[] = [];
      while (this.due >= 1 && this.next < this.addresses.length) {
        down.push(this.addresses[this.next++]!);
        this.due -= 1;
      }
      const up: string[] = [];
      while (this.down.length > 0 && now - this.down[0]!.at >= OUTAGE_SECONDS * 1000) up.push(this.down.shift()!.address);
      if (down.length === 0 && up.length === 0) return;
      const response = await fetch(`${this.targetUrl}/_bench/outage`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ down, up }),
        signal: AbortSignal.timeout(5000),
      });
      if (!response.ok) throw new Error(`outage: HTTP ${response.status}`);
      for (const address of down) this.down.push({ address, at: now });
      this.started += down.length;
      this.ended += up.length;
    } finally {
      this.busy = false;
    }
  }
}

export async function runDashboard(options: DashboardRunOptions): Promise<DashboardResult> {
  const { vims, log } = options;
  const s = DASHBOARD_MONITOR_SETTINGS;
  mkdirSync(options.workDir, { recursive: true });
  const outagesPerSecond = options.changesPerMinute / 2 / 60;
  const windowMs = options.minutes * 60_000;
  // Each VIM goes down at most once: the run needs this many.
  const outagesNeeded = Math.ceil(outagesPerSecond * (options.minutes * 60 + LEAD_IN_SECONDS)) + 10;
  if (outagesNeeded > vims) throw new Error(`${options.minutes} min at ${options.changesPerMinute} changes/min needs ${outagesNeeded} VIMs going down once each; only ${vims}`);

  let target: Child | undefined;
  let service: VimMonitorProcess | undefined;
  let browser: TestBrowser | undefined;
  try {
    target = spawnChild({
      name: 'dashboard-targets',
      command: process.execPath,
      // Idle connections kept past the check interval: the api checks reuse them, which keeps this process's CPU off the machine the browser needs.
      args: [options.targetServer, '--host', '0.0.0.0', '--port', '0', '--only-local-prefix', '127.', '--keep-alive', String(s.interval * 3), '--providers', '0'],
      logFile: join(options.workDir, 'dashboard-targets.log'),
    });
    const { listening: port } = await firstJsonLine<{ listening: number }>(target, 'listening', 10_000);
    const targetUrl = `http://127.0.0.1:${port}`;
    const addresses = loopbackAddresses(vims);

    const settings = {
        DATABASE_URL: `sqlite:${join(options.workDir, 'vim-monitor.db')}`,
        SECRETS_KEY_FILE: join(options.workDir, 'secret.key'),
        AUTH_STRATEGY: 'noauth',
        MONITOR_PROBES: 'api',
        MONITOR_INTERVAL: s.interval,
        MONITOR_TIMEOUT: s.timeout,
        MONITOR_FAILURE_THRESHOLD: s.failure_threshold,
        MONITOR_SUCCESS_THRESHOLD: s.success_threshold,
        MONITOR_BATCH_WINDOW: s.batch_window,
        HEALTH_DEEP_INTERVAL: NO_DEEP_INTERVAL,
    };
    // Registered with monitoring off, then monitored by a fresh process: on a busy machine, 10,000 POSTs next to
    // thousands of monitors starting up ran into the server's request timeout (408).
    const registrar = await startVimMonitor({ cli: options.cli, name: 'dashboard-register', workDir: options.workDir, settings: { ...settings, MANAGER_ENABLED: 'false' } });
    log(`  registering ${vims} VIMs through the API (monitoring off)`);
    const registeredAt = nowMs();
    try {
      await pool(addresses, options.concurrency, async (address, i) => {
        const spec = { name: `dash-${String(i).padStart(6, '0')}`, authUrl: `http://${address}:${port}/v3` };
        for (let attempt = 1; ; attempt++) {
          try {
            return await registrar.api.createVim(spec);
          } catch (error) {
            // 408: the server did not get the request in time; nothing was stored, so it is safe to send again.
            if (attempt >= 3 || !(error instanceof ApiError && error.status === 408)) throw error;
          }
        }
      });
    } finally {
      await registrar.stop();
    }
    const registrationS = (nowMs() - registeredAt) / 1000;
    service = await startVimMonitor({ cli: options.cli, name: 'dashboard-serve', workDir: options.workDir, settings });
    const api = service.api;
    log(`  vim-monitor serve on ${service.url} (noauth, SQLite, probes api, monitoring the ${vims} VIMs)`);
    const monitoredAt = nowMs();
    await waitFor(`all ${vims} VIMs REACHABLE`, async () => ((await api.idsWithStatus('PENDING', 'UNREACHABLE')).length === 0 ? true : undefined), {
      timeoutMs: (s.interval * s.success_threshold + s.timeout) * 1000 + 180_000,
      everyMs: 2000,
    });
    const allReachableS = (nowMs() - monitoredAt) / 1000;
    log(`    registered in ${registrationS.toFixed(1)} s; all REACHABLE ${allReachableS.toFixed(1)} s after the monitoring process answered`);

    browser = await launchChromium();
    const chromiumVersion = browser.browser.version();

    // 1. First render, cold: every run a new context (no cache, no storage).
    const runs: FirstRender[] = [];
    const coldLoad: number[] = [];
    for (let run = 1; run <= options.coldRuns; run++) {
      coldLoad.push(round(loadavg()[0]!, 1));
      const { open, cdp, wallMs, timings } = await openOverview(browser, service.url, vims);
      const heap = await heapMetrics(cdp);
      runs.push({
        run,
        dom_ms: round(timings.render!.dom_ms, 0),
        painted_ms: round(timings.render!.painted_ms ?? NaN, 0),
        wall_ms: round(wallMs, 0),
        navigation: timings.navigation && {
          response_end_ms: round(timings.navigation.response_end_ms, 0),
          dom_content_loaded_ms: round(timings.navigation.dom_content_loaded_ms, 0),
          load_event_end_ms: round(timings.navigation.load_event_end_ms, 0),
        },
        first_contentful_paint_ms: timings.first_contentful_paint_ms === null ? null : round(timings.first_contentful_paint_ms, 0),
        vim_list_request: timings.vim_list_request && {
          start_ms: round(timings.vim_list_request.start_ms, 0),
          end_ms: round(timings.vim_list_request.end_ms, 0),
          duration_ms: round(timings.vim_list_request.duration_ms, 0),
          transfer_kb: round(timings.vim_list_request.transfer_kb, 0),
          decoded_kb: round(timings.vim_list_request.decoded_kb, 0),
        },
        marks: timings.marks.map((m) => ({ name: m.name, start_ms: round(m.start_ms, 0) })),
        js_heap_used_mb: round((heap.JSHeapUsedSize ?? NaN) / MB, 1),
        dom_nodes: timings.dom_nodes,
      });
      log(`    cold run ${run}: rows and counts at ${runs.at(-1)!.dom_ms} ms, painted ${runs.at(-1)!.painted_ms} ms (list call ${runs.at(-1)!.vim_list_request?.duration_ms ?? '?'} ms)`);
      if (open.problems.length > 0) log(`    page problems: ${open.problems.slice(0, 3).join('; ')}`);
      await open.context.close();
    }

    // 2. Live updates: one page open on the overview while VIMs go down and come back.
    const { open, cdp } = await openOverview(browser, service.url, vims);
    const page: Page = open.page;
    let reloads = 0;
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) reloads += 1;
    });
    await page.waitForSelector('.live.live', { timeout: 30_000 });
    const counter = new StreamCounter();
    await counter.start(service.url);
    const pacer = new OutagePacer(addresses, targetUrl, outagesPerSecond);
    const serviceCpu = new CpuSampler(service.pid, 5000);
    const samples: MemorySample[] = [];
    let windowStart = nowMs() + LEAD_IN_SECONDS * 1000;
    let sampling: Promise<void> = Promise.resolve();
    const sample = async () => {
      const heap = await heapMetrics(cdp);
      const mem = memory(service!.pid);
      const t = nowMs();
      samples.push({
        t_s: round((t - windowStart) / 1000, 0),
        js_heap_used_mb: round((heap.JSHeapUsedSize ?? NaN) / MB, 1),
        js_heap_total_mb: round((heap.JSHeapTotalSize ?? NaN) / MB, 1),
        dom_nodes: heap.Nodes ?? NaN,
        js_event_listeners: heap.JSEventListeners ?? NaN,
        chromium: chromiumMemory(),
        service_rss_mb: round(mem.rssMb, 1),
        changes_so_far: counter.countBetween(windowStart, t),
        page_unreachable: (await page.evaluate(countCard('UNREACHABLE'))) as number | null,
        load_1m: round(loadavg()[0]!, 1),
      });
    };
    const gcHeap = async () => {
      await cdp.send('HeapProfiler.collectGarbage');
      return round(((await heapMetrics(cdp)).JSHeapUsedSize ?? NaN) / MB, 1);
    };

    log(`  live updates: ${options.changesPerMinute} status changes/min paced (${(outagesPerSecond * 60).toFixed(0)} outages/min of ${OUTAGE_SECONDS} s), ${LEAD_IN_SECONDS} s lead-in, then ${options.minutes} min measured`);
    pacer.start();
    serviceCpu.start();
    const startAfterGc = await gcHeap();
    await sleep(Math.max(0, windowStart - nowMs()));
    windowStart = nowMs();
    const cpuAtStart = serviceCpu.samples.at(-1)!;
    await sample();
    const sampler = setInterval(() => {
      sampling = sampling.then(sample).catch((error: unknown) => log(`    sample failed: ${String(error)}`));
    }, options.sampleSeconds * 1000);
    const progress = setInterval(() => {
      const last = samples.at(-1);
      if (last) log(`    ${last.t_s} s: ${last.changes_so_far} changes, page heap ${last.js_heap_used_mb} MB, renderer RSS ${last.chromium.renderer_rss_mb} MB, service RSS ${last.service_rss_mb} MB`);
    }, 60_000);
    await sleep(windowMs);
    const windowEnd = nowMs();
    clearInterval(sampler);
    clearInterval(progress);
    await sampling;
    await sample();
    const cpuAtEnd = serviceCpu.stop() ?? cpuAtStart;
    const downAtEnd = pacer.stop();
    const endAfterGc = await gcHeap();

    // 3. Did the page apply them? Once the store has settled on the VIMs still out of service, the page must show the same.
    const settleStarted = nowMs();
    let storeUnreachable = -1;
    await waitFor(
      `the store to show the ${downAtEnd.size} VIMs still out of service as UNREACHABLE, the rest REACHABLE`,
      async () => {
        storeUnreachable = (await api.idsWithStatus('UNREACHABLE')).length;
        const pending = (await api.idsWithStatus('PENDING')).length;
        return storeUnreachable === downAtEnd.size && pending === 0 ? true : undefined;
      },
      { timeoutMs: 120_000, everyMs: 1000 },
    ).catch((error: unknown) => log(`    ${String(error)}`));
    let pageUnreachable: number | null = null;
    await waitFor(
      'the page to show the same count',
      async () => {
        pageUnreachable = (await page.evaluate(countCard('UNREACHABLE'))) as number | null;
        return pageUnreachable === storeUnreachable ? true : undefined;
      },
      { timeoutMs: 30_000, everyMs: 500 },
    ).catch((error: unknown) => log(`    ${String(error)}`));
    const settledS = (nowMs() - settleStarted) / 1000;
    const storeReachable = (await api.idsWithStatus('REACHABLE')).length;
    const pageReachable = (await page.evaluate(countCard('REACHABLE'))) as number | null;
    const pageTotal = (await page.evaluate(countCard('VIMs'))) as number | null;
    const stayedLive = (await page.$('.live.live')) !== null;
    await counter.stop();
    await open.context.close();

    const inWindow = counter.countBetween(windowStart, windowEnd);
    const byMinute = Array.from({ length: Math.floor(options.minutes) }, (_, m) => counter.countBetween(windowStart + m * 60_000, windowStart + (m + 1) * 60_000));
    const first = samples[0]!;
    const last = samples.at(-1)!;
    const peak = (pick: (x: MemorySample) => number | null) => {
      const values = samples.map(pick).filter((v): v is number => v !== null);
      return values.length > 0 ? Math.max(...values) : null;
    };
    const windowSeconds = (cpuAtEnd.at - cpuAtStart.at) / 1000;
    const targetCounts = (await (await fetch(`${targetUrl}/_bench/counts`, { signal: AbortSignal.timeout(10_000) })).json()) as Record<string, unknown>;
    return {
      vims,
      viewport: DASHBOARD_VIEWPORT,
      chromium: chromiumVersion,
      setup: { registration_s: round(registrationS, 1), all_reachable_s: round(allReachableS, 1), probes: 'api', monitor: s },
      load_1m: { cold_runs: coldLoad, live: { start: first.load_1m, max: Math.max(...samples.map((x) => x.load_1m)), end: last.load_1m } },
      first_render: {
        runs,
        dom_ms: stats(runs.map((r) => r.dom_ms)),
        painted_ms: stats(runs.map((r) => r.painted_ms)),
        wall_ms: stats(runs.map((r) => r.wall_ms)),
      },
      live: {
        minutes: options.minutes,
        paced_changes_per_minute: options.changesPerMinute,
        source:
          "real monitors (probe api) seeing their simulated cloud answer 503 and then 200 again; the service's own verdicts and events, delivered by its SSE stream",
        outages_started: pacer.started,
        outages_ended: pacer.ended,
        changes_in_window: inWindow,
        changes_per_minute: round(inWindow / ((windowEnd - windowStart) / 60_000), 0),
        changes_by_minute: byMinute,
        page_problems: open.problems,
        page_stayed_live: stayedLive,
        reloads: Math.max(0, reloads - 1),
        samples,
        js_heap_used_mb: { start: first.js_heap_used_mb, peak: peak((x) => x.js_heap_used_mb)!, end: last.js_heap_used_mb, start_after_gc: startAfterGc, end_after_gc: endAfterGc },
        renderer_rss_mb: { start: first.chromium.renderer_rss_mb, peak: peak((x) => x.chromium.renderer_rss_mb)!, end: last.chromium.renderer_rss_mb },
        renderer_pss_mb: { start: first.chromium.renderer_pss_mb, peak: peak((x) => x.chromium.renderer_pss_mb), end: last.chromium.renderer_pss_mb },
        chromium_total_pss_mb: { start: first.chromium.total_pss_mb, peak: peak((x) => x.chromium.total_pss_mb), end: last.chromium.total_pss_mb },
        dom_nodes: { start: first.dom_nodes, end: last.dom_nodes },
        service: {
          rss_mb_start: first.service_rss_mb,
          rss_mb_peak: peak((x) => x.service_rss_mb)!,
          rss_mb_end: last.service_rss_mb,
          cpu_percent: round(((cpuAtEnd.cpu - cpuAtStart.cpu) / windowSeconds) * 100, 1),
        },
        check: {
          store_unreachable: storeUnreachable,
          page_unreachable: pageUnreachable,
          store_reachable: storeReachable,
          page_reachable: pageReachable,
          page_total: pageTotal,
          settled_s: round(settledS, 1),
          matches: pageUnreachable === storeUnreachable && pageReachable === storeReachable && pageTotal === vims,
        },
      },
      target_requests: targetCounts,
      log_warnings: logMessages(readFileSync(service.child.logFile, 'utf8')),
    };
  } finally {
    await browser?.close().catch(() => undefined);
    await service?.stop();
    await target?.stop(5000);
  }
}
