import { guardStore, type Store } from './database.js';

/** A row of vim_confirmations as both sides read it. */
export interface ConfirmationRow {
  id: string;
  vimId: string;
  requester: string;
  worker: string;
  deadlineMs: number;
  /** Undefined until answered. */
  answer?: { down: boolean; reason: string; atMs: number };
}

export interface NewConfirmation {
  id: string;
  vimId: string;
  worker: string;
  deadlineMs: number;
}

export interface LiveWorker {
  id: string;
  zone: string | null;
}

/** Rows written or named in one statement: a burst of requests (a whole rack gone) costs a few statements, not one per row. */
const BATCH = 500;
const REASON_LENGTH = 500;

/**
 * The shared-database side of confirmation from other vantage points
 * (src/confirm): requests to other workers and their answers, one row per
 * asked worker, and the workers' zones. Each worker reads what concerns it
 * with one indexed query per poll (poll()), whatever the number of VIMs.
 */
export class ConfirmationRepository {
  constructor(private readonly store: Store) {}

  /** Live workers (heartbeat at or after `sinceMs`) with their zones. */
  async liveWorkers(sinceMs: number): Promise<LiveWorker[]> {
    return guardStore(this.store, async () => {
      const rows = await this.store.db.selectFrom('workers').select(['id', 'zone']).where('heartbeat_ms', '>=', sinceMs).orderBy('id').execute();
      return rows.map((row) => ({ id: row.id, zone: row.zone }));
    });
  }

  /** Records this worker's zone on its heartbeat row (the manager's heartbeat creates the row; false when it is not there yet). */
  async setZone(workerId: string, zone: string | null): Promise<boolean> {
    return guardStore(this.store, async () => {
      const result = await this.store.db.updateTable('workers').set({ zone }).where('id', '=', workerId).executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    });
  }

  /** All or nothing (one transaction), so that requests put back after a failure are never written twice. */
  async ask(requester: string, nowMs: number, requests: readonly NewConfirmation[]): Promise<void> {
    await guardStore(this.store, () =>
      this.store.db.transaction().execute(async (trx) => {
        for (let start = 0; start < requests.length; start += BATCH) {
          const values = requests.slice(start, start + BATCH).map((request) => ({
            id: request.id,
            vim_id: request.vimId,
            requester,
            worker: request.worker,
            requested_at_ms: nowMs,
            deadline_ms: request.deadlineMs,
          }));
          await trx.insertInto('vim_confirmations').values(values).execute();
        }
      }),
    );
  }

  /**
   * One query: the requests this worker was asked and has not answered (deadline not passed), and, when it waits
   * for answers itself, the answered requests it made.
   */
  async poll(worker: string, nowMs: number, withAnswers: boolean, limit: number): Promise<{ asked: ConfirmationRow[]; answered: ConfirmationRow[] }> {
    return guardStore(this.store, async () => {
      const rows = await this.store.db
        .selectFrom('vim_confirmations')
        .select(['id', 'vim_id', 'requester', 'worker', 'deadline_ms', 'answered_at_ms', 'down', 'reason'])
        .where((eb) => {
          const asked = eb.and([eb('worker', '=', worker), eb('answered_at_ms', 'is', null), eb('deadline_ms', '>', nowMs)]);
          return withAnswers ? eb.or([asked, eb.and([eb('requester', '=', worker), eb('answered_at_ms', 'is not', null)])]) : asked;
        })
        .orderBy('deadline_ms')
        .limit(limit)
        .execute();
      const asked: ConfirmationRow[] = [];
      const answered: ConfirmationRow[] = [];
      for (const row of rows) {
        const base = { id: row.id, vimId: row.vim_id, requester: row.requester, worker: row.worker, deadlineMs: Number(row.deadline_ms) };
        if (row.answered_at_ms === null) asked.push(base);
        else answered.push({ ...base, answer: { down: Number(row.down) === 1, reason: row.reason ?? '', atMs: Number(row.answered_at_ms) } });
      }
      return { asked, answered };
    });
  }

  /** Writes one answer; a row already deleted (the requester decided or gave up) is no error. */
  async answer(id: string, down: boolean, reason: string, atMs: number): Promise<void> {
    await this.answerMany([{ id, down, reason }], atMs);
  }

  /**
   * Writes answers with one statement per distinct (down, reason): in a burst most answers say the same
   * (`all probes succeeded: tcp: connected`), so thousands cost a few statements, not one each.
   */
  async answerMany(answers: ReadonlyArray<{ id: string; down: boolean; reason: string }>, atMs: number): Promise<void> {
    const groups = new Map<string, { down: boolean; reason: string; ids: string[] }>();
    for (const answer of answers) {
      const reason = answer.reason.slice(0, REASON_LENGTH);
      const key = `${answer.down ? 1 : 0}\u0000${reason}`;
      const group = groups.get(key) ?? { down: answer.down, reason, ids: [] };
      group.ids.push(answer.id);
      groups.set(key, group);
    }
    await guardStore(this.store, async () => {
      for (const { down, reason, ids } of groups.values()) {
        for (let start = 0; start < ids.length; start += BATCH) {
          await this.store.db
            .updateTable('vim_confirmations')
            .set({ answered_at_ms: atMs, down: down ? 1 : 0, reason })
            .where('id', 'in', ids.slice(start, start + BATCH))
            .where('answered_at_ms', 'is', null)
            .execute();
        }
      }
    });
  }

  async remove(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await guardStore(this.store, async () => {
      for (let start = 0; start < ids.length; start += BATCH) {
        await this.store.db.deleteFrom('vim_confirmations').where('id', 'in', ids.slice(start, start + BATCH)).execute();
      }
    });
  }

  /** Deletes rows requested before `beforeMs`, whoever made them (a requester that died leaves its rows behind). */
  async removeOlderThan(beforeMs: number): Promise<number> {
    return guardStore(this.store, async () => {
      const result = await this.store.db.deleteFrom('vim_confirmations').where('requested_at_ms', '<', beforeMs).executeTakeFirst();
      return Number(result.numDeletedRows);
    });
  }

  async count(): Promise<number> {
    return guardStore(this.store, async () => {
      const row = await this.store.db.selectFrom('vim_confirmations').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return Number(row.n);
    });
  }
}
