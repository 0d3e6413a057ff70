import { ForbiddenError } from '../errors.js';
import type { RequestContext } from '../vims/model.js';

/**
 * The tenant-visibility rule, written once: a member sees and manages only
 * the resources of its own project; an administrator sees every project's.
 * Every service asks this scope instead of reading `isAdmin` itself.
 */
export interface TenantScope {
  /** True for an administrator: no tenant restriction. */
  readonly all: boolean;
  /** May the caller see (and manage) a resource of this tenant? */
  includes(tenantId: string): boolean;
  /**
   * The tenant filter to apply to a query: what was asked for, narrowed to
   * what is visible. `undefined` means no restriction (an administrator who
   * asked for none); an empty list means nothing is visible.
   */
  narrow(requested: readonly string[] | undefined): string[] | undefined;
}

export function tenantScope(ctx: RequestContext): TenantScope {
  if (ctx.isAdmin) {
    return { all: true, includes: () => true, narrow: (requested) => (requested ? [...requested] : undefined) };
  }
  const own = ctx.projectId;
  return {
    all: false,
    includes: (tenantId) => tenantId === own,
    narrow: (requested) => (requested ? requested.filter((id) => id === own) : [own]),
  };
}

/** For what only an administrator may do (read process statistics, act on the service as a whole). */
export function requireAdmin(ctx: RequestContext, what: string): void {
  if (!tenantScope(ctx).all) throw new ForbiddenError(`Only an administrator may ${what}`);
}
