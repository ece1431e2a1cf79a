import type { SearchQuery, Snippet } from './query.ts';

/**
 * What a search keeps to: the console's filters, and the caller's scope (a ward officer's units
 * and the statuses their work is in). Merged tickets are never found: their reports live on.
 */
export interface SearchFilters {
  /** Statuses a ticket may be in (required: the console passes its default list). */
  statuses: string[];
  /** The unit the ticket belongs to (`unitOf`: dispatched there, else located there) is one of these. */
  units?: string[];
  /** The ticket's located unit (tickets.area_code), the console's "unit" menu. */
  area?: string;
  category?: string;
  /** One of its reports came on this channel. */
  channel?: string;
  /** Received at or after. */
  from?: Date;
  /** Received before. */
  to?: Date;
}

export interface SearchPage {
  limit: number;
  offset: number;
}

/** Why a ticket was found, best first. */
export type MatchKind = 'exact' | 'unaccented' | 'typo';

export interface SearchHit {
  ticketId: number;
  match: MatchKind;
  /** The engine's relevance within its kind of match (not comparable across engines). */
  score: number;
  snippet: Snippet;
}

export interface SearchResult {
  /** Best first: words as typed (with their diacritics) = 'exact', then without = 'unaccented', then typos; newer first among equals. */
  hits: SearchHit[];
  /** More hits follow this page. */
  more: boolean;
  /**
   * More tickets matched (with every word, within the filters) than an engine ranks, its
   * `rankedMax` (SEARCH_RANKED_MAX): the hits may leave out matches that a narrower search (more
   * words, a status, a unit, dates) would show. The same condition for both engines: the
   * PostgreSQL engine ranks only the newest rankedMax matches, so older ones are not found;
   * Meilisearch ranks every match, counts them up to its maxTotalHits (one more than
   * SEARCH_RANKED_MAX) and returns at most that many. Absent when no more than rankedMax matched.
   */
  capped?: boolean;
}

/**
 * Ticket search, one interface for two engines (PostgreSQL by default, Meilisearch when
 * MEILI_URL is set): ranked ticket ids with snippets, and the upkeep of the index.
 */
export interface TicketSearch {
  readonly engine: 'postgres' | 'meilisearch';
  /** Prepares the index (settings, ranking rules); called once at start. */
  setup(): Promise<void>;
  search(query: SearchQuery, filters: SearchFilters, page: SearchPage): Promise<SearchResult>;
  /** (Re)indexes these tickets from the database (merged or deleted ones leave the index). */
  index(ticketIds: number[]): Promise<void>;
  /** Takes these tickets out of the index. */
  remove(ticketIds: number[]): Promise<void>;
}

/** The deepest a search pages (offset + limit): past it, a narrower search is the answer. */
export const SEARCH_DEPTH_MAX = 1000;

/**
 * How many matches a search ranks (`capped` beyond it). The PostgreSQL engine ranks the newest this many: the newest this many of those that have every
 * word and pass the filters (ranking reads each one's document; at 1,000,000 tickets two common
 * words match tens of thousands). At least SEARCH_DEPTH_MAX, so every page a search can reach
 * is ranked from the same candidates.
 */
export const SEARCH_RANKED_MAX = 2000;
