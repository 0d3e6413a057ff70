import type { Migration, MigrationProvider } from 'kysely';
import type { DialectName } from '../dialects/driver.js';
import { createVims } from './0001-create-vims.js';
import { monitorsAndEvents } from './0002-monitors-and-events.js';
import { workersAndLeases } from './0003-workers-and-leases.js';
import { subscriptions } from './0004-subscriptions.js';
import { vimChangeCounter } from './0005-vim-change-counter.js';
import { secretKeyCheck } from './0006-secret-key-check.js';
import { vimHealth } from './0007-vim-health.js';
import { maintenanceAndHolds } from './0008-maintenance-and-holds.js';
import { vimConfirmations } from './0009-vim-confirmations.js';
import { historyAndSessions } from './0010-history-and-sessions.js';
import { workerLeases } from './0011-worker-leases.js';

/**
 * Every schema change, in order. Names are permanent once released: the
 * migrator records them in kysely_migration and applies only the new ones.
 */
export function migrationProvider(dialect: DialectName): MigrationProvider {
  const migrations: Record<string, Migration> = {
    '0001-create-vims': createVims,
    '0002-monitors-and-events': monitorsAndEvents(dialect),
    '0003-workers-and-leases': workersAndLeases,
    '0004-subscriptions': subscriptions(dialect),
    '0005-vim-change-counter': vimChangeCounter,
    '0006-secret-key-check': secretKeyCheck,
    '0007-vim-health': vimHealth,
    '0008-maintenance-and-holds': maintenanceAndHolds(dialect),
    '0009-vim-confirmations': vimConfirmations,
    '0010-history-and-sessions': historyAndSessions(dialect),
    '0011-worker-leases': workerLeases(dialect),
  };
  return { getMigrations: async () => migrations };
}
