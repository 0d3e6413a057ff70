import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { ConfirmationGate, type ConfirmationStats } from '../confirm/confirmation-gate.js';
import { ConfirmationPoller } from '../confirm/confirmation-poller.js';
import { ConfirmProber } from '../confirm/confirm-prober.js';
import type { MetricsRecorder } from '../metrics/recorder.js';
import { effectiveSettings } from '../monitors/settings.js';
import type { Probe, ProbeName } from '../probes/probe.js';
import { ConfirmationRepository } from '../store/confirmation-repository.js';
import type { Store } from '../store/database.js';
import type { VimRepository } from '../store/vim-repository.js';
import type { Clock } from '../time/clock.js';
import type { VimRecord } from '../vims/model.js';

export interface RunningConfirmation {
  gate: ConfirmationGate;
  poller: ConfirmationPoller;
  stats(): ConfirmationStats & { answered_for_others: number; polls: number };
  close(): Promise<void>;
}

/**
 * Rows a poll takes, and requests probed at once, at most: a burst larger than this is worked through over several
 * polls (requests in flight are read again until answered, so the two limits are one).
 */
const BATCH = 1_000;

/** The confirmation gate of this worker with its poller and prober, started (src/confirm). */
export async function startConfirmation(
  config: Config,
  deps: {
    store: Store;
    vims: VimRepository;
    probes: ReadonlyMap<ProbeName, Probe>;
    owner: string;
    clock: Clock;
    logger: Logger;
    credentialsOf(vim: VimRecord): Record<string, string>;
    owns(vimId: string): boolean;
    metrics?: MetricsRecorder;
  },
): Promise<RunningConfirmation> {
  const { clock, logger } = deps;
  const zone = config.manager.zone ?? null;
  const repository = new ConfirmationRepository(deps.store);
  let poller: ConfirmationPoller | undefined;
  const gate = new ConfirmationGate({
    self: deps.owner,
    zone,
    settings: config.confirm,
    defaultTimeoutSeconds: config.monitor.timeout,
    clock,
    logger,
    onAsk: () => poller?.wake(),
  });
  const prober = new ConfirmProber({
    probes: deps.probes,
    loadVims: (ids) => deps.vims.list({ ids }),
    credentialsOf: deps.credentialsOf,
    settingsOf: (vim) => {
      try {
        return effectiveSettings(config.monitor, vim.monitorSettings);
      } catch {
        // As the manager does: stored settings that no longer fit the defaults are probed with the defaults.
        return config.monitor;
      }
    },
    owns: deps.owns,
    answer: (answers, atMs) => repository.answerMany(answers, atMs),
    clock,
    logger,
  });
  const deadline = config.confirm.deadline ?? Math.max(2 * config.monitor.timeout, 3);
  poller = new ConfirmationPoller(
    {
      self: deps.owner,
      zone,
      pollIntervalMs: config.confirm.poll_interval * 1000,
      liveWindowMs: config.manager.lease_ttl * 1000,
      liveRefreshMs: config.manager.heartbeat_interval * 1000,
      maxAgeMs: Math.max(60_000, 10 * deadline * 1000),
      batch: BATCH,
    },
    { repository, gate, prober, clock, logger, ...(deps.metrics && { metrics: deps.metrics }) },
  );
  await poller.start();
  logger.info({ zone, enabled: config.confirm.enabled, count: config.confirm.count, quorum: config.confirm.quorum }, 'confirmation from other workers ready');
  const running = poller;
  return {
    gate,
    poller: running,
    stats: () => ({ ...gate.stats(), answered_for_others: prober.answered, polls: running.passes }),
    close: async () => {
      await running.stop();
      // The monitors stopped before this: the rows of their open requests go now rather than by age.
      await repository.remove(gate.takeRemovals()).catch((error: unknown) => logger.warn({ err: error }, 'could not delete open confirmation requests; they are deleted by age'));
    },
  };
}
