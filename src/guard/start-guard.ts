import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import type { Probe, ProbeName } from '../probes/probe.js';
import type { Store } from '../store/database.js';
import type { BackgroundErrorCounter } from '../time/background-errors.js';
import type { Clock } from '../time/clock.js';
import { CanarySet, canaryOf } from './canaries.js';
import { IsolationEventLog } from './isolation-events.js';
import { IsolationGuard, type OutageSignal } from './isolation-guard.js';
import { isolationMetrics } from './isolation-metrics.js';

/** The isolation guard of this worker as `guard.*` configures it (not started: the manager it watches comes first). */
export function createIsolationGuard(
  config: Config,
  deps: {
    store: Store;
    probes: ReadonlyMap<ProbeName, Probe>;
    worker: string;
    clock: Clock;
    logger: Logger;
    outages: readonly OutageSignal[];
    registry?: Registry;
    metrics?: BackgroundErrorCounter;
  },
): IsolationGuard {
  const guard = config.guard;
  const canaries = new CanarySet(guard.canaries.map(canaryOf), guard.canary_failures);
  return new IsolationGuard(
    {
      worker: deps.worker,
      maxFailingShare: guard.max_failing_share,
      minFailing: guard.min_failing,
      windowMs: (guard.window ?? config.monitor.interval) * 1000,
      recoveryGraceMs: guard.recovery_grace * 1000,
      outageGraceMs: guard.outage_grace * 1000,
      tickMs: guard.interval * 1000,
      canaryIntervalMs: guard.canary_interval * 1000,
      canaryTimeoutMs: guard.canary_timeout * 1000,
    },
    {
      canaries,
      probes: deps.probes,
      events: new IsolationEventLog(deps.store, deps.logger),
      clock: deps.clock,
      logger: deps.logger,
      outages: deps.outages,
      ...(deps.metrics && { metrics: deps.metrics }),
      ...(deps.registry && { onState: isolationMetrics(deps.registry) }),
    },
  );
}
