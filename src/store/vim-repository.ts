import type { Insertable, Selectable, Transaction, Updateable } from 'kysely';
import { DuplicateDefaultVimError, DuplicateVimNameError, InternalError } from '../errors.js';
import type { CapacityFigures, Condition, Health } from '../health/condition.js';
import type { AuthCred, PlacementAttr, VimFilter, VimProject, VimRecord, VimStatus, VimType } from '../vims/model.js';
import type { MonitorSettingsOverride } from '../monitors/settings.js';
import { guardStore, type Store } from './database.js';
import { deleteVimHistory } from './history-repository.js';
import type { DatabaseSchema, VimsTable } from './schema.js';
import { checkTextColumns } from './text-columns.js';
import { interned } from './interned.js';

type VimRow = Selectable<VimsTable>;
export type VimChanges = Partial<
  Pick<VimRecord, 'name' | 'description' | 'isDefault' | 'sealedAuthCred' | 'vimProject' | 'extra' | 'status' | 'placementAttr' | 'monitorSettings'>
> & { updatedAt: string };

/**
 * All SQL about VIMs. Translates rows to records and constraint violations to
 * domain errors. Every insert, update and delete also moves the change
 * counter, in the same transaction, so that sweeps can tell cheaply whether
 * anything changed.
 */
export class VimRepository {
  constructor(private readonly store: Store) {}

  async insert(vim: VimRecord): Promise<void> {
    const row = toRow(vim);
    checkTextColumns('VIM', { description: row.description, auth_url: row.auth_url, auth_cred: row.auth_cred, vim_project: row.vim_project, extra: row.extra });
    await this.write(vim.tenantId, vim.name, () =>
      this.store.db.transaction().execute(async (trx) => {
        await trx.insertInto('vims').values(row).execute();
        await countChange(trx);
      }),
    );
  }

  async findById(id: string): Promise<VimRecord | undefined> {
    return guardStore(this.store, async () => {
      const row = await this.store.db.selectFrom('vims').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? fromRow(row) : undefined;
    });
  }

  async findDefault(tenantId: string): Promise<VimRecord | undefined> {
    return guardStore(this.store, async () => {
      const row = await this.store.db.selectFrom('vims').selectAll().where('default_tenant', '=', tenantId).executeTakeFirst();
      return row ? fromRow(row) : undefined;
    });
  }

  async list(filter: VimFilter): Promise<VimRecord[]> {
    const lists = [filter.tenantIds, filter.ids, filter.names, filter.types, filter.statuses];
    // A filter with no allowed value matches nothing (and SQL has no `IN ()`).
    if (lists.some((values) => values !== undefined && values.length === 0)) return [];
    return guardStore(this.store, async () => {
      let query = this.store.db.selectFrom('vims').selectAll();
      if (filter.tenantIds) query = query.where('tenant_id', 'in', filter.tenantIds);
      if (filter.ids) query = query.where('id', 'in', filter.ids);
      if (filter.names) query = query.where('name', 'in', filter.names);
      if (filter.types) query = query.where('type', 'in', filter.types);
      if (filter.statuses) query = query.where('status', 'in', filter.statuses);
      if (filter.isDefault !== undefined) query = query.where('is_default', '=', filter.isDefault ? 1 : 0);
      const rows = await query.orderBy('created_at').orderBy('id').execute();
      return rows.map(fromRow);
    });
  }

  /** Applies changes; returns undefined when the VIM no longer exists. */
  async update(id: string, tenantId: string, name: string, changes: VimChanges): Promise<VimRecord | undefined> {
    const values: Updateable<VimsTable> = { updated_at: changes.updatedAt };
    if (changes.name !== undefined) values.name = changes.name;
    if (changes.description !== undefined) values.description = changes.description;
    if (changes.isDefault !== undefined) {
      values.is_default = changes.isDefault ? 1 : 0;
      values.default_tenant = changes.isDefault ? tenantId : null;
    }
    if (changes.sealedAuthCred !== undefined) values.auth_cred = JSON.stringify(changes.sealedAuthCred);
    if (changes.vimProject !== undefined) values.vim_project = JSON.stringify(changes.vimProject);
    if (changes.extra !== undefined) values.extra = JSON.stringify(changes.extra);
    if (changes.status !== undefined) values.status = changes.status;
    if (changes.placementAttr !== undefined) values.placement_attr = JSON.stringify(changes.placementAttr);
    if (changes.monitorSettings !== undefined) {
      values.monitor_settings = changes.monitorSettings === null ? null : JSON.stringify(changes.monitorSettings);
    }
    checkTextColumns('VIM', { description: values.description, auth_cred: values.auth_cred, vim_project: values.vim_project, extra: values.extra });

    return this.write(tenantId, changes.name ?? name, async () =>
      this.store.db.transaction().execute(async (trx: Transaction<DatabaseSchema>) => {
        const result = await trx
          .updateTable('vims')
          .set(values)
          .set((eb) => ({ revision: eb('revision', '+', 1) }))
          .where('id', '=', id)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0) return undefined;
        await countChange(trx);
        const row = await trx.selectFrom('vims').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
        return fromRow(row);
      }),
    );
  }

  /** id → revision of every VIM: the sweep's cheap way to notice creations, deletions and updates. */
  async revisions(): Promise<Map<string, number>> {
    return guardStore(this.store, async () => {
      const rows = await this.store.db.selectFrom('vims').select(['id', 'revision']).execute();
      return new Map(rows.map((row) => [row.id, Number(row.revision)]));
    });
  }

  /** The change counter: moves with every VIM insert, update and delete. Undefined if its row is missing (then assume change). */
  async changeCounter(): Promise<number | undefined> {
    return guardStore(this.store, async () => {
      const row = await this.store.db.selectFrom('vim_change_counter').select('changes').where('id', '=', 1).executeTakeFirst();
      return row === undefined ? undefined : Number(row.changes);
    });
  }

  async delete(id: string): Promise<boolean> {
    return guardStore(this.store, () =>
      this.store.db.transaction().execute(async (trx) => {
        const result = await trx.deleteFrom('vims').where('id', '=', id).executeTakeFirst();
        const deleted = Number(result.numDeletedRows) > 0;
        if (deleted) {
          await countChange(trx);
          await deleteVimHistory(trx, id);
        }
        return deleted;
      }),
    );
  }

  /** Runs a write and reports unique-index violations as the domain's 409 errors. */
  private async write<T>(tenantId: string, name: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await guardStore(this.store, operation);
    } catch (error) {
      const failure = this.store.driver.classify(error);
      if (failure.kind === 'unique') {
        if (failure.constraint.includes('default_tenant')) throw new DuplicateDefaultVimError(tenantId);
        if (failure.constraint.includes('name')) throw new DuplicateVimNameError(name, tenantId);
      }
      throw error;
    }
  }
}

/** Moves the change counter; called inside the transaction of the VIM write, so a sweep never sees one without the other. */
async function countChange(trx: Transaction<DatabaseSchema>): Promise<void> {
  await trx
    .updateTable('vim_change_counter')
    .set((eb) => ({ changes: eb('changes', '+', 1) }))
    .where('id', '=', 1)
    .execute();
}

function toRow(vim: VimRecord): Insertable<VimsTable> {
  return {
    id: vim.id,
    tenant_id: vim.tenantId,
    name: vim.name,
    description: vim.description,
    type: vim.type,
    auth_url: vim.authUrl,
    auth_cred: JSON.stringify(vim.sealedAuthCred),
    vim_project: JSON.stringify(vim.vimProject),
    is_default: vim.isDefault ? 1 : 0,
    default_tenant: vim.isDefault ? vim.tenantId : null,
    extra: JSON.stringify(vim.extra),
    status: vim.status,
    placement_attr: JSON.stringify(vim.placementAttr),
    created_at: vim.createdAt,
    updated_at: vim.updatedAt,
    revision: vim.revision,
    monitor_settings: vim.monitorSettings === null ? null : JSON.stringify(vim.monitorSettings),
    conditions: vim.conditions.length === 0 ? null : JSON.stringify(vim.conditions),
    health: vim.health,
    capacity: vim.capacity === null ? null : JSON.stringify(vim.capacity),
  };
}

function fromRow(row: VimRow): VimRecord {
  const project = parseJson<VimProject>(row.vim_project, 'vim_project', row.id);
  return {
    id: row.id,
    tenantId: interned(row.tenant_id),
    name: row.name,
    description: row.description,
    type: interned(row.type) as VimType,
    authUrl: row.auth_url,
    sealedAuthCred: parseJson<AuthCred>(row.auth_cred, 'auth_cred', row.id),
    vimProject: internedValues(project),
    isDefault: Number(row.is_default) === 1,
    extra: parseJson<Record<string, unknown>>(row.extra, 'extra', row.id),
    status: interned(row.status) as VimStatus,
    placementAttr: parseJson<PlacementAttr>(row.placement_attr, 'placement_attr', row.id),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    revision: Number(row.revision),
    monitorSettings: row.monitor_settings === null ? null : parseJson<MonitorSettingsOverride>(row.monitor_settings, 'monitor_settings', row.id),
    conditions: row.conditions === null ? [] : parseJson<Condition[]>(row.conditions, 'conditions', row.id).map(internedCondition),
    health: interned(row.health) as Health | null,
    capacity: row.capacity === null ? null : parseJson<CapacityFigures>(row.capacity, 'capacity', row.id),
  };
}

/** The names of a project (name, domain): few distinct values across VIMs. */
function internedValues<T extends object>(record: T): T {
  for (const [key, value] of Object.entries(record)) if (typeof value === 'string') (record as Record<string, unknown>)[key] = interned(value);
  return record;
}

/** A stored condition with its type, layer, status and severity shared across VIMs (reason and times are its own). */
function internedCondition(condition: Condition): Condition {
  condition.type = interned(condition.type) as Condition['type'];
  condition.layer = interned(condition.layer) as Condition['layer'];
  condition.status = interned(condition.status) as Condition['status'];
  condition.severity = interned(condition.severity) as Condition['severity'];
  return condition;
}

function parseJson<T>(text: string, column: string, id: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new InternalError(`stored ${column} of VIM ${id} is not valid JSON`, { cause: error });
  }
}
