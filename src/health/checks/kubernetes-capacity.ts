import { tackerTimestamp } from '../../time/clock.js';
import type { AgentPool, AgentTls } from '../../probes/http-agents.js';
import { httpExchange, joinUrl, shownUrl } from '../../probes/http-exchange.js';
import type { OidcTokenSource } from '../../probes/oidc-token.js';
import type { ProbeTarget } from '../../probes/probe.js';
import type { CapacityFigures, ConditionResult } from '../condition.js';
import type { DeepCheckInput } from '../deep-check.js';
import { capacityCondition } from './capacity-figures.js';

const LIST_MAX_BYTES = 32 * 1_048_576;

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
/** Sub-unit suffixes divide: 3800 / 1000 is exactly 3.8, 3800 * 0.001 is not. */
const FRACTION: Record<string, number> = { n: 1e9, u: 1e6, m: 1e3 };

/** A Kubernetes resource quantity ("3800m", "16Gi", "129e6", "0.5") as a number of base units; undefined when unreadable. */
export function parseQuantity(text: string): number | undefined {
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]);
  if (match[2] !== undefined) return value * 10 ** Number(match[2].slice(1));
  const suffix = match[3] ?? '';
  const divisor = FRACTION[suffix];
  if (divisor !== undefined) return value / divisor;
  return value * (BINARY[suffix] ?? DECIMAL[suffix] ?? 1);
}

interface KubeNode {
  metadata?: { name?: string };
  spec?: { unschedulable?: boolean };
  status?: { allocatable?: Record<string, string>; conditions?: Array<{ type?: string; status?: string }> };
}
type Requests = Array<{ resources?: { requests?: Record<string, string> } }>;
interface KubePod {
  spec?: { nodeName?: string; containers?: Requests; initContainers?: Requests };
}

/** What a pod reserves on its node, as the scheduler counts it: the sum of its containers, or its largest init container if larger. */
function podRequest(pod: KubePod, resource: 'cpu' | 'memory'): number {
  const of = (list: Requests | undefined) => (list ?? []).map((c) => parseQuantity(c.resources?.requests?.[resource] ?? '0') ?? 0);
  const sum = of(pod.spec?.containers).reduce((a, b) => a + b, 0);
  return Math.max(sum, ...of(pod.spec?.initContainers));
}

export interface KubernetesCapacity {
  conditions: ConditionResult[];
  capacity?: CapacityFigures;
}

/**
 * Kubernetes: NodesReady (the share of Ready nodes), Capacity (allocatable of
 * the Ready, schedulable nodes minus the requests of the pods scheduled on
 * them that have not ended: cpu in cores, memory in MiB) and, when the VIM
 * names a namespace, NamespaceExists. Three GETs per check, whatever the
 * cluster's size.
 */
export class KubernetesCapacityCheck {
  constructor(
    private readonly agents: AgentPool,
    private readonly oidc: OidcTokenSource,
  ) {}

  async run({ target, settings, signal, now }: DeepCheckInput): Promise<KubernetesCapacity> {
    const conditions: ConditionResult[] = [];
    const nodes = await this.list<KubeNode>(target, '/api/v1/nodes', signal);
    let capacity: CapacityFigures | undefined;
    if ('reason' in nodes) {
      conditions.push({ type: 'NodesReady', layer: 'capacity', status: 'Unknown', severity: 'info', reason: nodes.reason });
    } else {
      const ready = nodes.items.filter(isReady);
      const share = nodes.items.length === 0 ? 0 : ready.length / nodes.items.length;
      const notReady = nodes.items.filter((n) => !isReady(n)).map((n) => n.metadata?.name ?? '?');
      const reason = `${ready.length} of ${nodes.items.length} nodes Ready${notReady.length > 0 ? ` (not Ready: ${notReady.slice(0, 5).join(', ')}${notReady.length > 5 ? ', …' : ''})` : ''}`;
      const below = nodes.items.length === 0 || share < settings.nodes_ready_warning_ratio;
      conditions.push({ type: 'NodesReady', layer: 'capacity', status: below ? 'False' : 'True', severity: below ? (ready.length === 0 ? 'error' : 'warning') : 'info', reason });

      const pods = await this.list<KubePod>(target, '/api/v1/pods?fieldSelector=status.phase!%3DSucceeded,status.phase!%3DFailed', signal);
      if ('reason' in pods) {
        conditions.push({ type: 'Capacity', layer: 'capacity', status: 'Unknown', severity: 'info', reason: pods.reason });
      } else {
        capacity = figures(ready, pods.items, now);
        conditions.push(capacityCondition(capacity, settings.capacity_warning_ratio));
      }
    }
    if (target.project.name !== undefined && target.project.name !== '') conditions.push(await this.namespace(target, target.project.name, signal));
    return { conditions, ...(capacity && { capacity }) };
  }

  private async namespace(target: ProbeTarget, name: string, signal: AbortSignal): Promise<ConditionResult> {
    const answer = await this.get(target, `/api/v1/namespaces/${encodeURIComponent(name)}`, signal, 65_536);
    const base = { type: 'NamespaceExists', layer: 'capacity' } as const;
    if ('reason' in answer) return { ...base, status: 'Unknown', severity: 'info', reason: answer.reason };
    if (answer.status === 200) return { ...base, status: 'True', severity: 'info', reason: `namespace ${name} exists` };
    if (answer.status === 404) return { ...base, status: 'False', severity: 'error', reason: `namespace ${name} does not exist` };
    if (answer.status === 403) return { ...base, status: 'Unknown', severity: 'info', reason: `not allowed to read namespace ${name} (HTTP 403)` };
    return { ...base, status: 'Unknown', severity: 'info', reason: `HTTP ${answer.status} reading namespace ${name}` };
  }

  private async list<T>(target: ProbeTarget, path: string, signal: AbortSignal): Promise<{ items: T[] } | { reason: string }> {
    const answer = await this.get(target, path, signal, LIST_MAX_BYTES);
    if ('reason' in answer) return answer;
    const shown = shownUrl(joinUrl(target.authUrl, path));
    if (answer.status !== 200) return { reason: `HTTP ${answer.status} from ${shown}` };
    try {
      const items = (JSON.parse(answer.body) as { items?: unknown }).items;
      if (Array.isArray(items)) return { items: items as T[] };
    } catch {
      // cut off at the size limit, or not JSON
    }
    return { reason: `unreadable list from ${shown}` };
  }

  private async get(target: ProbeTarget, path: string, signal: AbortSignal, maxBodyBytes: number): Promise<{ status: number; body: string } | { reason: string }> {
    const cred = target.credentials;
    const headers: Record<string, string> = { accept: 'application/json' };
    const tls: AgentTls = { verify: target.tls.verify, ca: target.tls.ca };
    if (cred.oidc_token_url !== undefined) {
      const token = await this.oidc.idToken(target, signal);
      if (!token.ok) return { reason: token.timedOut ? 'timed out getting an OIDC id_token' : token.reason };
      headers.authorization = `Bearer ${token.idToken}`;
    } else if (cred.bearer_token !== undefined) {
      headers.authorization = `Bearer ${cred.bearer_token}`;
    } else if (cred.client_cert !== undefined && cred.client_key !== undefined) {
      Object.assign(tls, { cert: cred.client_cert, key: cred.client_key });
    } else if (cred.username !== undefined && cred.password !== undefined) {
      headers.authorization = `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
    }
    const url = joinUrl(target.authUrl, path);
    const result = await httpExchange(this.agents.agentFor(target.vimId, 'kube-capacity', tls), url, { headers, signal, maxBodyBytes });
    if (!result.ok) return { reason: result.timedOut ? `${shownUrl(url)} timed out` : `${result.reason} (${shownUrl(url)})` };
    return { status: result.response.status, body: result.response.body };
  }
}

function isReady(node: KubeNode): boolean {
  return node.spec?.unschedulable !== true && (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function figures(ready: KubeNode[], pods: KubePod[], now: Date): CapacityFigures {
  const names = new Set(ready.map((n) => n.metadata?.name));
  const placed = pods.filter((p) => p.spec?.nodeName !== undefined && names.has(p.spec.nodeName));
  const total = (resource: 'cpu' | 'memory') => ready.reduce((sum, n) => sum + (parseQuantity(n.status?.allocatable?.[resource] ?? '0') ?? 0), 0);
  const used = (resource: 'cpu' | 'memory') => placed.reduce((sum, p) => sum + podRequest(p, resource), 0);
  const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;
  const entry = (t: number, u: number) => ({ total: t, used: u, free: round(Math.max(0, t - u), 3) });
  const MiB = 2 ** 20;
  return {
    resources: {
      cpu: entry(round(total('cpu'), 3), round(used('cpu'), 3)),
      memory: entry(Math.floor(total('memory') / MiB), Math.ceil(used('memory') / MiB)),
    },
    checked_at: tackerTimestamp(now),
  };
}
