import { systemClock, type Clock } from '../../time/clock.js';
import type { AgentPool } from '../../probes/http-agents.js';
import { httpExchange, joinUrl, shownUrl, type HttpResult } from '../../probes/http-exchange.js';
import type { KeystoneAuthenticator } from '../../probes/keystone-auth.js';
import type { ProbeTarget } from '../../probes/probe.js';
import type { ConditionResult, ServiceConditionType } from '../condition.js';
import type { DeepCheck, DeepCheckInput, DeepCheckReport, HealthSettings } from '../deep-check.js';

/** One endpoint of the service catalog (GET /v3/auth/catalog). */
export interface CatalogEndpoint {
  type: string;
  interface: string;
  region: string | undefined;
  url: string;
}

export interface CatalogServiceCheckOptions {
  /** Share the auth probe's authenticator: its token is reused until near expiry. */
  keystone: KeystoneAuthenticator;
  agents: AgentPool;
  clock?: Clock;
  /** The catalog is fetched again after this long (default 300 s: the monitor's default auth_interval). */
  catalogMaxAgeMs?: number;
}

/** Which endpoints a check uses: the interface, and the region (undefined: every region). */
export interface EndpointScope {
  endpointInterface: string;
  region: string | undefined;
}

export function endpointScope(settings: HealthSettings): EndpointScope {
  return { endpointInterface: settings.endpoint_interface, region: settings.region ?? undefined };
}

/** The catalog endpoints of one type in a scope, and why there is none: a region the catalog does not know is named as such. */
export function endpointsIn(endpoints: readonly CatalogEndpoint[], type: string, scope: EndpointScope): { urls: string[]; missing: string } {
  const urls = endpoints.filter((e) => e.type === type && e.interface === scope.endpointInterface && (scope.region === undefined || e.region === scope.region)).map((e) => e.url);
  return { urls, missing: missingReason(endpoints, type, scope) };
}

function missingReason(endpoints: readonly CatalogEndpoint[], type: string, scope: EndpointScope): string {
  if (scope.region === undefined) return `no ${type} endpoint in the catalog (interface ${scope.endpointInterface})`;
  const missing = `no ${type} endpoint in region '${scope.region}' (interface ${scope.endpointInterface})`;
  if (endpoints.some((e) => e.region === scope.region)) return missing;
  // The catalog's region ids are the cloud's text, not ours: only short printable ones are shown.
  const known = [...new Set(endpoints.flatMap((e) => (e.region !== undefined && SHOWABLE_REGION.test(e.region) ? [e.region] : [])))].sort();
  const shown = known.length > MAX_REGIONS_SHOWN ? `${known.slice(0, MAX_REGIONS_SHOWN).join(', ')}, …` : known.join(', ');
  return `${missing}: the catalog has no region '${scope.region}'${known.length > 0 ? ` (its regions: ${shown})` : ''}`;
}

/** Region names shown in a reason, at most: a reason stays short whatever the catalog holds. */
const MAX_REGIONS_SHOWN = 8;
const SHOWABLE_REGION = /^[^\x00-\x1f\x7f-\x9f]{1,64}$/;

interface CachedCatalog {
  token: string;
  fetchedAt: number;
  endpoints: CatalogEndpoint[];
}

const CATALOG_MAX_BYTES = 4 * 1_048_576;

/**
 * Service:<type> (layer services): with the VIM's token, every catalog
 * endpoint of a required or watched service type, for the VIM's region and
 * the configured interface, gets one authenticated GET of its URL (a version
 * document, or the versions list at the root when the URL itself is 404).
 * Required types fail with `error` (absent from the catalog too), watched
 * ones with `warning`; a watched type absent from the catalog is not shown.
 * A configured region the catalog does not have at all is a mistake, not a
 * smaller cloud: every required and watched type present elsewhere in the
 * catalog then fails too, naming the region, so it never passes silently.
 * Other catalog types are not requested: the cost per VIM stays bounded.
 */
export class CatalogServiceCheck implements DeepCheck {
  readonly name = 'catalog-services';
  private readonly catalogs = new Map<string, CachedCatalog>();
  private readonly clock: Clock;
  private readonly catalogMaxAgeMs: number;
  /** Endpoint URLs checked last per VIM, for the certificate check (CertificateValid of every checked endpoint). */
  private readonly checkedUrls = new Map<string, string[]>();

  constructor(private readonly options: CatalogServiceCheckOptions) {
    this.clock = options.clock ?? systemClock;
    this.catalogMaxAgeMs = options.catalogMaxAgeMs ?? 300_000;
  }

  async run(input: DeepCheckInput): Promise<DeepCheckReport> {
    const first = await this.runOnce(input);
    // A cached token revoked early (password changed, user disabled) makes every service answer 401: log in again once before judging.
    if (!first.retry) return first.report;
    this.options.keystone.forget(input.target.vimId);
    this.catalogs.delete(input.target.vimId);
    return (await this.runOnce(input)).report;
  }

  private async runOnce({ target, settings, signal }: DeepCheckInput): Promise<{ report: DeepCheckReport; retry: boolean }> {
    if (target.type !== 'openstack') return { report: { conditions: [] }, retry: false };
    const required = new Set(settings.required_services);
    const watched = new Set(settings.watched_services.filter((type) => !required.has(type)));
    const session = await this.options.keystone.session(target, signal);
    if (!session.ok) return { report: { conditions: [...required].map((type) => unknown(type, 'no Keystone token: the catalog cannot be read')) }, retry: false };
    const catalog = await this.catalog(target, session.session.token, signal);
    if ('reason' in catalog) {
      return { report: { conditions: [...required].map((type) => unknown(type, catalog.reason)) }, retry: !session.fresh && catalog.reason.startsWith('HTTP 401 ') };
    }

    const scope = endpointScope(settings);
    const unknownRegion = scope.region !== undefined && !catalog.endpoints.some((e) => e.region === scope.region);
    const conditions: ConditionResult[] = [];
    const urls: string[] = [];
    let refused = false;
    const checks = [...required, ...watched].map(async (type) => {
      const severity = required.has(type) ? 'error' : 'warning';
      const { urls: endpoints, missing } = endpointsIn(catalog.endpoints, type, scope);
      if (endpoints.length === 0) {
        if (severity === 'error' || (unknownRegion && catalog.endpoints.some((e) => e.type === type))) conditions.push(result(type, 'False', severity, missing));
        return;
      }
      urls.push(...endpoints);
      const answers = await Promise.all(endpoints.map((url) => this.probe(target, url, session.session.token, signal)));
      const failed = answers.filter((a) => !a.ok);
      if (failed.some((a) => a.reason.startsWith('HTTP 401 '))) refused = true;
      if (failed.length === 0) {
        conditions.push(result(type, 'True', 'info', answers.map((a) => a.reason).join('; ')));
      } else if (failed.every((a) => a.timedOut)) {
        conditions.push(result(type, 'Unknown', 'info', failed.map((a) => a.reason).join('; ')));
      } else {
        conditions.push(result(type, 'False', severity, `${type}: ${failed.map((a) => a.reason).join('; ')}`));
      }
    });
    await Promise.all(checks);
    this.checkedUrls.set(target.vimId, urls);
    conditions.sort((a, b) => a.type.localeCompare(b.type));
    return { report: { conditions }, retry: refused && !session.fresh };
  }

  /**
   * The VIM's token and the catalog endpoints of each type in a scope (the
   * capacity check finds Placement and compute here), from the same caches
   * as run(); `missing` says why a type has none.
   */
  async endpointsOf(
    target: ProbeTarget,
    types: readonly string[],
    scope: EndpointScope,
    signal: AbortSignal,
  ): Promise<{ ok: true; token: string; found: Record<string, { urls: string[]; missing: string }> } | { ok: false; reason: string }> {
    const session = await this.options.keystone.session(target, signal);
    if (!session.ok) return { ok: false, reason: 'no Keystone token' };
    const catalog = await this.catalog(target, session.session.token, signal);
    if ('reason' in catalog) return { ok: false, reason: catalog.reason };
    const found = Object.fromEntries(types.map((type) => [type, endpointsIn(catalog.endpoints, type, scope)]));
    return { ok: true, token: session.session.token, found };
  }

  /** The endpoint URLs the last run checked (for CertificateValid). */
  endpointUrls(vimId: string): string[] {
    return [...(this.checkedUrls.get(vimId) ?? [])];
  }

  forget(vimId: string): void {
    this.catalogs.delete(vimId);
    this.checkedUrls.delete(vimId);
  }

  /** The cached catalog while the token is the same and it is younger than the auth interval. */
  private async catalog(target: ProbeTarget, token: string, signal: AbortSignal): Promise<CachedCatalog | { reason: string }> {
    const now = this.clock.now().getTime();
    const cached = this.catalogs.get(target.vimId);
    if (cached && cached.token === token && now - cached.fetchedAt < this.catalogMaxAgeMs) return cached;
    const url = joinUrl(target.authUrl, '/auth/catalog');
    const answer = await this.get(target, url, token, signal, CATALOG_MAX_BYTES);
    if (!answer.ok) return { reason: answer.timedOut ? 'timed out reading the service catalog' : `${answer.reason} (${shownUrl(url)})` };
    const { status, body } = answer.response;
    if (status !== 200) return { reason: `HTTP ${status} from ${shownUrl(url)} reading the service catalog` };
    const endpoints = parseCatalog(body);
    if (!endpoints) return { reason: `the service catalog from ${shownUrl(url)} is not readable JSON` };
    const fresh = { token, fetchedAt: now, endpoints };
    this.catalogs.set(target.vimId, fresh);
    return fresh;
  }

  private async probe(target: ProbeTarget, url: string, token: string, signal: AbortSignal): Promise<{ ok: boolean; timedOut: boolean; reason: string }> {
    let answer = await this.get(target, url, token, signal);
    let asked = url;
    // A project-scoped URL (nova's /v2.1/<project>) or a bare API path may be 404: the root's version document then proves the service.
    if (answer.ok && answer.response.status === 404) {
      asked = rootOf(url);
      answer = await this.get(target, asked, token, signal);
    }
    if (!answer.ok) return { ok: false, timedOut: answer.timedOut, reason: answer.timedOut ? `${shownUrl(url)} timed out` : `${answer.reason} (${shownUrl(url)})` };
    const { status } = answer.response;
    // 300 Multiple Choices is how OpenStack services answer a version document at the root.
    if (status >= 200 && status < 400) return { ok: true, timedOut: false, reason: `HTTP ${status} from ${shownUrl(asked)}` };
    return { ok: false, timedOut: false, reason: `HTTP ${status} from ${shownUrl(asked)}` };
  }

  private get(target: ProbeTarget, url: string, token: string, signal: AbortSignal, maxBodyBytes = 65_536): Promise<HttpResult> {
    const agent = this.options.agents.agentFor(target.vimId, 'catalog', { verify: target.tls.verify, ca: target.tls.ca });
    return httpExchange(agent, url, { headers: { accept: 'application/json', 'x-auth-token': token }, signal, maxBodyBytes });
  }
}

function result(type: string, status: ConditionResult['status'], severity: ConditionResult['severity'], reason: string): ConditionResult {
  return { type: `Service:${type}` as ServiceConditionType, layer: 'services', status, severity, reason };
}

/** A required service whose catalog could not be read: Authenticated or IdentityAPI carries the failure. */
function unknown(type: string, reason: string): ConditionResult {
  return result(type, 'Unknown', 'info', reason);
}

function rootOf(url: string): string {
  try {
    return `${new URL(url).origin}/`;
  } catch {
    return url;
  }
}

/** Keystone's catalog shape: {catalog: [{type, endpoints: [{interface, region_id | region, url}]}]}. */
export function parseCatalog(body: string): CatalogEndpoint[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const services = (parsed as { catalog?: unknown })?.catalog;
  if (!Array.isArray(services)) return undefined;
  const out: CatalogEndpoint[] = [];
  for (const service of services as Array<{ type?: unknown; endpoints?: unknown }>) {
    if (typeof service?.type !== 'string' || !Array.isArray(service.endpoints)) continue;
    for (const e of service.endpoints as Array<{ interface?: unknown; region_id?: unknown; region?: unknown; url?: unknown }>) {
      if (typeof e?.url !== 'string' || typeof e.interface !== 'string') continue;
      const region = typeof e.region_id === 'string' ? e.region_id : typeof e.region === 'string' ? e.region : undefined;
      out.push({ type: service.type, interface: e.interface, region, url: e.url });
    }
  }
  return out;
}
