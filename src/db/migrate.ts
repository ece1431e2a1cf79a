import { Migrator, type MigrationResult } from 'kysely';
import { migrations } from '../../migrations/index.ts';
import type { Db } from './schema.ts';

/** Brings the schema up to the newest migration; safe to run at every start and concurrently. */
export async function migrateToLatest(db: Db): Promise<MigrationResult[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return results ?? [];
}
