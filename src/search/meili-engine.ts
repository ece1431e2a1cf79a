import { Meilisearch, type Index } from 'meilisearch';
import type { Db } from '../db/schema.ts';
import { loadDocuments, type TicketDocument } from './documents.ts';
import { foldText, snippetOf, type SearchQuery } from './query.ts';
import { SEARCH_DEPTH_MAX, SEARCH_RANKED_MAX, type MatchKind, type SearchFilters, type SearchHit, type SearchPage, type SearchResult, type TicketSearch } from './search.ts';

/** The index the tickets live in. */
export const MEILI_INDEX = 'tickets';
/** How long an indexing task may take before the job fails (and is retried). */
const TASK_TIMEOUT_MS = 60_000;

/**
 * Settings written at every start, so the index is what this code expects: what is searched
 * (title first, then the whole document, then its folded copy, so "duong" finds "đường" whatever
 * the server's normaliser does with đ), what filters read, and the ranking rules, newer tickets
 * breaking ties.
 */
export const MEILI_SETTINGS = {
  searchableAttributes: ['title', 'body', 'folded'],
  filterableAttributes: ['status', 'unit', 'area', 'category', 'channels', 'received_at'],
  sortableAttributes: ['received_at'],
  displayedAttributes: ['id', 'body'],
  rankingRules: ['words', 'typo', 'proximity', 'attribute', 'exactness', 'received_at:desc'],
  typoTolerance: { enabled: true, minWordSizeForTypos: { oneTypo: 4, twoTypos: 8 } },
  // Meilisearch counts matches only up to maxTotalHits (estimatedTotalHits = min(matches,
  // maxTotalHits)): one more than SEARCH_RANKED_MAX tells `capped` as the PostgreSQL engine does.
  // Pages still stop at SEARCH_DEPTH_MAX (search() clamps offset and limit).
  pagination: { maxTotalHits: SEARCH_RANKED_MAX + 1 },
};

/** A filter value in a Meilisearch filter expression: quoted, its quotes and backslashes escaped. */
const quote = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** The filters as a Meilisearch filter expression (attributes of MEILI_SETTINGS.filterableAttributes). */
export function meiliFilter(f: SearchFilters): string {
  const parts = [`status IN [${f.statuses.map(quote).join(', ')}]`];
  if (f.units) parts.push(`unit IN [${f.units.map(quote).join(', ')}]`);
  if (f.area) parts.push(`area = ${quote(f.area)}`);
  if (f.category) parts.push(`category = ${quote(f.category)}`);
  if (f.channel) parts.push(`channels = ${quote(f.channel)}`);
  if (f.from) parts.push(`received_at >= ${Math.floor(f.from.getTime() / 1000)}`);
  if (f.to) parts.push(`received_at < ${Math.floor(f.to.getTime() / 1000)}`);
  return parts.join(' AND ');
}

/** How a document matched, as the PostgreSQL engine says it: words as typed, without diacritics, or neither (typos). */
function matchOf(body: string, query: SearchQuery): MatchKind {
  const words = body.toLowerCase().split(/[^\p{L}\p{N}]+/u);
  const has = (terms: string[], fold: (w: string) => string) => terms.every((t) => words.some((w) => fold(w).startsWith(t)));
  if (has(query.accented, (w) => w)) return 'exact';
  return has(query.terms, foldText) ? 'unaccented' : 'typo';
}

/**
 * The Meilisearch engine (MEILI_URL): documents from the database (src/search/documents.ts),
 * fed by the durable indexing job (src/search/index-job.ts), never from a request.
 */
export class MeiliTicketSearch implements TicketSearch {
  readonly engine = 'meilisearch';
  readonly #index: Index<TicketDocument>;

  /** `rankedMax`: beyond this many matches a search says `capped` (SEARCH_RANKED_MAX, at most; tests pass fewer). */
  constructor(private readonly db: Db, url: string, key?: string, private readonly opts: { rankedMax?: number } = {}) {
    this.#index = new Meilisearch({ host: url, ...(key ? { apiKey: key } : {}) }).index<TicketDocument>(MEILI_INDEX);
  }

  async setup(): Promise<void> {
    await this.#index.updateSettings(MEILI_SETTINGS).waitTask({ timeout: TASK_TIMEOUT_MS });
  }

  async search(query: SearchQuery, filters: SearchFilters, page: SearchPage): Promise<SearchResult> {
    if (query.terms.length === 0 || filters.statuses.length === 0 || filters.units?.length === 0) return { hits: [], more: false };
    const offset = Math.min(page.offset, SEARCH_DEPTH_MAX);
    const limit = Math.min(page.limit, SEARCH_DEPTH_MAX - offset);
    // Words only (letters and digits, as typed): no quotes reach the engine, so no phrase syntax.
    const res = await this.#index.search<Pick<TicketDocument, 'id' | 'body'>>(query.accented.join(' '), {
      filter: meiliFilter(filters), offset, limit: limit + 1, attributesToRetrieve: ['id', 'body'], showRankingScore: true,
    });
    const hits: SearchHit[] = res.hits.slice(0, limit).map((h) => ({
      ticketId: h.id, match: matchOf(h.body, query), score: h._rankingScore ?? 0, snippet: snippetOf(h.body, query.terms),
    }));
    // Meilisearch folds diacritics itself: words as typed first within the page (a stable sort).
    const order: Record<MatchKind, number> = { exact: 0, unaccented: 1, typo: 2 };
    hits.sort((a, b) => order[a.match] - order[b.match]);
    // The matches Meilisearch counted (up to maxTotalHits, above): more than rankedMax is the contract's `capped`.
    const rankedMax = Math.min(this.opts.rankedMax ?? SEARCH_RANKED_MAX, SEARCH_RANKED_MAX);
    // As the PostgreSQL engine: no page past SEARCH_DEPTH_MAX.
    return { hits, more: res.hits.length > limit && offset + limit < SEARCH_DEPTH_MAX, ...(res.estimatedTotalHits > rankedMax ? { capped: true } : {}) };
  }

  async index(ticketIds: number[]): Promise<void> {
    const { docs, gone } = await loadDocuments(this.db, ticketIds);
    if (docs.length) await this.#index.addDocuments(docs, { primaryKey: 'id' }).waitTask({ timeout: TASK_TIMEOUT_MS });
    if (gone.length) await this.remove(gone);
  }

  async remove(ticketIds: number[]): Promise<void> {
    if (ticketIds.length === 0) return;
    await this.#index.deleteDocuments(ticketIds).waitTask({ timeout: TASK_TIMEOUT_MS });
  }
}
