import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/schema.ts';
import { unitSql } from '../core/tickets/event-log.ts';
import { snippetOf, type SearchQuery } from './query.ts';
import { PREFIXED_MAX } from '../../migrations/0018_ticket_search.ts';
import { SEARCH_DEPTH_MAX, type MatchKind, type SearchFilters, type SearchPage, type SearchResult, type TicketSearch } from './search.ts';

/**
 * A term as a prefix in a tsquery: the documents index every prefix of their words (migration
 * 0018, up to PREFIXED_MAX letters) as lexemes, so a prefix is one exact lexeme (fast in GIN);
 * a single letter, or a term longer than any indexed word, is a prefix match (`t:*`).
 */
const prefixLexeme = (t: string) => (t.length >= 2 && t.length <= PREFIXED_MAX ? t : `${t}:*`);

/** Known words tried in place of a word that has none (a typo). */
const TYPO_ALTERNATIVES = 3;

/**
 * The default engine: the search documents of migration 0018 (kept by triggers in the writing
 * transaction), full-text on 'simple' tokens with prefix matching; when nothing has all the
 * words, unknown words are read as typos of the known words most like them (trigrams).
 * Ranking: every word found as typed (with its diacritics) > found without diacritics > found
 * through a typo's likeness; then ts_rank; then the newer ticket first.
 */
export class PostgresTicketSearch implements TicketSearch {
  readonly engine = 'postgres';

  constructor(private readonly db: Db) {}

  async setup(): Promise<void> {}

  async search(query: SearchQuery, filters: SearchFilters, page: SearchPage): Promise<SearchResult> {
    if (query.terms.length === 0 || filters.statuses.length === 0) return { hits: [], more: false };
    const want = Math.min(page.offset + page.limit, SEARCH_DEPTH_MAX) + 1;
    // Terms are [a-z0-9] (parseSearchQuery), accented words letters and digits only: nothing here
    // is tsquery syntax, and both still go as parameters.
    const strict = query.terms.map(prefixLexeme).join(' & ');
    const accented = query.accented.map((t) => `${t}:*`).join(' & ');
    const rows = (await sql<{ id: number; body: string; accented: boolean; score: number }>`
      select s.ticket_id as id, s.body, s.tsv @@ to_tsquery('simple', ${accented}) as accented,
        ts_rank(s.tsv, to_tsquery('simple', ${strict})) as score
      from ticket_search s join tickets on tickets.id = s.ticket_id
      where s.tsv @@ to_tsquery('simple', ${strict}) and ${this.#where(filters)}
      order by 3 desc, 4 desc, tickets.received_at desc, tickets.id desc
      limit ${want}`.execute(this.db)).rows;
    const hits = rows.map((r) => ({ id: r.id, body: r.body, match: (r.accented ? 'exact' : 'unaccented') as MatchKind, score: Number(r.score) }));
    if (hits.length === 0) {
      // Nothing has all the words: read unknown words as typos of known ones and search again.
      const fuzzy = await this.#typoQuery(query.terms);
      if (fuzzy) {
        const typos = (await sql<{ id: number; body: string; score: number }>`
          select s.ticket_id as id, s.body, ts_rank(s.tsv, to_tsquery('simple', ${fuzzy})) as score
          from ticket_search s join tickets on tickets.id = s.ticket_id
          where s.tsv @@ to_tsquery('simple', ${fuzzy}) and ${this.#where(filters)}
          order by 3 desc, tickets.received_at desc, tickets.id desc
          limit ${want}`.execute(this.db)).rows;
        hits.push(...typos.map((r) => ({ id: r.id, body: r.body, match: 'typo' as MatchKind, score: Number(r.score) })));
      }
    }
    const pageHits = hits.slice(page.offset, page.offset + page.limit);
    return {
      hits: pageHits.map((h) => ({ ticketId: h.id, match: h.match, score: h.score, snippet: snippetOf(h.body, query.terms) })),
      more: hits.length > page.offset + page.limit && page.offset + page.limit < SEARCH_DEPTH_MAX,
    };
  }

  /**
   * The query with each word no document has (and no known word starts with) replaced by the
   * known words most like it (trigram similarity, search_words), as a tsquery; null when no
   * word was replaced or one has nothing like it.
   */
  async #typoQuery(terms: string[]): Promise<string | null> {
    const rows = (await sql<{ term: string; known: boolean; alts: string[] | null }>`
      select t.term, exists (select 1 from search_words w where w.word like t.term || '%') as known,
        (select array_agg(x.word) from (select w.word from search_words w where w.word % t.term
          order by similarity(w.word, t.term) desc, w.word limit ${TYPO_ALTERNATIVES}) x) as alts
      from unnest(${terms}::text[]) as t(term)`.execute(this.db)).rows;
    const known = new Map(rows.map((r) => [r.term, r]));
    let replaced = false;
    const parts: string[] = [];
    for (const term of terms) {
      const r = known.get(term);
      // Short words and numbers are kept as typed: too little to be like anything.
      if (!r || r.known || term.length < 3 || /\d/.test(term)) {
        parts.push(prefixLexeme(term));
        continue;
      }
      if (!r.alts?.length) return null;
      replaced = true;
      parts.push(`(${r.alts.filter((w) => /^[a-z]+$/.test(w)).join(' | ')})`);
    }
    return replaced ? parts.join(' & ') : null;
  }

  /** The filters as one SQL condition on `tickets`. */
  #where(f: SearchFilters): RawBuilder<boolean> {
    const parts: RawBuilder<unknown>[] = [
      sql`tickets.merged_into is null`,
      sql`tickets.status in (${sql.join(f.statuses)})`,
    ];
    if (f.units) parts.push(f.units.length ? sql`${unitSql()} in (${sql.join(f.units)})` : sql`false`);
    if (f.area) parts.push(sql`tickets.area_code = ${f.area}`);
    if (f.category) parts.push(sql`tickets.category_code = ${f.category}`);
    if (f.channel) parts.push(sql`exists (select 1 from reports r where r.ticket_id = tickets.id and r.channel = ${f.channel})`);
    if (f.from) parts.push(sql`tickets.received_at >= ${f.from}`);
    if (f.to) parts.push(sql`tickets.received_at < ${f.to}`);
    return sql<boolean>`(${sql.join(parts, sql` and `)})`;
  }

  async index(ticketIds: number[]): Promise<void> {
    if (ticketIds.length === 0) return;
    await sql`select ticket_search_refresh(${ticketIds}::integer[])`.execute(this.db);
  }

  async remove(ticketIds: number[]): Promise<void> {
    if (ticketIds.length === 0) return;
    await this.db.deleteFrom('ticket_search').where('ticket_id', 'in', ticketIds).execute();
  }
}
