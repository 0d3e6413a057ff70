import type { Kysely, Migration } from 'kysely';
import type { DialectName } from '../dialects/driver.js';
import { addIdentityColumn } from '../dialects/identity.js';

/**
 * Delivery of events: every channel (a webhook subscription, or the AMQP
 * notifier) keeps a cursor into vim_events and is delivered by one worker at
 * a time under a lease. Events that could not be delivered in time go to
 * dead_letters.
 */
export function subscriptions(dialect: DialectName): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('vim_events').addColumn('vim_name', 'varchar(255)', (c) => c.notNull().defaultTo('')).execute();
      await db.schema
        .createTable('subscriptions')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('callback_url', 'text', (c) => c.notNull())
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('filter', 'text', (c) => c.notNull())
        .addColumn('created_at', 'varchar(26)', (c) => c.notNull())
        .addColumn('cursor_event_id', 'bigint', (c) => c.notNull())
        .addColumn('owner', 'varchar(128)', (c) => c.notNull().defaultTo(''))
        .addColumn('lease_until_ms', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_ms', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('retry_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('delivered', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('dead_lettered', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_error', 'text')
        .addColumn('last_attempt_at', 'varchar(26)')
        .addColumn('last_success_at', 'varchar(26)')
        .execute();
      await addIdentityColumn(db.schema.createTable('dead_letters'), dialect)
        .addColumn('subscription_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('event_id', 'bigint', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('last_error', 'text', (c) => c.notNull())
        .addColumn('dead_at', 'varchar(26)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ix_dead_letters_subscription').on('dead_letters').columns(['subscription_id', 'id']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('dead_letters').execute();
      await db.schema.dropTable('subscriptions').execute();
      await db.schema.alterTable('vim_events').dropColumn('vim_name').execute();
    },
  };
}
