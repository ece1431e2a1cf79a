import type { Db } from '../db/schema.ts';
import { MeiliTicketSearch } from './meili-engine.ts';
import { PostgresTicketSearch } from './postgres-engine.ts';
import type { TicketSearch } from './search.ts';

export type { SearchFilters, SearchHit, SearchPage, SearchResult, TicketSearch } from './search.ts';
export { parseSearchQuery, type SearchQuery } from './query.ts';

/** The engine the configuration asks for: Meilisearch when MEILI_URL is set, PostgreSQL otherwise. */
export function createTicketSearch(db: Db, opts: { meiliUrl?: string | undefined; meiliKey?: string | undefined }): TicketSearch {
  return opts.meiliUrl ? new MeiliTicketSearch(db, opts.meiliUrl, opts.meiliKey) : new PostgresTicketSearch(db);
}
