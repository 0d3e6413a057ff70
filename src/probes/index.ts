import type { Logger } from 'pino';
import { ApiProbe } from './api.js';
import { AuthProbe } from './auth.js';
import { AgentPool } from './http-agents.js';
import { IcmpProbe } from './icmp.js';
import type { Probe } from './probe.js';
import { TcpProbe } from './tcp.js';

export interface ProbeSet {
  probes: Probe[];
  close(): Promise<void>;
}

/**
 * One instance of every probe driver, shared by all monitors of a process:
 * the ICMP driver batches every monitor's pings into one fping process per
 * round, and the HTTP drivers share one connection pool per VIM.
 */
export function createProbes(logger: Logger): ProbeSet {
  const agents = new AgentPool();
  const probes: Probe[] = [new IcmpProbe({ logger }), new TcpProbe(), new ApiProbe({ agents }), new AuthProbe({ agents })];
  return {
    probes,
    close: async () => {
      for (const probe of probes) await probe.close?.();
      await agents.close();
    },
  };
}
