import type { Logger } from 'pino';
import { createDeepChecks, type DeepChecks } from '../health/deep-checks.js';
import type { EgressGuard } from '../net/egress-guard.js';
import { ApiProbe } from './api.js';
import { AuthProbe } from './auth.js';
import { AgentPool } from './http-agents.js';
import { IcmpProbe } from './icmp.js';
import type { Probe } from './probe.js';
import { probeTargetGuard } from './target-policy.js';
import { TcpProbe } from './tcp.js';

export interface ProbeSet {
  probes: Probe[];
  /** The deep checks (issue 10), sharing the auth probe's token caches and the connection pools. */
  deepChecks: DeepChecks;
  close(): Promise<void>;
}

/**
 * One instance of every probe driver, shared by all monitors of a process:
 * the ICMP driver batches every monitor's pings into one fping process per
 * round, and the HTTP drivers share one connection pool per VIM. Every
 * driver goes through one guard, the probe target policy: nothing is sent to
 * an address it refuses.
 */
export function createProbes(logger: Logger, guard: EgressGuard = probeTargetGuard()): ProbeSet {
  const agents = new AgentPool({ guard });
  const auth = new AuthProbe({ agents });
  const probes: Probe[] = [new IcmpProbe({ logger, guard }), new TcpProbe({ guard }), new ApiProbe({ agents }), auth];
  const deepChecks = createDeepChecks({ auth, agents, guard });
  return {
    probes,
    deepChecks,
    close: async () => {
      for (const probe of probes) await probe.close?.();
      await deepChecks.close();
      await agents.close();
    },
  };
}
