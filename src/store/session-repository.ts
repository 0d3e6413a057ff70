import { guardStore, type Store } from './database.js';
import type { UiSessionsTable } from './schema.js';

/** A dashboard session as stored: the id only as its hash, the Keystone token only sealed. */
export interface StoredSession {
  /** SHA-256 of the cookie's session id, in hex. */
  idHash: string;
  csrfToken: string;
  /** The Keystone token, as a SecretCipher envelope. */
  sealedToken: string;
  userId: string;
  userName: string;
  projectId: string;
  projectName: string;
  roles: string[];
  createdAtMs: number;
  expiresAtMs: number;
}

/** All SQL about ui_sessions (migration 0010). */
export class SessionRepository {
  constructor(private readonly store: Store) {}

  async create(session: StoredSession): Promise<void> {
    await guardStore(this.store, () => this.store.db.insertInto('ui_sessions').values(toRow(session)).execute());
  }

  /** The session with this id hash, unless it has expired by `nowMs` (an expired row waits for deleteExpired). */
  async find(idHash: string, nowMs: number): Promise<StoredSession | undefined> {
    const row = await guardStore(this.store, () =>
      this.store.db.selectFrom('ui_sessions').selectAll().where('id_hash', '=', idHash).where('expires_at_ms', '>', nowMs).executeTakeFirst(),
    );
    return row ? fromRow(row) : undefined;
  }

  /** Returns whether there was such a session. */
  async delete(idHash: string): Promise<boolean> {
    const result = await guardStore(this.store, () => this.store.db.deleteFrom('ui_sessions').where('id_hash', '=', idHash).executeTakeFirst());
    return Number(result.numDeletedRows) > 0;
  }

  /** Deletes sessions expired by `nowMs`, oldest first, at most `limit` a call; returns how many. */
  async deleteExpired(nowMs: number, limit: number): Promise<number> {
    return guardStore(this.store, async () => {
      // Named by key: MySQL cannot delete from a table it selects from in the same statement.
      const victims = await this.store.db
        .selectFrom('ui_sessions')
        .select('id_hash')
        .where('expires_at_ms', '<=', nowMs)
        .orderBy('expires_at_ms')
        .limit(limit)
        .execute();
      if (victims.length === 0) return 0;
      const result = await this.store.db
        .deleteFrom('ui_sessions')
        .where('id_hash', 'in', victims.map((row) => row.id_hash))
        .where('expires_at_ms', '<=', nowMs)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    });
  }
}

function toRow(session: StoredSession): UiSessionsTable {
  return {
    id_hash: session.idHash,
    csrf_token: session.csrfToken,
    token: session.sealedToken,
    user_id: session.userId,
    user_name: session.userName,
    project_id: session.projectId,
    project_name: session.projectName,
    roles: JSON.stringify(session.roles),
    created_at_ms: session.createdAtMs,
    expires_at_ms: session.expiresAtMs,
  };
}

function fromRow(row: UiSessionsTable): StoredSession {
  const roles: unknown = JSON.parse(row.roles);
  return {
    idHash: row.id_hash,
    csrfToken: row.csrf_token,
    sealedToken: row.token,
    userId: row.user_id,
    userName: row.user_name,
    projectId: row.project_id,
    projectName: row.project_name,
    roles: Array.isArray(roles) ? roles.filter((role): role is string => typeof role === 'string') : [],
    // bigint columns come back as strings from PostgreSQL.
    createdAtMs: Number(row.created_at_ms),
    expiresAtMs: Number(row.expires_at_ms),
  };
}
