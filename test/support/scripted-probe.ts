import type { Probe, ProbeName, ProbeOutcome, ProbeTarget } from '../../src/probes/probe.js';

export type Script = 'ok' | 'fail' | 'hang' | 'throw';

/**
 * A probe driver whose answer the test sets per VIM. It stands in for the
 * network only in tests of the monitor's and manager's own logic
 * (thresholds, sweeps, replacement); the real drivers are tested against real
 * targets in src/probes and in the fault tests.
 */
export class ScriptedProbe implements Probe {
  readonly calls: Array<{ vimId: string; at: number }> = [];
  /** VIMs whose cached state the manager told this driver to drop. */
  readonly forgotten: string[] = [];
  private readonly scripts = new Map<string, Script>();

  constructor(
    readonly name: ProbeName,
    private fallback: Script = 'ok',
  ) {}

  set(vimId: string | '*', script: Script): void {
    if (vimId === '*') {
      this.fallback = script;
      this.scripts.clear();
    } else this.scripts.set(vimId, script);
  }

  callsFor(vimId: string): number {
    return this.calls.filter((call) => call.vimId === vimId).length;
  }

  forget(vimId: string): void {
    this.forgotten.push(vimId);
  }

  async check(target: ProbeTarget, signal: AbortSignal): Promise<ProbeOutcome> {
    this.calls.push({ vimId: target.vimId, at: Date.now() });
    const script = this.scripts.get(target.vimId) ?? this.fallback;
    switch (script) {
      case 'ok':
        return { ok: true, latencyMs: 1, reason: `${this.name} ok` };
      case 'fail':
        return { ok: false, reason: `${this.name} scripted failure` };
      case 'throw':
        throw new Error(`${this.name} driver bug`);
      case 'hang':
        // Ignores its deadline on purpose: the sweep must notice.
        void signal;
        return new Promise<ProbeOutcome>(() => undefined);
    }
  }
}
