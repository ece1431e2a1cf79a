import type { Migration } from 'kysely';
import * as m0001 from './0001_initial.ts';
import * as m0002 from './0002_grouping.ts';

/** Every migration, in order. Listed statically so bundlers (the edge entry) see them too. */
export const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_grouping': m0002,
};
