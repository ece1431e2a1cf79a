import type { Migration } from 'kysely';
import * as m0001 from './0001_initial.ts';

/** Every migration, in order. Listed statically so bundlers (the edge entry) see them too. */
export const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
};
