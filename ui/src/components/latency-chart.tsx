import { useEffect, useRef } from 'preact/hooks';
import type uPlot from 'uplot';
import { formatMs, formatTime } from '../format';
import type { HistoryBucket } from '../types';

/** Fixed per probe, so a probe keeps its colour from VIM to VIM; all readable on light and dark backgrounds. */
const PROBE_COLOURS: Record<string, string> = { icmp: '#0969da', tcp: '#8250df', api: '#1a7f37', auth: '#bf3989', kubernetes: '#9a6700' };
const FALLBACK = ['#0969da', '#8250df', '#1a7f37', '#bf3989', '#9a6700', '#cf222e'];

async function loadUplot(): Promise<typeof uPlot> {
  const [module] = await Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]);
  return module.default;
}

export function probesOf(buckets: HistoryBucket[]): string[] {
  const names = new Set<string>();
  for (const bucket of buckets) for (const name of Object.keys(bucket.probes)) names.add(name);
  return [...names].sort();
}

/**
 * Latency per probe over the buckets: p50 solid, p95 dashed. The same
 * figures are in a table under it for screen readers and for copying.
 */
export function LatencyChart({ buckets, title }: { buckets: HistoryBucket[]; title: string }) {
  const host = useRef<HTMLDivElement>(null);
  const probes = probesOf(buckets);

  useEffect(() => {
    const element = host.current;
    if (!element || probes.length === 0) return;
    let cleanup: (() => void) | undefined;
    let gone = false;
    // uPlot is half the bundle and only this page draws: it loads with the first chart, not with the overview.
    void loadUplot().then((UPlot) => {
      if (!gone) cleanup = draw(UPlot, element);
    });
    return () => {
      gone = true;
      cleanup?.();
    };
  }, [buckets]);

  function draw(UPlot: typeof uPlot, element: HTMLDivElement): () => void {
    const xs = buckets.map((b) => Date.parse(b.start) / 1000);
    const data: uPlot.AlignedData = [xs];
    const series: uPlot.Series[] = [{}];
    probes.forEach((probe, i) => {
      const colour = PROBE_COLOURS[probe] ?? FALLBACK[i % FALLBACK.length] ?? '#0969da';
      data.push(buckets.map((b) => b.probes[probe]?.latency_ms.p50 ?? null));
      data.push(buckets.map((b) => b.probes[probe]?.latency_ms.p95 ?? null));
      series.push({ label: `${probe} p50`, stroke: colour, width: 2, value: (_u, v) => formatMs(v) });
      series.push({ label: `${probe} p95`, stroke: colour, width: 1.5, dash: [5, 4], value: (_u, v) => formatMs(v) });
    });
    const styles = getComputedStyle(document.documentElement);
    const axisColour = styles.getPropertyValue('--muted').trim() || '#57606a';
    const gridColour = styles.getPropertyValue('--line').trim() || '#d0d7de';
    const axis = { stroke: axisColour, grid: { stroke: gridColour, width: 1 }, ticks: { stroke: gridColour, width: 1 } };
    // 24-hour UTC times, with the date under midnight.
    const timeValues = (_u: uPlot, splits: number[]) =>
      splits.map((s) => {
        const iso = new Date(s * 1000).toISOString();
        return iso.slice(11, 16) === '00:00' ? `00:00\n${iso.slice(5, 10)}` : iso.slice(11, 16);
      });
    const width = () => Math.max(280, element.clientWidth);
    const chart = new UPlot(
      {
        width: width(),
        height: 240,
        series,
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
        axes: [{ ...axis, values: timeValues }, { ...axis, label: 'ms', size: 56 }],
        cursor: { drag: { x: false, y: false } },
        legend: { live: true },
        // Times in UTC, as everywhere on the dashboard.
        tzDate: (ts) => UPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      },
      data,
      element,
    );
    const resize = new ResizeObserver(() => chart.setSize({ width: width(), height: 240 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }

  if (probes.length === 0) return <p class="muted">No probe latency recorded in this period.</p>;
  return (
    <figure class="chart-figure">
      <div ref={host} class="chart" role="img" aria-label={`${title}: latency per probe, p50 solid and p95 dashed; the figures are in the table below`} />
      <details>
        <summary>Latency figures</summary>
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">{title}</caption>
            <thead>
              <tr>
                <th scope="col">Hour (UTC)</th>
                {probes.map((p) => (
                  <th key={p} scope="col">
                    {p} p50 / p95 / max
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {buckets.map((b) => (
                <tr key={b.start}>
                  <th scope="row">{formatTime(b.start)}</th>
                  {probes.map((p) => {
                    const s = b.probes[p];
                    return <td key={p}>{s ? `${formatMs(s.latency_ms.p50)} / ${formatMs(s.latency_ms.p95)} / ${formatMs(s.latency_ms.max)} (${s.failed}/${s.checks} failed)` : '—'}</td>;
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
