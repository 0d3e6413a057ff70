import type { AgentPool } from '../../probes/http-agents.js';
import { httpExchange, joinUrl, shownUrl } from '../../probes/http-exchange.js';
import type { OidcTokenSource } from '../../probes/oidc-token.js';
import type { ProbeTarget } from '../../probes/probe.js';
import type { CapacityFigures, ConditionResult, QuotaFigures } from '../condition.js';
import type { DeepCheck, DeepCheckInput, DeepCheckReport } from '../deep-check.js';
import { capacityCondition, novaQuotas, placementCapacity, type PlacementInventory, type ProviderFigures } from './capacity-figures.js';
import { endpointScope, type CatalogServiceCheck } from './catalog-services.js';
import { KubernetesCapacityCheck } from './kubernetes-capacity.js';

export interface CapacityCheckOptions {
  agents: AgentPool;
  /** Where the Placement and compute endpoints and the token come from (the same caches as Service:<type>); needed for OpenStack VIMs. */
  catalog?: CatalogServiceCheck;
  /** Share the auth probe's token source (Kubernetes OIDC VIMs). */
  oidc: OidcTokenSource;
  /** Providers read at once (two GETs each); default 8. */
  concurrency?: number;
}

/** Placement's first microversion serves everything read here; naming it keeps the answers' shape fixed. */
const PLACEMENT_VERSION = { 'openstack-api-version': 'placement 1.0' };
/** The same for nova: 2.1 is the base of /v2.1, whose /limits has every quota read here (older novas know only the second header). */
const COMPUTE_VERSION = { 'openstack-api-version': 'compute 2.1', 'x-openstack-nova-api-version': '2.1' };

/**
 * Capacity (layer capacity). OpenStack: Placement's inventories minus usages
 * per resource class, summed over every resource provider (VCPU, MEMORY_MB,
 * DISK_GB), and the VIM project's quotas from the compute API's /limits
 * (cores, ram, instances), both at the endpoints of the configured region
 * and interface, with the catalog check's token (no login of its own).
 * Either may be missing (no such endpoint: not a failure; Placement's
 * default policy refuses non-admins): Capacity judges what was measured and
 * says what was not. kubernetes-capacity.ts for Kubernetes. The cost is
 * 2 + 2 × the number of providers GETs per check, `concurrency` at a time.
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
    const found = await this.options.catalog.endpointsOf(target, ['placement', 'compute'], endpointScope(settings), signal);
    if (!found.ok) return unknown(`capacity not measured: ${found.reason}`);
    const { token } = found;
    const placement = found.found.placement;
    const placementUrl = placement?.urls[0];
    const computeUrl = found.found.compute?.urls[0];
    const [providers, limits] = await Promise.all([
      placementUrl === undefined ? { reason: placement?.missing ?? 'no placement endpoint' } : this.read(target, placementUrl, token, signal),
      // No compute endpoint: a cloud without nova has no compute quotas, which is not a failure.
      computeUrl === undefined ? undefined : this.quotas(target, computeUrl, token, signal),
    ]);
    const notRead = [
      ...('reason' in providers ? [`placement: ${providers.reason}`] : []),
      ...(limits !== undefined && 'reason' in limits ? [`compute quotas: ${limits.reason}`] : []),
    ];
    const quotas = limits !== undefined && 'quotas' in limits ? limits.quotas : undefined;
    if ('reason' in providers && quotas === undefined) return unknown(`capacity not measured: ${notRead.join('; ')}`);
    const capacity: CapacityFigures = {
      ...placementCapacity('reason' in providers ? [] : providers.figures, now),
      ...(quotas !== undefined && { quotas }),
    };
    const condition: ConditionResult = capacityCondition(capacity, settings.capacity_warning_ratio);
    if (notRead.length > 0) condition.reason = `${condition.reason} (not measured: ${notRead.join('; ')})`;
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

  /** The project's quotas from nova's GET /limits (the token's project: the VIM's). */
  private async quotas(target: ProbeTarget, computeUrl: string, token: string, signal: AbortSignal): Promise<{ quotas: Record<string, QuotaFigures> } | { reason: string }> {
    const url = joinUrl(computeUrl, '/limits');
    const answer = await this.get<unknown>(target, url, token, signal, COMPUTE_VERSION);
    if ('reason' in answer) return answer;
    const quotas = novaQuotas(answer.body);
    return quotas === undefined ? { reason: `no absolute limits in the answer from ${shownUrl(url)}` } : { quotas };
  }

  private async get<T>(target: ProbeTarget, url: string, token: string, signal: AbortSignal, version: Record<string, string> = PLACEMENT_VERSION): Promise<{ body: T } | { reason: string }> {
    const agent = this.options.agents.agentFor(target.vimId, 'catalog', { verify: target.tls.verify, ca: target.tls.ca });
    const result = await httpExchange(agent, url, {
      headers: { accept: 'application/json', 'x-auth-token': token, ...version },
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
