import type { Migration, MigrationProvider } from 'kysely';
import { createVims } from './0001-create-vims.js';

/**
 * Every schema change, in order. Names are permanent once released: the
 * migrator records them in kysely_migration and applies only the new ones.
 */
const migrations: Record<string, Migration> = {
  '0001-create-vims': createVims,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
