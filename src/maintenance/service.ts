import { randomUUID } from 'node:crypto';
import { tenantScope } from '../auth/visibility.js';
import { ForbiddenError, InvalidInputError, NotFoundError, VimNotFoundError } from '../errors.js';
import type { MaintenanceRepository } from '../store/maintenance-repository.js';
import { tackerTimestamp, type Clock } from '../time/clock.js';
import type { RequestContext, VimFilter, VimRecord } from '../vims/model.js';
import { isTimeZone, MAX_DURATION_MINUTES, parseTimeOfDay, WEEKDAYS, type Schedule, type Weekday } from './schedule.js';
import type { MaintenanceScope, MaintenanceWindow } from './window.js';

/** Windows one tenant may keep (the calendar is read whole into every process's memory). */
export const MAX_WINDOWS_PER_TENANT = 100;
/** VIMs one window may list. */
export const MAX_SCOPE_VIMS = 1000;

/** A window as the API received it (timestamps already parsed to epoch ms by the route). */
export interface MaintenanceInput {
  reason: string;
  scope: { vimIds?: string[]; tenantId?: string; all?: boolean };
  startMs?: number;
  /** null or absent: open-ended. */
  endMs?: number | null;
  recurrence?: { days: string[]; startTime: string; durationMinutes: number; timeZone: string };
}

export interface MaintenanceServiceDeps {
  repository: MaintenanceRepository;
  /** The VIMs a caller may see (the registry's rule: another tenant's VIM is not found). */
  vims: { list(ctx: RequestContext, filter: VimFilter): Promise<VimRecord[]> };
  clock: Clock;
  /** After a window is stored or deleted: this process reads the windows again (and holds end at once). */
  changed(): Promise<void>;
}

/**
 * Maintenance windows: who may declare which (a member its own tenant's
 * VIMs, an administrator any, and "all VIMs" only an administrator), the
 * checks that refuse a window before anything is stored, and the bounds.
 */
export class MaintenanceService {
  constructor(private readonly deps: MaintenanceServiceDeps) {}

  async create(ctx: RequestContext, input: MaintenanceInput): Promise<MaintenanceWindow> {
    const schedule = this.scheduleOf(input);
    const { scope, tenantId } = await this.scopeOf(ctx, input.scope);
    if ((await this.deps.repository.countOf(tenantId)) >= MAX_WINDOWS_PER_TENANT) {
      throw new InvalidInputError(`Tenant ${tenantId} already has ${MAX_WINDOWS_PER_TENANT} maintenance windows, the most it may keep: delete one first`);
    }
    const window: MaintenanceWindow = {
      id: randomUUID(),
      tenantId,
      reason: input.reason,
      scope,
      schedule,
      createdAt: tackerTimestamp(this.deps.clock.now()),
    };
    await this.deps.repository.insert(window);
    await this.deps.changed();
    return window;
  }

  async list(ctx: RequestContext): Promise<MaintenanceWindow[]> {
    const scope = tenantScope(ctx);
    return (await this.deps.repository.list()).filter((window) => scope.includes(window.tenantId));
  }

  async get(ctx: RequestContext, id: string): Promise<MaintenanceWindow> {
    const window = (await this.deps.repository.list()).find((each) => each.id === id);
    if (!window || !tenantScope(ctx).includes(window.tenantId)) throw new NotFoundError(`maintenance window ${id}`);
    return window;
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    const window = await this.get(ctx, id);
    if (!(await this.deps.repository.delete(window.id))) throw new NotFoundError(`maintenance window ${id}`);
    await this.deps.changed();
  }

  private scheduleOf(input: MaintenanceInput): Schedule {
    const nowMs = this.deps.clock.now().getTime();
    const recurrence = input.recurrence;
    if (!recurrence) {
      const startMs = input.startMs ?? nowMs;
      const endMs = input.endMs ?? null;
      if (endMs !== null && endMs <= startMs) throw new InvalidInputError('maintenance.end must be after maintenance.start');
      if (endMs !== null && endMs <= nowMs) throw new InvalidInputError('maintenance.end is in the past: the window would never open');
      return { kind: 'once', startMs, endMs };
    }
    if (input.startMs !== undefined || input.endMs !== undefined) {
      throw new InvalidInputError('A recurring window has no start or end: give maintenance.recurrence alone');
    }
    if (recurrence.days.length === 0) throw new InvalidInputError('maintenance.recurrence.days: name at least one day');
    const unknownDay = recurrence.days.find((day) => !(WEEKDAYS as readonly string[]).includes(day));
    if (unknownDay !== undefined) throw new InvalidInputError(`maintenance.recurrence.days: unknown day '${unknownDay.slice(0, 16)}'; one of ${WEEKDAYS.join(', ')}`);
    const startMinute = parseTimeOfDay(recurrence.startTime);
    if (startMinute === undefined) throw new InvalidInputError("maintenance.recurrence.start_time must be a time of day 'HH:MM' (00:00 to 23:59)");
    if (!Number.isInteger(recurrence.durationMinutes) || recurrence.durationMinutes < 1 || recurrence.durationMinutes > MAX_DURATION_MINUTES) {
      throw new InvalidInputError(`maintenance.recurrence.duration must be whole minutes from 1 to ${MAX_DURATION_MINUTES} (a week)`);
    }
    if (!isTimeZone(recurrence.timeZone)) throw new InvalidInputError('maintenance.recurrence.time_zone must be an IANA time zone such as Europe/Paris or UTC');
    const days = WEEKDAYS.filter((day) => recurrence.days.includes(day)) as Weekday[];
    return { kind: 'weekly', days, startMinute, durationMinutes: recurrence.durationMinutes, timeZone: recurrence.timeZone };
  }

  /** The scope as stored, and the tenant that owns the window. */
  private async scopeOf(ctx: RequestContext, raw: MaintenanceInput['scope']): Promise<{ scope: MaintenanceScope; tenantId: string }> {
    const given = [raw.vimIds !== undefined, raw.tenantId !== undefined, raw.all !== undefined].filter(Boolean).length;
    if (given !== 1) throw new InvalidInputError('maintenance.scope names exactly one of vim_ids, tenant_id or all');
    const visibility = tenantScope(ctx);
    if (raw.all !== undefined) {
      if (raw.all !== true) throw new InvalidInputError('maintenance.scope.all must be true (or name vim_ids or tenant_id instead)');
      if (!visibility.all) throw new ForbiddenError('Only an administrator may declare a maintenance window for all VIMs');
      return { scope: { kind: 'all' }, tenantId: ctx.projectId };
    }
    if (raw.tenantId !== undefined) {
      if (!visibility.includes(raw.tenantId)) throw new ForbiddenError("Only an administrator may declare a maintenance window for another tenant's VIMs");
      return { scope: { kind: 'tenant', tenantId: raw.tenantId }, tenantId: raw.tenantId };
    }
    const vimIds = [...new Set(raw.vimIds)];
    if (vimIds.length === 0) throw new InvalidInputError('maintenance.scope.vim_ids: name at least one VIM');
    if (vimIds.length > MAX_SCOPE_VIMS) throw new InvalidInputError(`maintenance.scope.vim_ids: at most ${MAX_SCOPE_VIMS} VIMs`);
    // One read for all of them; a VIM of another tenant is as unknown as one that does not exist.
    const found = await this.deps.vims.list(ctx, { ids: vimIds });
    const byId = new Map(found.map((vim) => [vim.id, vim]));
    const missing = vimIds.find((id) => !byId.has(id));
    if (missing !== undefined) throw new VimNotFoundError(missing);
    const tenants = new Set(found.map((vim) => vim.tenantId));
    // The VIMs' tenant owns the window (its members see it); an administrator's window over several tenants is the administrator's.
    const tenantId = tenants.size === 1 ? (found[0] as VimRecord).tenantId : ctx.projectId;
    return { scope: { kind: 'vims', vimIds }, tenantId };
  }
}
