import { Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PROBE_NAMES } from '../probes/probe.js';
import { VIM_STATUSES } from '../vims/model.js';
import { noLatencies, perVimExposition, perVimMetricNames, VIMS_PER_CHUNK, VimSeries } from './vim-series.js';

const PREFIX = 'vim_monitor_';

function series(overrides: Partial<VimSeries>): VimSeries {
  return Object.assign(new VimSeries(), overrides);
}

/** The same series through prom-client's own Gauges, as the service made them before. */
async function throughPromClient(vims: ReadonlyMap<string, VimSeries>): Promise<string> {
  const registry = new Registry();
  const helpOf = new Map<string, string>();
  for (const line of [...perVimExposition(PREFIX, new Map())].join('').split('\n')) {
    const help = /^# HELP (\S+) (.*)$/.exec(line);
    if (help) helpOf.set(help[1]!, help[2]!);
  }
  const gauge = (name: string, labelNames: string[]) => new Gauge({ name: PREFIX + name, help: helpOf.get(PREFIX + name)!, labelNames, registers: [registry] });
  const status = gauge('vim_status', ['vim_id', 'status']);
  const condition = gauge('vim_condition', ['vim_id', 'type']);
  const health = gauge('vim_health', ['vim_id']);
  const latency = gauge('probe_latency_seconds', ['vim_id', 'probe']);
  for (const [vimId, vim] of vims) {
    if (vim.status !== undefined) for (const s of VIM_STATUSES) status.set({ vim_id: vimId, status: s }, s === vim.status ? 1 : 0);
    vim.conditionTypes.forEach((type, i) => condition.set({ vim_id: vimId, type }, vim.conditionValues[i]!));
    if (!Number.isNaN(vim.health)) health.set({ vim_id: vimId }, vim.health);
    vim.latencies?.forEach((seconds, i) => {
      if (!Number.isNaN(seconds)) latency.set({ vim_id: vimId, probe: PROBE_NAMES[i]! }, seconds);
    });
  }
  return registry.metrics();
}

describe('perVimExposition', () => {
  it("writes what prom-client's own gauges write for the same series, label values escaped alike", async () => {
    const latencies = noLatencies();
    latencies[0] = 0.000123;
    latencies[1] = 1.5;
    const vims = new Map<string, VimSeries>([
      ['vim-a', series({ status: 'REACHABLE', conditionTypes: ['NetworkReachable', 'IdentityAPI'], conditionValues: [1, -1], health: 1, latencies })],
      ['vim-b', series({ status: 'PENDING' })],
      // Never an id the service makes, but the format must hold whatever the label value.
      ['odd "id" \\ with\nnewline', series({ status: 'UNREACHABLE', conditionTypes: ['NetworkReachable'], conditionValues: [0], health: 2 })],
      ['vim-c', series({})],
    ]);
    const text = [...perVimExposition(PREFIX, vims)].join('');
    // prom-client separates its metrics by a blank line; these come after its own, so they start with one.
    expect(text).toBe(`\n${await throughPromClient(vims)}`);
    expect(text).toContain('vim_monitor_vim_status{vim_id="vim-a",status="REACHABLE"} 1\n');
    expect(text).toContain('vim_monitor_probe_latency_seconds{vim_id="vim-a",probe="icmp"} 0.000123\n');
    expect(text).toContain('vim_id="odd \\"id\\" \\\\ with\\nnewline"');
  });

  it('writes only the families, without a series, when no VIM is watched', () => {
    const text = [...perVimExposition(PREFIX, new Map())].join('');
    expect(text.match(/^# TYPE (\S+) gauge$/gm)?.map((line) => line.split(' ')[2])).toEqual(perVimMetricNames(PREFIX));
    expect(text).not.toContain('vim_id');
  });

  it(`cuts the text every ${VIMS_PER_CHUNK} VIMs, never inside a VIM's lines, and writes each family whole before the next`, () => {
    const vims = new Map<string, VimSeries>();
    for (let i = 0; i < 2 * VIMS_PER_CHUNK + 7; i += 1) vims.set(`vim-${i}`, series({ status: 'REACHABLE', conditionTypes: ['NetworkReachable'], conditionValues: [1], health: 0 }));
    const chunks = [...perVimExposition(PREFIX, vims)];
    // Three chunks per family (500, 500, 7 VIMs), the latency family has no series: one chunk, its header.
    expect(chunks).toHaveLength(3 * 3 + 1);
    for (const chunk of chunks) expect(chunk.endsWith('\n')).toBe(true);
    const statusLines = chunks.slice(0, 3).map((chunk) => chunk.split('\n').filter((line) => line.startsWith('vim_monitor_vim_status{')).length);
    expect(statusLines).toEqual([VIMS_PER_CHUNK * VIM_STATUSES.length, VIMS_PER_CHUNK * VIM_STATUSES.length, 7 * VIM_STATUSES.length]);
    const familyOrder = chunks.join('').match(/^# TYPE (\S+)/gm);
    expect(familyOrder).toHaveLength(4);
  });
});
