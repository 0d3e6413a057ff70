import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryId, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../../test/support/databases.js';
import { vimRecord } from '../../test/support/probe-target.js';
import { openStore, type Store } from './database.js';
import { LeaseRepository, type ClaimScope } from './lease-repository.js';
import { migrateToLatest } from './migrate.js';
import { VimRepository } from './vim-repository.js';

const AT = '2026-01-01 00:00:00.000000';
const NOW = 1_000_000;
const TTL = 8_000;
const LIVE_SINCE = NOW - TTL;

/** Every statement run through it, compiled; optionally adds a row to the result of the read of VIMs missing a monitor row. */
class Statements implements KyselyPlugin {
  readonly sql: string[] = [];
  private readonly missingReads = new WeakSet<QueryId>();
  /** A VIM id the next read of missing rows also returns, as if another worker made its row right after the read. */
  raceWith: string | undefined;
  /** Runs once the next claim's locking read has returned, before its UPDATE (another process meanwhile). */
  afterClaimRead: (() => Promise<void>) | undefined;
  private readonly claimReads = new WeakSet<QueryId>();

  constructor(private readonly store: Store) {}

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const compiled = this.store.db.getExecutor().compileQuery(args.node, args.queryId).sql;
    this.sql.push(compiled);
    if (/^select [`"]id[`"] from [`"]vims[`"] where not exists/.test(compiled)) this.missingReads.add(args.queryId);
    if (/^select [`"]vim_id[`"], [`"]owner[`"] from [`"]vim_monitors[`"]/.test(compiled)) this.claimReads.add(args.queryId);
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const meanwhile = this.afterClaimRead;
    if (meanwhile && this.claimReads.has(args.queryId)) {
      this.afterClaimRead = undefined;
      await meanwhile();
    }
    if (!this.raceWith || !this.missingReads.has(args.queryId)) return args.result;
    const rows = [...args.result.rows, { id: this.raceWith }];
    this.raceWith = undefined;
    return { ...args.result, rows };
  }

  writesTo(table: string): string[] {
    return this.sql.filter((s) => new RegExp(`^(update|insert into|delete from) [\`"]${table}[\`"]`).test(s));
  }
}

describe.each(DIALECTS)('claiming monitor rows on %s', (dialect) => {
  let database: TestDatabase;
  let store: Store;
  let statements: Statements;
  let leases: LeaseRepository;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    store = openStore(database.url, { poolSize: 4 });
    await migrateToLatest(store);
    statements = new Statements(store);
    leases = new LeaseRepository({ ...store, db: store.db.withPlugin(statements) });
  });

  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  /**
   * Workers: me and other live, dead silent for longer than lease_ttl, gone without a row (pruned).
   * Rows: one free, one of each of them.
   */
  beforeEach(async () => {
    await store.db.deleteFrom('vim_monitors').execute();
    await store.db.deleteFrom('workers').execute();
    await store.db.deleteFrom('vims').execute();
    await store.db
      .insertInto('workers')
      .values([
        { id: 'me', started_at_ms: 0, heartbeat_ms: NOW, serves_api: 0 },
        { id: 'other', started_at_ms: 0, heartbeat_ms: LIVE_SINCE, serves_api: 0 },
        { id: 'dead', started_at_ms: 0, heartbeat_ms: LIVE_SINCE - 1, serves_api: 0 },
      ])
      .execute();
    const rows = [
      ['free', ''],
      ['mine', 'me'],
      ['other-live', 'other'],
      ['dead-owner', 'dead'],
      ['gone-owner', 'gone'],
    ] as const;
    await store.db
      .insertInto('vim_monitors')
      .values(rows.map(([vimId, owner]) => ({ vim_id: vimId, monitor_id: `m-${vimId}`, owner, dispatched_at: AT })))
      .execute();
    statements.sql.length = 0;
  });

  async function claimed(scope: ClaimScope, liveSince = LIVE_SINCE): Promise<string[]> {
    return (await leases.claim('me', liveSince, 100, AT, scope)).map((c) => c.vimId).sort();
  }

  async function stored() {
    return store.db.selectFrom('vim_monitors').select(['vim_id', 'monitor_id', 'owner', 'replacements', 'lease_until_ms', 'dispatched_at']).orderBy('vim_id').execute();
  }

  it('takes free rows and those of workers with no heartbeat within lease_ttl, never a live worker\'s, by default', async () => {
    expect(await claimed('lapsed')).toEqual(['dead-owner', 'free', 'gone-owner']);
    const owners = Object.fromEntries((await stored()).map((row) => [row.vim_id, row.owner]));
    expect(owners).toEqual({ free: 'me', mine: 'me', 'other-live': 'other', 'dead-owner': 'me', 'gone-owner': 'me' });
  });

  it('takes free rows and those of workers listed with a stale heartbeat, by indexes alone, not those of owners with no worker row', async () => {
    expect(await claimed('lapsed-listed')).toEqual(['dead-owner', 'free']);
    const read = statements.sql.find((s) => /^select [`"]vim_id[`"], [`"]owner[`"] from [`"]vim_monitors[`"]/.test(s));
    expect(read).not.toMatch(/exists/);
  });

  it("takes a worker's rows once its heartbeat is older than lease_ttl", async () => {
    expect(await claimed('lapsed', LIVE_SINCE + 1)).toEqual(['dead-owner', 'free', 'gone-owner', 'other-live']);
  });

  it('takes its own rows only when its own heartbeat is stale', async () => {
    expect(await claimed('lapsed', NOW + 1)).toEqual(['dead-owner', 'free', 'gone-owner', 'mine', 'other-live']);
  });

  // Only where several workers share the database: on SQLite writers are serialised (nothing can happen between the
  // read and the UPDATE) and one process owns the file, so these are not declared there rather than skipped.
  if (dialect !== 'sqlite') {
    it.each(['lapsed', 'lapsed-listed'] as const)('leaves a row whose owner heartbeated between the locking read and the UPDATE (a worker that was starting), claiming %s', async (scope) => {
      statements.afterClaimRead = async () => {
        await store.db.updateTable('workers').set({ heartbeat_ms: NOW }).where('id', '=', 'dead').execute();
      };
      const taken = await leases.claim('me', LIVE_SINCE, 100, AT, scope);
      expect(taken.map((c) => c.vimId).sort()).toEqual(scope === 'lapsed' ? ['free', 'gone-owner'] : ['free']);
      const rows = new Map((await stored()).map((row) => [row.vim_id, row]));
      expect(rows.get('dead-owner')).toMatchObject({ owner: 'dead', monitor_id: 'm-dead-owner', replacements: 0 });
      for (const { vimId, monitorId } of taken) expect(rows.get(vimId)?.monitor_id).toBe(monitorId);
    });

    it('lets 10 workers claim at once, 40 claims, without a deadlock and without two taking one row', async () => {
      const others = Array.from({ length: 10 }, () => openStore(database.url, { poolSize: 2 }));
      try {
        for (let round = 0; round < 6; round++) {
          await store.db.deleteFrom('vim_monitors').execute();
          await store.db.deleteFrom('workers').execute();
          const free = Array.from({ length: 2000 }, (_, n) => ({ vim_id: `r${round}-${String(n).padStart(5, '0')}`, monitor_id: `m${round}-${n}`, owner: '', dispatched_at: AT }));
          for (let start = 0; start < free.length; start += 500) await store.db.insertInto('vim_monitors').values(free.slice(start, start + 500)).execute();
          await store.db.insertInto('workers').values(others.map((_, i) => ({ id: `w${i}`, started_at_ms: 0, heartbeat_ms: NOW, serves_api: 0 }))).execute();
          const claims = others.flatMap((other, i) => [0, 1, 2, 3].map(async () => ({ owner: `w${i}`, taken: await new LeaseRepository(other).claim(`w${i}`, LIVE_SINCE, 60, AT) })));
          const results = await Promise.all(claims);
          const byVim = new Map<string, string>();
          for (const { owner, taken } of results) for (const { vimId } of taken) {
            expect(byVim.has(vimId)).toBe(false);
            byVim.set(vimId, owner);
          }
          expect(byVim.size).toBe(2000);
          const rows = await store.db.selectFrom('vim_monitors').select(['vim_id', 'owner']).execute();
          for (const row of rows) expect(row.owner).toBe(byVim.get(row.vim_id));
        }
      } finally {
        for (const other of others) await other.close();
      }
    });
  }

  it('takes every row of another owner but never its own when claiming for a database no one else opens', async () => {
    expect(await claimed('others')).toEqual(['dead-owner', 'free', 'gone-owner', 'other-live']);
    const mine = (await stored()).find((row) => row.vim_id === 'mine');
    expect(mine?.monitor_id).toBe('m-mine');
  });

  it('takes every row, its own name included, at start-up on such a database', async () => {
    expect(await claimed('all')).toEqual(['dead-owner', 'free', 'gone-owner', 'mine', 'other-live']);
    const owners = await store.db.selectFrom('vim_monitors').select('owner').distinct().execute();
    expect(owners).toEqual([{ owner: 'me' }]);
  });

  it('gives each claimed row its own new monitor id in one UPDATE, and counts a replacement only where the row had an owner', async () => {
    const taken = await leases.claim('me', LIVE_SINCE, 100, '2026-01-02 00:00:00.000000', 'lapsed');
    expect(statements.writesTo('vim_monitors')).toHaveLength(1);
    const ids = taken.map((c) => c.monitorId);
    expect(new Set(ids).size).toBe(3);
    const rows = new Map((await stored()).map((row) => [row.vim_id, row]));
    for (const { vimId, monitorId } of taken) {
      expect(rows.get(vimId)).toMatchObject({ monitor_id: monitorId, owner: 'me', dispatched_at: '2026-01-02 00:00:00.000000' });
      expect(monitorId).not.toBe(`m-${vimId}`);
    }
    expect(rows.get('free')?.replacements).toBe(0);
    expect(rows.get('dead-owner')?.replacements).toBe(1);
    expect(rows.get('gone-owner')?.replacements).toBe(1);
    expect(rows.get('mine')?.monitor_id).toBe('m-mine');
  });

  it('claims 1,200 free rows with one locking read and an UPDATE per 500 rows, each with a distinct monitor id', async () => {
    await store.db.deleteFrom('vim_monitors').execute();
    const many = Array.from({ length: 1200 }, (_, n) => ({ vim_id: `v-${String(n).padStart(5, '0')}`, monitor_id: `m-${n}`, owner: '', dispatched_at: AT }));
    for (let start = 0; start < many.length; start += 400) await store.db.insertInto('vim_monitors').values(many.slice(start, start + 400)).execute();
    statements.sql.length = 0;

    const taken = await leases.claim('me', LIVE_SINCE, 5_000, AT);
    expect(taken).toHaveLength(1200);
    expect(new Set(taken.map((c) => c.monitorId)).size).toBe(1200);
    expect(statements.sql.filter((s) => /^select .* from [`"]vim_monitors[`"]/.test(s))).toHaveLength(1);
    expect(statements.writesTo('vim_monitors')).toHaveLength(3);
    const rows = await store.db.selectFrom('vim_monitors').select(['vim_id', 'monitor_id', 'owner']).execute();
    const byVim = new Map(taken.map((c) => [c.vimId, c.monitorId]));
    for (const row of rows) expect(row).toEqual({ vim_id: row.vim_id, monitor_id: byVim.get(row.vim_id), owner: 'me' });
  });

  it('renews nothing row by row: counting what an owner holds writes no monitor row, and says nothing when the count is as expected', async () => {
    const before = await stored();
    expect(await leases.heldIfChanged('me', 1)).toBeUndefined();
    expect(await leases.heldIfChanged('other', 1)).toBeUndefined();
    expect(statements.writesTo('vim_monitors')).toEqual([]);
    expect(await stored()).toEqual(before);
  });

  it('says which rows an owner holds when the count differs from the monitors it runs (a row lost, or one it does not run)', async () => {
    // It ran two monitors; one row was taken over meanwhile.
    expect(await leases.heldIfChanged('me', 2)).toEqual(new Map([['mine', 'm-mine']]));
    expect(await leases.heldIfChanged('me', 0)).toEqual(new Map([['mine', 'm-mine']]));
    expect(await leases.heldIfChanged('nobody', 1)).toEqual(new Map());
  });

  it('hands rows back by making them free, only those of the owner', async () => {
    await leases.release('me', ['mine', 'other-live']);
    const owners = Object.fromEntries((await stored()).map((row) => [row.vim_id, row.owner]));
    expect(owners).toMatchObject({ mine: '', 'other-live': 'other' });
  });

  it("frees every row of an owner at once (a previous life's, at start-up), and says how many", async () => {
    await store.db.updateTable('vim_monitors').set({ owner: 'me' }).where('vim_id', '=', 'free').execute();
    expect(await leases.releaseAll('me')).toBe(2);
    const owners = Object.fromEntries((await stored()).map((row) => [row.vim_id, row.owner]));
    expect(owners).toEqual({ free: '', mine: '', 'other-live': 'other', 'dead-owner': 'dead', 'gone-owner': 'gone' });
  });

  describe('creating the rows of VIMs that have none', () => {
    const vimId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

    beforeEach(async () => {
      await store.db.deleteFrom('vim_monitors').execute();
      const vims = new VimRepository(store);
      const base = vimRecord('openstack', 'http://127.0.0.1:5000/v3');
      const rows = Array.from({ length: 1100 }, (_, n) => ({ ...base, id: vimId(n), name: `vim-${n}` }));
      await Promise.all([0, 1, 2, 3].map(async (lane) => {
        for (let n = lane; n < rows.length; n += 4) await vims.insert(rows[n]!);
      }));
      statements.sql.length = 0;
    });

    it('makes them free, in one INSERT per 500 rows', async () => {
      expect(await leases.ensureRows(AT)).toBe(1100);
      expect(statements.writesTo('vim_monitors')).toHaveLength(3);
      const rows = await store.db.selectFrom('vim_monitors').select(['owner', 'monitor_id']).execute();
      expect(rows).toHaveLength(1100);
      expect(new Set(rows.map((row) => row.owner))).toEqual(new Set(['']));
      expect(new Set(rows.map((row) => row.monitor_id)).size).toBe(1100);
      expect(await leases.ensureRows(AT)).toBe(0);
    });

    it('leaves alone a row another worker made between its read and its insert', async () => {
      await store.db.insertInto('vim_monitors').values({ vim_id: vimId(7), monitor_id: 'made-elsewhere', owner: 'other', dispatched_at: AT }).execute();
      statements.raceWith = vimId(7);
      const made = await leases.ensureRows(AT);
      // MySQL/MariaDB report the row found as affected.
      expect(made).toBe(dialect === 'mysql' ? 1100 : 1099);
      const raced = await store.db.selectFrom('vim_monitors').select(['monitor_id', 'owner']).where('vim_id', '=', vimId(7)).executeTakeFirst();
      expect(raced).toEqual({ monitor_id: 'made-elsewhere', owner: 'other' });
      expect(Number((await store.db.selectFrom('vim_monitors').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)).toBe(1100);
    });
  });
});
