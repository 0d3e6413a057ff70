import { randomUUID } from 'node:crypto';
import { tenantScope } from '../auth/visibility.js';
import { DuplicateDefaultVimError, ForbiddenError, InvalidInputError, VimNotFoundError } from '../errors.js';
import { DEFAULT_MONITOR_SETTINGS, effectiveSettings, type MonitorSettings, type MonitorSettingsOverride } from '../monitors/settings.js';
import type { EgressGuard } from '../net/egress-guard.js';
import { probeTargetGuard } from '../probes/target-policy.js';
import type { SecretCipher } from '../secrets/cipher.js';
import type { VimChanges, VimRepository } from '../store/vim-repository.js';
import { tackerTimestamp, type Clock } from '../time/clock.js';
import { checkProbeTarget, normaliseAuthUrl } from './auth-url.js';
import { mergeAuthCred, openAuthCred, sealAuthCred, validateAuthCred } from './credentials.js';
import type { RequestContext, VimCreateInput, VimFilter, VimRecord, VimUpdateInput } from './model.js';
import { validateVimProject } from './vim-project.js';

/**
 * Told about every change to the set of VIMs, after it is stored and before
 * the API answers; the monitor manager is the listener. Data flows one way:
 * the registry never asks the monitors anything.
 */
export interface VimLifecycleListener {
  vimCreated(vim: VimRecord): Promise<void>;
  vimUpdated(vim: VimRecord): Promise<void>;
  vimDeleted(vim: VimRecord): Promise<void>;
}

export interface VimRegistryDeps {
  repository: VimRepository;
  cipher: SecretCipher;
  clock: Clock;
  /** Global monitor settings: a VIM's own settings are checked against them. */
  monitorDefaults?: MonitorSettings;
  /** The probe target policy: a VIM may not point the probes at an address it refuses (default: the built-in policy). */
  targetGuard?: EgressGuard;
  newId?: () => string;
}

/**
 * The business rules of the VIM registry: who sees which VIM, what a valid
 * VIM is, and how updates apply. It knows neither HTTP nor SQL.
 */
export class VimRegistry {
  private readonly newId: () => string;
  private listener: VimLifecycleListener | undefined;
  private readonly targetGuard: EgressGuard;

  constructor(private readonly deps: VimRegistryDeps) {
    this.newId = deps.newId ?? randomUUID;
    this.targetGuard = deps.targetGuard ?? probeTargetGuard();
  }

  /** Set once at wiring time (the manager is built after the registry it reads from). */
  setLifecycleListener(listener: VimLifecycleListener): void {
    this.listener = listener;
  }

  async create(ctx: RequestContext, input: VimCreateInput): Promise<VimRecord> {
    const tenantId = input.tenantId ?? ctx.projectId;
    if (!tenantScope(ctx).includes(tenantId)) {
      throw new ForbiddenError(`Only an administrator may register a VIM for another tenant (${tenantId})`);
    }
    const name = checkName(input.name);
    const authUrl = normaliseAuthUrl(input.authUrl, input.type);
    const authCred = validateAuthCred(input.type, input.authCred);
    const vimProject = validateVimProject(input.type, input.vimProject);
    const isDefault = input.isDefault ?? false;
    const monitorSettings = this.checkMonitorSettings(input.monitorSettings);
    await this.checkTargets(authUrl, authCred);
    if (isDefault) await this.ensureNoOtherDefault(tenantId);

    const vim: VimRecord = {
      id: this.newId(),
      tenantId,
      name,
      description: input.description ?? '',
      type: input.type,
      authUrl,
      sealedAuthCred: sealAuthCred(authCred, this.deps.cipher),
      vimProject,
      isDefault,
      extra: input.extra ?? {},
      status: 'PENDING',
      placementAttr: { regions: [] },
      conditions: [],
      health: null,
      capacity: null,
      createdAt: tackerTimestamp(this.deps.clock.now()),
      updatedAt: null,
      revision: 1,
      monitorSettings,
    };
    await this.deps.repository.insert(vim);
    await this.listener?.vimCreated(vim);
    return vim;
  }

  async list(ctx: RequestContext, filter: VimFilter): Promise<VimRecord[]> {
    // A member's own tenant narrows any tenant filter they asked for.
    const tenantIds = tenantScope(ctx).narrow(filter.tenantIds);
    return this.deps.repository.list({ ...filter, ...(tenantIds && { tenantIds }) });
  }

  /** A VIM the caller may not see is reported exactly like one that does not exist. */
  async get(ctx: RequestContext, id: string): Promise<VimRecord> {
    const vim = await this.deps.repository.findById(id);
    if (!vim || !tenantScope(ctx).includes(vim.tenantId)) throw new VimNotFoundError(id);
    return vim;
  }

  async update(ctx: RequestContext, id: string, input: VimUpdateInput): Promise<VimRecord> {
    const current = await this.get(ctx, id);
    const changes: VimChanges = { updatedAt: tackerTimestamp(this.deps.clock.now()) };
    if (input.name !== undefined) changes.name = checkName(input.name);
    if (input.description !== undefined) changes.description = input.description;
    if (input.extra !== undefined) changes.extra = input.extra;
    if (input.monitorSettings !== undefined) changes.monitorSettings = this.checkMonitorSettings(input.monitorSettings);
    if (input.vimProject !== undefined) {
      changes.vimProject = validateVimProject(current.type, { ...current.vimProject, ...input.vimProject });
    }
    if (input.authCred !== undefined) {
      const plain = openAuthCred(current.sealedAuthCred, this.deps.cipher);
      const merged = mergeAuthCred(current.type, plain, input.authCred);
      // Only a URL this update brings is judged: a VIM stays updatable after the policy tightened (its probes are refused anyway).
      if (merged.oidc_token_url !== undefined && merged.oidc_token_url !== plain.oidc_token_url) {
        await checkProbeTarget(merged.oidc_token_url, 'auth_cred.oidc_token_url', this.targetGuard);
      }
      changes.sealedAuthCred = sealAuthCred(merged, this.deps.cipher);
    }
    if (input.isDefault !== undefined && input.isDefault !== current.isDefault) {
      if (input.isDefault) await this.ensureNoOtherDefault(current.tenantId, current.id);
      changes.isDefault = input.isDefault;
    }
    const updated = await this.deps.repository.update(id, current.tenantId, current.name, changes);
    if (!updated) throw new VimNotFoundError(id);
    await this.listener?.vimUpdated(updated);
    return updated;
  }

  /** The monitor is stopped before the row goes, so no probe of a deleted VIM is ever sent. */
  async delete(ctx: RequestContext, id: string): Promise<VimRecord> {
    const vim = await this.get(ctx, id);
    await this.listener?.vimDeleted(vim);
    if (!(await this.deps.repository.delete(id))) throw new VimNotFoundError(id);
    return vim;
  }

  /** Decrypted credentials, for the monitors only; never for a response. */
  credentialsOf(vim: VimRecord): Record<string, string> {
    return openAuthCred(vim.sealedAuthCred, this.deps.cipher);
  }

  /** Every URL the probes of this VIM will connect to, against the probe target policy. */
  private async checkTargets(authUrl: string, authCred: Record<string, string>): Promise<void> {
    await checkProbeTarget(authUrl, 'auth_url', this.targetGuard);
    if (authCred.oidc_token_url !== undefined) await checkProbeTarget(authCred.oidc_token_url, 'auth_cred.oidc_token_url', this.targetGuard);
  }

  private checkMonitorSettings(settings: MonitorSettingsOverride | null | undefined): MonitorSettingsOverride | null {
    if (settings === undefined || settings === null || Object.keys(settings).length === 0) return null;
    effectiveSettings(this.deps.monitorDefaults ?? DEFAULT_MONITOR_SETTINGS, settings);
    return settings;
  }

  /**
   * Checked up front for a message that names the existing default; the
   * unique index on default_tenant still guards concurrent requests.
   */
  private async ensureNoOtherDefault(tenantId: string, exceptId?: string): Promise<void> {
    const existing = await this.deps.repository.findDefault(tenantId);
    if (existing && existing.id !== exceptId) throw new DuplicateDefaultVimError(tenantId, existing.id);
  }
}

function checkName(raw: string): string {
  const name = raw.trim();
  if (name === '') throw new InvalidInputError('name must not be empty');
  if (name.length > 255) throw new InvalidInputError('name is longer than 255 characters');
  return name;
}
