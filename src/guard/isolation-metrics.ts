import { Counter, Gauge, type Registry } from 'prom-client';
import { METRIC_PREFIX } from '../metrics/prometheus.js';
import type { IsolationState } from './isolation-detector.js';

const STATES: readonly IsolationState[] = ['normal', 'isolated', 'recovering', 'outage_grace'];

/**
 * The guard's metrics, on the process's registry: `vim_monitor_isolation_state{state}`
 * (1 for the current state, 0 for the others), `vim_monitor_isolation_acknowledged`
 * and `vim_monitor_isolations_total` (episodes entered). Four plus two series per
 * process, none per VIM.
 */
export function isolationMetrics(registry: Registry): (state: IsolationState, acknowledged: boolean) => void {
  const state = new Gauge({
    name: `${METRIC_PREFIX}isolation_state`,
    help: "The isolation guard's state of this worker (1: current): normal, isolated (down verdicts held), recovering (recovery_grace), outage_grace",
    labelNames: ['state'],
    registers: [registry],
  });
  const acknowledged = new Gauge({
    name: `${METRIC_PREFIX}isolation_acknowledged`,
    help: 'Whether an operator acknowledged the current isolation (1: down verdicts apply although isolated)',
    registers: [registry],
  });
  const episodes = new Counter({
    name: `${METRIC_PREFIX}isolations_total`,
    help: 'Times this worker entered isolation (each one stored one monitor.isolated event)',
    registers: [registry],
  });
  let current: IsolationState = 'normal';
  const show = (next: IsolationState, ack: boolean): void => {
    if (next === 'isolated' && current !== 'isolated' && current !== 'recovering') episodes.inc();
    current = next;
    for (const name of STATES) state.set({ state: name }, name === next ? 1 : 0);
    acknowledged.set(ack ? 1 : 0);
  };
  episodes.inc(0);
  show('normal', false);
  return show;
}
