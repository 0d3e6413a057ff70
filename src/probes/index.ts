import type { Logger } from 'pino';
import { createDeepChecks, type DeepChecks } from '../health/deep-checks.js';
import type { EgressGuard } from '../net/egress-guard.js';
import { ApiProbe } from './api.js';
import { AuthProbe } from './auth.js';
import { chooseProbeEngine, type EngineChoice, type ProbeEngineSetting } from './engine/engine-choice.js';
import type { LoadResult } from './engine/native-binding.js';
import { NativePinger } from './engine/native-pinger.js';
import { AgentPool } from './http-agents.js';
import { IcmpProbe } from './icmp.js';
import type { Probe } from './probe.js';
import { SystemPinger } from './system-pinger.js';
import { probeTargetGuard } from './target-policy.js';
import { TcpProbe } from './tcp.js';

export interface ProbeSet {
  probes: Probe[];
  /** The deep checks (issue 10), sharing the auth probe's token caches and the connection pools. */
  deepChecks: DeepChecks;
  /** Which engine runs ICMP and the api probe's HTTP ('native' or 'node'). */
  engines: { icmp: 'native' | 'node'; http: 'native' | 'node' };
  close(): Promise<void>;
}

export interface CreateProbesOptions {
  /** monitor.probe_engine (default auto). */
  engine?: ProbeEngineSetting;
  /** How the native addon is loaded (tests). */
  loadBinding?: () => LoadResult;
}

/**
 * One instance of every probe driver, shared by all monitors of a process:
 * the ICMP driver sends every monitor's pings of a round in one native call
 * (or one fping process), and the HTTP drivers share one native engine (or
 * one connection pool per VIM). Every driver goes through one guard, the
 * probe target policy: nothing is sent to an address it refuses.
 */
export function createProbes(logger: Logger, guard: EgressGuard = probeTargetGuard(), options: CreateProbesOptions = {}): ProbeSet {
  const choice: EngineChoice = chooseProbeEngine(options.engine ?? 'auto', logger, options.loadBinding);
  const agents = new AgentPool({ guard });
  const auth = new AuthProbe({ agents });
  const engine = choice.engine;
  // A family the engine cannot ping goes to fping (SystemPinger), chosen at its first ping as before.
  const pinger = engine && choice.icmp ? new NativePinger(engine, new SystemPinger({ logger })) : undefined;
  const icmp = new IcmpProbe({ logger, guard, ...(pinger && { pinger }) });
  const api = new ApiProbe({ agents, guard, ...(engine && choice.http && { engine }) });
  const probes: Probe[] = [icmp, new TcpProbe({ guard }), api, auth];
  const deepChecks = createDeepChecks({ auth, agents, guard });
  return {
    probes,
    deepChecks,
    engines: { icmp: choice.icmp ? 'native' : 'node', http: choice.http ? 'native' : 'node' },
    close: async () => {
      for (const probe of probes) await probe.close?.();
      await deepChecks.close();
      await agents.close();
      engine?.close();
    },
  };
}
