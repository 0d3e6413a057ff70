import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { probeTarget } from '../../test/support/probe-target.js';
import { loadConfig } from '../config/load.js';
import { ConfigurationError } from '../errors.js';
import { monitorSettingsProperties } from '../monitors/settings.js';
import type { ProbeName } from './probe.js';
import { compileScript, createScriptedProbes } from './scripted.js';

const START = Date.parse('2026-01-01T00:00:00Z');
const ids = Array.from({ length: 2000 }, (_, i) => `vim-${i}`);

function capturingLogger() {
  const lines: Array<{ level: number; msg: string; script?: string }> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
  return { logger, lines };
}

describe('scripted probes', () => {
  const dirs: string[] = [];
  const scriptFile = (script: unknown): string => {
    const dir = mkdtempSync(join(tmpdir(), 'scripted-probes-'));
    dirs.push(dir);
    const file = join(dir, 'script.json');
    writeFileSync(file, typeof script === 'string' ? script : JSON.stringify(script));
    return file;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('answers every probe of every VIM up, with a latency in the scripted range, when the script has no outage', () => {
    const { answer } = compileScript({ latency_ms: [2, 3] }, 'test');
    for (const id of ids.slice(0, 200)) {
      for (const probe of ['icmp', 'tcp', 'api', 'auth'] as ProbeName[]) {
        const outcome = answer(id, probe, START);
        expect(outcome.ok).toBe(true);
        expect(outcome.latencyMs).toBeGreaterThanOrEqual(2);
        expect(outcome.latencyMs).toBeLessThanOrEqual(3);
      }
    }
  });

  it('takes about the scripted share of VIMs down for the scripted seconds of every period, and brings them back', () => {
    const { answer } = compileScript({ outages: [{ share: 0.1, start: START, period: 100, down: 40 }] }, 'test');
    const downAt = (t: number) => new Set(ids.filter((id) => !answer(id, 'icmp', t).ok));
    // Over two periods every VIM of the share has gone down at least once.
    const everDown = new Set<string>();
    for (let t = START; t < START + 200_000; t += 1000) for (const id of downAt(t)) everDown.add(id);
    expect(everDown.size).toBeGreaterThan(0.07 * ids.length);
    expect(everDown.size).toBeLessThan(0.13 * ids.length);
    // In steady state (after one period) about down/period of the share is down at any moment: 4 % of all.
    const now = downAt(START + 150_000);
    expect(now.size).toBeGreaterThan(0.02 * ids.length);
    expect(now.size).toBeLessThan(0.06 * ids.length);
    // Each one is back once its down seconds are over.
    for (const id of now) {
      let t = START + 150_000;
      while (!answer(id, 'icmp', t).ok) t += 1000;
      expect(t - (START + 150_000)).toBeLessThanOrEqual(40_000);
    }
  });

  it('keeps every VIM up before the outages start', () => {
    const { answer } = compileScript({ outages: [{ share: 1, start: new Date(START).toISOString(), period: 10, down: 10 }] }, 'test');
    expect(ids.every((id) => answer(id, 'api', START - 1).ok)).toBe(true);
    expect(ids.some((id) => !answer(id, 'api', START + 10_000).ok)).toBe(true);
  });

  it('gives the same answer for the same script, VIM and time, whoever asks (another worker confirming a verdict)', () => {
    const script = { seed: 's', outages: [{ share: 0.2, start: START, period: 60, down: 30 }] };
    const one = compileScript(script, 'a').answer;
    const other = compileScript(structuredClone(script), 'b').answer;
    for (let t = START; t < START + 120_000; t += 7000) for (const id of ids.slice(0, 300)) expect(other(id, 'icmp', t)).toEqual(one(id, 'icmp', t));
    const reseeded = compileScript({ ...script, seed: 't' }, 'c').answer;
    const differ = ids.filter((id) => reseeded(id, 'icmp', START + 100_000).ok !== one(id, 'icmp', START + 100_000).ok);
    expect(differ.length).toBeGreaterThan(0);
  });

  it('fails only the probes an outage names', () => {
    const { answer } = compileScript({ outages: [{ share: 1, start: START, period: 10, down: 10, probes: ['api'] }] }, 'test');
    const t = START + 20_000;
    expect(ids.every((id) => answer(id, 'icmp', t).ok)).toBe(true);
    expect(ids.every((id) => !answer(id, 'api', t).ok)).toBe(true);
  });

  it('refuses a script that is not one, naming the file', () => {
    expect(() => compileScript({ outages: [{ share: 0.7, start: START, period: 10, down: 1 }, { share: 0.7, start: START, period: 10, down: 1 }] }, 'f.json')).toThrow(
      /f\.json.*add up to more than 1/,
    );
    expect(() => compileScript({ outages: [{ share: 0.1, start: START, period: 10, down: 11 }] }, 'f.json')).toThrow(ConfigurationError);
    expect(() => compileScript({ outages: [{ share: 0.1, start: 'soon', period: 10, down: 1 }] }, 'f.json')).toThrow(/not a time/);
    expect(() => compileScript({ down: true }, 'f.json')).toThrow(/f\.json is invalid/);
    expect(() => createScriptedProbes({ file: scriptFile('{'), logger: pino({ level: 'silent' }) })).toThrow(/not valid JSON/);
    expect(() => createScriptedProbes({ file: '/nonexistent/script.json', logger: pino({ level: 'silent' }) })).toThrow(/cannot read probe script/);
  });

  it('makes one probe per probe name from the file, answering at the time of the check, and says loudly in the log that probes are simulated', async () => {
    const { logger, lines } = capturingLogger();
    let now = START;
    const file = scriptFile({ outages: [{ share: 1, start: START + 1000, period: 10, down: 10 }] });
    const probes = createScriptedProbes({ file, logger, now: () => now });
    expect(probes.map((p) => p.name)).toEqual(['icmp', 'tcp', 'api', 'auth']);
    const target = probeTarget('openstack', 'http://127.0.0.1:5000/v3');
    const auth = probes.find((p) => p.name === 'auth')!;
    expect(await auth.check(target, AbortSignal.timeout(1000))).toMatchObject({ ok: true, regions: ['RegionOne'] });
    now = START + 30_000;
    expect(await auth.check(target, AbortSignal.timeout(1000))).toMatchObject({ ok: false, reason: 'scripted outage: auth gets no answer' });
    const warning = lines.find((l) => l.level === 40 && l.msg.startsWith('PROBES ARE SIMULATED'));
    expect(warning?.script).toBe('100 % down 10 s of every 10 s');
  });

  it('is off unless the process configuration names a script, and a VIM cannot ask for it in its monitor settings', () => {
    expect(loadConfig({ env: {} }).probes.simulate_file).toBeUndefined();
    expect(loadConfig({ env: { VIM_MONITOR_PROBES_SIMULATE_FILE: '/tmp/s.json' } }).probes.simulate_file).toBe('/tmp/s.json');
    expect(Object.keys(monitorSettingsProperties)).not.toContain('simulate_file');
    expect(JSON.stringify(monitorSettingsProperties)).not.toContain('simulate');
  });
});
