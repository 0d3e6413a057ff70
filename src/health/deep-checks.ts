import type { EgressGuard } from '../net/egress-guard.js';
import type { AuthProbe } from '../probes/auth.js';
import type { AgentPool } from '../probes/http-agents.js';
import { beforeDeadline, DEADLINE_PASSED } from '../time/deadline.js';
import { CapacityCheck } from './checks/capacity.js';
import { CatalogServiceCheck } from './checks/catalog-services.js';
import { CertificateCheck } from './checks/certificates.js';
import { CredentialCheck } from './checks/credentials.js';
import type { DeepCheck, DeepCheckInput, DeepCheckReport } from './deep-check.js';

/** What one deep check gave in one run; `report` undefined when it did not settle by the run's deadline. */
export interface DeepCheckOutcome {
  name: string;
  report: DeepCheckReport | undefined;
}

/**
 * Every deep check of a process, shared by all its monitors (like the
 * probes), run in stages: a stage starts when the one before has settled,
 * because later checks read what earlier ones cached (the certificate check
 * judges the endpoints the catalog check found; the capacity check finds
 * Placement in the same cached catalog). Checks of one stage run together.
 */
export class DeepChecks {
  constructor(private readonly stages: ReadonlyArray<readonly DeepCheck[]>) {}

  get names(): string[] {
    return this.stages.flat().map((check) => check.name);
  }

  /**
   * Runs every check once for one VIM. A check must settle by the deadline
   * (`input.signal`); one that does not is reported as unsettled, not waited
   * for. A check that rejects is a bug, not the target's fault: it rejects
   * the run (the monitor logs it loudly and keeps the previous results).
   */
  async run(input: DeepCheckInput): Promise<DeepCheckOutcome[]> {
    const outcomes: DeepCheckOutcome[] = [];
    for (const stage of this.stages) {
      if (input.signal.aborted) {
        outcomes.push(...stage.map((check) => ({ name: check.name, report: undefined })));
        continue;
      }
      const settled = await Promise.all(stage.map((check) => beforeDeadline(check.run(input), input.signal)));
      stage.forEach((check, i) => {
        const result = settled[i];
        outcomes.push({ name: check.name, report: result === DEADLINE_PASSED ? undefined : result });
      });
    }
    return outcomes;
  }

  /** Drops what the checks cached for a VIM (deleted, or its credentials or TLS settings changed). */
  forget(vimId: string): void {
    for (const check of this.stages.flat()) check.forget?.(vimId);
  }

  async close(): Promise<void> {
    for (const check of this.stages.flat()) await check.close?.();
  }
}

/**
 * The deep checks wired to the auth probe's caches: its Keystone token (and
 * password expiry) and its OIDC id_tokens serve the checks, so a deep run
 * costs no login of its own. The region checked is the `region` health
 * setting (global or per VIM; Tacker's VIM has none of its own): every
 * region's endpoints when it is not set.
 */
export function createDeepChecks(options: { auth: AuthProbe; agents: AgentPool; guard: EgressGuard }): DeepChecks {
  const { auth, agents, guard } = options;
  const catalog = new CatalogServiceCheck({ keystone: auth.keystone, agents });
  return new DeepChecks([
    // Alone first: it logs in when the token is gone (forget(), expiry) and the others then find token and catalog cached;
    // together they would log in twice and read the catalog twice.
    [catalog],
    [
      new CredentialCheck({ keystone: auth.keystone, oidc: auth.oidc }),
      new CertificateCheck({ guard, extraUrls: (vimId) => catalog.endpointUrls(vimId) }),
      new CapacityCheck({ agents, catalog, oidc: auth.oidc }),
    ],
  ]);
}
