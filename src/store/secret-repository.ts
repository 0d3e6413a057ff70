import type { Transaction } from 'kysely';
import { SecretCipher } from '../secrets/cipher.js';
import { SECRET_FIELDS } from '../vims/credentials.js';
import { guardStore, type Store } from './database.js';
import type { DatabaseSchema } from './schema.js';

export interface KeyCheck {
  keyId: string;
  pendingKeyId: string | null;
}

export interface ResealOutcome {
  vims: number;
  subscriptions: number;
  /** Dashboard sessions (their Keystone tokens). */
  sessions: number;
}

/**
 * The key check row and every value sealed with the secret key: the secret
 * fields of VIM credentials, webhook signing secrets (the AMQP channel's
 * row holds none) and the Keystone tokens of dashboard sessions. Whoever adds another sealed column adds it here, or
 * rotation and the start-up check would miss it.
 */
export class SecretRepository {
  constructor(private readonly store: Store) {}

  async keyCheck(): Promise<KeyCheck | undefined> {
    return guardStore(this.store, async () => {
      const row = await this.store.db.selectFrom('secret_key_check').select(['key_id', 'pending_key_id']).where('id', '=', 1).executeTakeFirst();
      return row ? { keyId: row.key_id, pendingKeyId: row.pending_key_id } : undefined;
    });
  }

  /** Stores the key id unless one is stored already; returns the stored one (the winner when two first starts race). */
  async adoptKeyId(keyId: string, at: string): Promise<string> {
    try {
      await guardStore(this.store, () => this.store.db.insertInto('secret_key_check').values({ id: 1, key_id: keyId, pending_key_id: null, changed_at: at }).execute());
    } catch (error) {
      if (this.store.driver.classify(error).kind !== 'unique') throw error;
    }
    const stored = await this.keyCheck();
    if (!stored) throw new Error('the secret key check row vanished right after it was written');
    return stored.keyId;
  }

  /** Records the key a rotation is about to commit, so that a start-up refused meanwhile can name it. */
  async setPendingKeyId(keyId: string, pendingKeyId: string | null): Promise<void> {
    await guardStore(this.store, () =>
      this.store.db.updateTable('secret_key_check').set({ pending_key_id: pendingKeyId }).where('id', '=', 1).where('key_id', '=', keyId).execute(),
    );
  }

  /**
   * Processes that still use the database: workers whose heartbeat is at or
   * after `heartbeatSinceMs`, and owners of delivery leases still valid at
   * `nowMs` (API-only processes deliver events too).
   */
  async runningProcesses(nowMs: number, heartbeatSinceMs: number): Promise<string[]> {
    return guardStore(this.store, async () => {
      const workers = await this.store.db.selectFrom('workers').select('id').where('heartbeat_ms', '>=', heartbeatSinceMs).execute();
      const owners = await this.store.db
        .selectFrom('subscriptions')
        .select('owner')
        .where('owner', '<>', '')
        .where('lease_until_ms', '>', nowMs)
        .execute();
      return [...new Set([...workers.map((row) => row.id), ...owners.map((row) => row.owner)])].sort();
    });
  }

  /** Every sealed value in the database (envelopes only). */
  async sealedValues(): Promise<string[]> {
    return guardStore(this.store, async () => {
      const vims = await this.store.db.selectFrom('vims').select('auth_cred').execute();
      const subscriptions = await this.store.db.selectFrom('subscriptions').select('secret').where('secret', '<>', '').execute();
      const sessions = await this.store.db.selectFrom('ui_sessions').select('token').execute();
      return [...vims.flatMap((row) => sealedFieldsOf(row.auth_cred)), ...subscriptions.map((row) => row.secret), ...sessions.map((row) => row.token)];
    });
  }

  /**
   * Re-seals every sealed value and moves the key check from `fromKeyId` to
   * `toKeyId`, all in one transaction: a crash leaves either the old state or
   * the new one. The check moves first, so a second rotation running at the
   * same time waits on its row and then finds it changed. `beforeCommit` runs
   * last inside the transaction (tests use it to crash there).
   */
  async resealAll(
    fromKeyId: string,
    toKeyId: string,
    reseal: (envelope: string) => string,
    at: string,
    beforeCommit?: () => void | Promise<void>,
  ): Promise<ResealOutcome> {
    return guardStore(this.store, () =>
      this.store.db.transaction().execute(async (trx: Transaction<DatabaseSchema>) => {
        const moved = await trx
          .updateTable('secret_key_check')
          .set({ key_id: toKeyId, pending_key_id: null, changed_at: at })
          .where('id', '=', 1)
          .where('key_id', '=', fromKeyId)
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) !== 1) throw new Error(`the stored key check is no longer ${fromKeyId}: another rotation ran meanwhile`);
        const outcome: ResealOutcome = { vims: 0, subscriptions: 0, sessions: 0 };
        for (const row of await trx.selectFrom('vims').select(['id', 'auth_cred']).execute()) {
          const cred = JSON.parse(row.auth_cred) as Record<string, unknown>;
          let changed = false;
          for (const [field, value] of Object.entries(cred)) {
            if (!SECRET_FIELDS.has(field) || typeof value !== 'string' || !SecretCipher.isEnvelope(value)) continue;
            cred[field] = reseal(value);
            changed = true;
          }
          if (!changed) continue;
          await trx.updateTable('vims').set({ auth_cred: JSON.stringify(cred) }).where('id', '=', row.id).execute();
          outcome.vims++;
        }
        for (const row of await trx.selectFrom('subscriptions').select(['id', 'secret']).where('secret', '<>', '').execute()) {
          await trx.updateTable('subscriptions').set({ secret: reseal(row.secret) }).where('id', '=', row.id).execute();
          outcome.subscriptions++;
        }
        for (const row of await trx.selectFrom('ui_sessions').select(['id_hash', 'token']).execute()) {
          await trx.updateTable('ui_sessions').set({ token: reseal(row.token) }).where('id_hash', '=', row.id_hash).execute();
          outcome.sessions++;
        }
        await beforeCommit?.();
        return outcome;
      }),
    );
  }
}

function sealedFieldsOf(authCred: string): string[] {
  const cred = JSON.parse(authCred) as Record<string, unknown>;
  return Object.entries(cred)
    .filter((entry): entry is [string, string] => SECRET_FIELDS.has(entry[0]) && typeof entry[1] === 'string' && SecretCipher.isEnvelope(entry[1]))
    .map(([, value]) => value);
}
