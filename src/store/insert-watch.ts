import { InsertQueryNode, type KyselyPlugin, type PluginTransformQueryArgs, type PluginTransformResultArgs, type QueryResult, type RootOperationNode, type UnknownRow } from 'kysely';

/**
 * Tells in-process listeners that rows were inserted into a table through this
 * store: a loop that would otherwise poll the database for them can sleep
 * (issue 13: an idle service must cost next to nothing). It sees only this
 * process's writes, so it replaces polling only on a database no other
 * process can open (SQLite). A listener is called after the INSERT ran, inside
 * its transaction if it has one; on SQLite a reader it wakes waits for the
 * single connection, hence for the commit. A rolled-back insert still calls
 * it: listeners must take a call as "look again", not as a fact.
 */
export class InsertWatch implements KyselyPlugin {
  private readonly listeners = new Map<string, Set<() => void>>();
  /** Queries seen by transformQuery whose table has listeners, until their result comes back. */
  private readonly pending = new WeakMap<object, string>();

  /** Calls `listener` after each insert into `table`; returns the function that removes it. */
  onInsert(table: string, listener: () => void): () => void {
    let set = this.listeners.get(table);
    if (!set) {
      set = new Set();
      this.listeners.set(table, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (this.listeners.size > 0 && InsertQueryNode.is(args.node)) {
      const table = args.node.into?.table.identifier.name;
      if (table !== undefined && this.listeners.has(table)) this.pending.set(args.queryId, table);
    }
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const table = this.pending.get(args.queryId);
    if (table !== undefined) {
      this.pending.delete(args.queryId);
      for (const listener of this.listeners.get(table) ?? []) listener();
    }
    return args.result;
  }
}
