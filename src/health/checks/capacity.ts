import type { AgentPool } from '../../probes/http-agents.js';
import { httpExchange, joinUrl, shownUrl } from '../../probes/http-exchange.js';
import type { OidcTokenSource } from '../../probes/oidc-token.js';
import type { ProbeTarget } from '../../probes/probe.js';
import type { ConditionResult } from '../condition.js';
import type { DeepCheck, DeepCheckInput, DeepCheckReport } from '../deep-check.js';
import { capacityCondition, placementCapacity, type PlacementInventory, type ProviderFigures } from './capacity-figures.js';
import type { CatalogServiceCheck } from './catalog-services.js';
import { KubernetesCapacityCheck } from './kubernetes-capacity.js';

export interface CapacityCheckOptions {
  agents: AgentPool;
  /** Where the Placement endpoint and the token come from (the same caches as Service:<type>); needed for OpenStack VIMs. */
  catalog?: CatalogServiceCheck;
  /** Share the auth probe's token source (Kubernetes OIDC VIMs). */
  oidc: OidcTokenSource;
  /** Providers read at once (two GETs each); default 8. */
  concurrency?: number;
}

/** Placement's first microversion serves everything read here; naming it keeps the answers' shape fixed. */
const PLACEMENT_VERSION = 'placement 1.0';

/**
 * Capacity (layer capacity). OpenStack: Placement's inventories minus usages
 * per resource class, summed over every resource provider (VCPU, MEMORY_MB,
 * DISK_GB; kubernetes-capacity.ts for Kubernetes). The cost is 1 + 2 × the
 * number of providers GETs per check, `concurrency` at a time.
 */
export class CapacityCheck implements DeepCheck {
  readonly name = 'capacity';
  private readonly kubernetes: KubernetesCapacityCheck;
  private readonly concurrency: number;

  constructor(private readonly options: CapacityCheckOptions) {
    this.kubernetes = new KubernetesCapacityCheck(options.agents, options.oidc);
    this.concurrency = options.concurrency ?? 8;
  }

  async run(input: DeepCheckInput): Promise<DeepCheckReport> {
    if (input.target.type === 'kubernetes') return this.kubernetes.run(input);
    const { target, settings, signal, now } = input;
    const unknown = (reason: string): DeepCheckReport => ({ conditions: [{ type: 'Capacity', layer: 'capacity', status: 'Unknown', severity: 'info', reason }] });
    if (!this.options.catalog) return unknown('capacity not measured: no service catalog for OpenStack VIMs');
    const found = await this.options.catalog.endpointsOf(target, 'placement', settings.endpoint_interface, signal);
    if (!found.ok) return unknown(`capacity not measured: ${found.reason}`);
    const base = found.urls[0];
    if (base === undefined) return unknown(`capacity not measured: no ${settings.endpoint_interface} placement endpoint in the catalog`);
    const providers = await this.read(target, base, found.token, signal);
    if ('reason' in providers) return unknown(`capacity not measured: ${providers.reason}`);
    const capacity = placementCapacity(providers.figures, now);
    const condition: ConditionResult = capacityCondition(capacity, settings.capacity_warning_ratio);
    return { conditions: [condition], capacity };
  }

  private async read(target: ProbeTarget, base: string, token: string, signal: AbortSignal): Promise<{ figures: ProviderFigures[] } | { reason: string }> {
    const list = await this.get<{ resource_providers?: Array<{ uuid?: unknown }> }>(target, joinUrl(base, '/resource_providers'), token, signal);
    if ('reason' in list) return list;
    const uuids = (list.body.resource_providers ?? []).flatMap((p) => (typeof p?.uuid === 'string' ? [p.uuid] : []));
    const figures: ProviderFigures[] = [];
    let next = 0;
    let failure: string | undefined;
    const worker = async (): Promise<void> => {
      while (failure === undefined && next < uuids.length) {
        const uuid = uuids[next++] as string;
        const path = `/resource_providers/${encodeURIComponent(uuid)}`;
        const [inv, use] = await Promise.all([
          this.get<{ inventories?: Record<string, PlacementInventory> }>(target, joinUrl(base, `${path}/inventories`), token, signal),
          this.get<{ usages?: Record<string, number> }>(target, joinUrl(base, `${path}/usages`), token, signal),
        ]);
        if ('reason' in inv) failure = inv.reason;
        else if ('reason' in use) failure = use.reason;
        else figures.push({ inventories: inv.body.inventories ?? {}, usages: use.body.usages ?? {} });
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, uuids.length) }, worker));
    return failure !== undefined ? { reason: failure } : { figures };
  }

  private async get<T>(target: ProbeTarget, url: string, token: string, signal: AbortSignal): Promise<{ body: T } | { reason: string }> {
    const agent = this.options.agents.agentFor(target.vimId, 'catalog', { verify: target.tls.verify, ca: target.tls.ca });
    const result = await httpExchange(agent, url, {
      headers: { accept: 'application/json', 'x-auth-token': token, 'openstack-api-version': PLACEMENT_VERSION },
      signal,
      maxBodyBytes: 16 * 1_048_576,
    });
    if (!result.ok) return { reason: result.timedOut ? `${shownUrl(url)} timed out` : `${result.reason} (${shownUrl(url)})` };
    if (result.response.status !== 200) return { reason: `HTTP ${result.response.status} from ${shownUrl(url)}` };
    try {
      return { body: JSON.parse(result.response.body) as T };
    } catch {
      return { reason: `unreadable answer from ${shownUrl(url)}` };
    }
  }
}
