import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/schema.ts';
import { snippetOf, type SearchQuery } from './query.ts';
import { PREFIXED_MAX } from '../../migrations/0018_ticket_search.ts';
import { monthLexeme, PREFIXED_MIN } from '../../migrations/0027_search_filters.ts';
import { SEARCH_DEPTH_MAX, SEARCH_RANKED_MAX, type MatchKind, type SearchFilters, type SearchPage, type SearchResult, type TicketSearch } from './search.ts';

/**
 * A term as a prefix in a tsquery: the documents index every prefix of their words (migrations
 * 0018 and 0027, from PREFIXED_MIN to PREFIXED_MAX letters) as lexemes, so a prefix is one exact
 * lexeme (fast in GIN); a term longer than any indexed prefix is a prefix match (`t:*`).
 */
const prefixLexeme = (t: string) => (t.length >= PREFIXED_MIN && t.length <= PREFIXED_MAX ? t : `${t}:*`);

/** Known words tried in place of a word that has none (a typo). */
const TYPO_ALTERNATIVES = 3;
/**
 * A lexeme in more than this share of the documents is common: a search looks the words up in
 * the GIN index by the others (at least two) and checks the common ones on the documents it
 * reads anyway. A common lexeme's posting list is most of a search's index time ("be", "2", "d":
 * each a prefix of many words, in a third of a million documents and more). Only the very common
 * are left to the check: leaving out a word in a fifth of the documents lets at most about five
 * times the candidates through when words are independent, and words are not (at 2 %, a
 * 1,000,000-ticket run read 41,667 documents for 1,593 matches: "karaoke" and "khuya" always
 * come together, and the street's words that told the matches apart had been left out).
 */
const COMMON_SHARE = 0.2;
/** The fewest words a search looks up in the index, however common. */
const INDEXED_MIN = 2;
/** How long the lexemes' frequencies (the planner's statistics) are kept before they are read again. */
const FREQUENCIES_TTL_MS = 10 * 60_000;

/**
 * Of a search's lexemes, those it looks up in the GIN index: each in at most COMMON_SHARE of the
 * documents (one the statistics do not list is rarer than all they list; a `t:*` prefix longer
 * than any indexed one is rare), and the rarest of the others up to INDEXED_MIN, in their order.
 */
export function indexedTerms(lexemes: string[], share: ReadonlyMap<string, number>): string[] {
  const f = (l: string) => (l.endsWith(':*') ? 0 : share.get(l) ?? 0);
  const rarest = [...lexemes].sort((a, b) => f(a) - f(b)).slice(0, INDEXED_MIN);
  return lexemes.filter((l) => f(l) <= COMMON_SHARE || rarest.includes(l));
}

/**
 * The default engine: the search documents of migration 0018 (kept by triggers in the writing
 * transaction), full-text on 'simple' tokens with prefix matching; when nothing has all the
 * words, unknown words are read as typos of the known words most like them (trigrams).
 * Ranking: every word found as typed (with its diacritics) > found without diacritics > found
 * through a typo's likeness; then ts_rank; then the newer ticket first.
 */
export class PostgresTicketSearch implements TicketSearch {
  readonly engine = 'postgres';

  /** `rankedMax`: how many of the newest matches a search ranks (SEARCH_RANKED_MAX; tests pass fewer); `now`: the clock that says which months are the last. */
  constructor(private readonly db: Db, private readonly opts: { rankedMax?: number; now?: () => Date } = {}) {}

  /** The share of documents each common lexeme is in (pg_stats: the tsvector's most common elements), when last read. */
  #frequencies: { at: number; share: Map<string, number> } | null = null;

  async setup(): Promise<void> {}

  /**
   * The terms a search looks up in the index: those in at most COMMON_SHARE of the documents (a
   * lexeme the statistics do not list as common is rarer than every one they list), and the
   * rarest of the others up to INDEXED_MIN; every term when nothing is known of them.
   */
  async #indexedTerms(lexemes: string[]): Promise<string[]> {
    const share = lexemes.length > INDEXED_MIN ? await this.#shares() : null;
    return share ? indexedTerms(lexemes, share) : lexemes;
  }

  async #shares(): Promise<Map<string, number> | null> {
    const now = Date.now();
    if (this.#frequencies && now - this.#frequencies.at < FREQUENCIES_TTL_MS) return this.#frequencies.share;
    // Statistics that cannot be read (a role without access to them) leave every word to the index.
    const row = (await sql<{ elems: string[] | null; freqs: number[] | null }>`
      select most_common_elems::text::text[] as elems, most_common_elem_freqs as freqs from pg_stats
      where schemaname = current_schema() and tablename = 'ticket_search' and attname = 'tsv'`.execute(this.db).catch(() => ({ rows: [] }))).rows[0];
    const share = new Map<string, number>();
    // most_common_elem_freqs ends with three more numbers (the least and greatest frequency, and the nulls').
    if (row?.elems && row.freqs) row.elems.forEach((e, i) => share.set(e, Number(row.freqs![i])));
    this.#frequencies = { at: now, share };
    return share.size > 0 ? share : null;
  }

  async search(query: SearchQuery, filters: SearchFilters, page: SearchPage): Promise<SearchResult> {
    if (query.terms.length === 0 || filters.statuses.length === 0) return { hits: [], more: false };
    const want = Math.min(page.offset + page.limit, SEARCH_DEPTH_MAX) + 1;
    // Terms are [a-z0-9] (parseSearchQuery), accented words letters and digits only: nothing here
    // is tsquery syntax, and both still go as parameters.
    const lexemes = query.terms.map(prefixLexeme);
    const strict = lexemes.join(' & ');
    const accented = query.accented.map((t) => `${t}:*`).join(' & ');
    let { rows, capped } = await this.#ranked(strict, accented, filters, want, (await this.#indexedTerms(lexemes)).join(' & '));
    let match: MatchKind | null = null;
    if (rows.length === 0) {
      // Nothing has all the words: read unknown words as typos of known ones and search again.
      const fuzzy = await this.#typoQuery(query.terms);
      if (fuzzy) {
        ({ rows, capped } = await this.#ranked(fuzzy, null, filters, want));
        match = 'typo';
      }
    }
    const hits = rows.map((r) => ({ id: r.id, body: r.body, match: match ?? (r.accented ? 'exact' : 'unaccented') as MatchKind, score: Number(r.score) }));
    const pageHits = hits.slice(page.offset, page.offset + page.limit);
    return {
      hits: pageHits.map((h) => ({ ticketId: h.id, match: h.match, score: h.score, snippet: snippetOf(h.body, query.terms) })),
      more: hits.length > page.offset + page.limit && page.offset + page.limit < SEARCH_DEPTH_MAX,
      ...(capped ? { capped: true } : {}),
    };
  }

  /**
   * The first `want` of the newest `rankedMax` documents that match `tsquery` and the filters,
   * ranked (words as typed, when `accented` is given; ts_rank; newer first). The candidates are
   * cut by recency before anything is ranked, from the document alone (its filter columns,
   * migration 0027): ranking reads each candidate's tsvector, which cost most of a search whose
   * words are common (8,333 of 200,000 tickets matched one). `capped`: more matched than were ranked.
   * The months' lexemes are ours (monthLexeme), never the searcher's text.
   */
  async #ranked(tsquery: string, accented: string | null, filters: SearchFilters, want: number, indexed = tsquery) {
    const cap = this.opts.rankedMax ?? SEARCH_RANKED_MAX;
    // The last months first (this one, the one before, and the next in case of a clock ahead):
    // when they hold more matches than are ranked, those are the newest, and older matches are
    // never read; otherwise every match is (the one-time filter runs one or the other).
    const now = this.opts.now?.() ?? new Date();
    const months = [-1, 0, 1].map((m) => monthLexeme(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + m, 1))));
    const recentMonths = months.map((m) => `'${m}'`).join(' | ');
    // Every word, checked on the documents the index lookup found (`is true`: kept out of the
    // index, which looks up only the `indexed` ones).
    const all = indexed === tsquery ? sql`true` : sql`(s.tsv @@ to_tsquery('simple', ${tsquery})) is true`;
    const rows = (await sql<{ id: number; body: string; accented: boolean; score: number; candidates: number }>`
      with recent as materialized (
        select s.ticket_id, s.received_at from ticket_search s
        where s.tsv @@ (to_tsquery('simple', ${indexed}) && ${recentMonths}::tsquery) and ${all} and ${this.#where(filters)}
        order by s.received_at desc, s.ticket_id desc
        limit ${cap + 1}
      ), everything as materialized (
        select s.ticket_id, s.received_at from ticket_search s
        where (select count(*) from recent) <= ${cap} and s.tsv @@ to_tsquery('simple', ${indexed}) and ${all} and ${this.#where(filters)}
        order by s.received_at desc, s.ticket_id desc
        limit ${cap + 1}
      ), matched as (
        select * from recent where (select count(*) from recent) > ${cap}
        union all
        select * from everything
      ), candidates as (
        select ticket_id, received_at from matched order by received_at desc, ticket_id desc limit ${cap}
      )
      select d.ticket_id as id, d.body,
        ${accented === null ? sql`false` : sql`d.tsv @@ to_tsquery('simple', ${accented})`} as accented,
        ts_rank(d.tsv, to_tsquery('simple', ${tsquery})) as score,
        (select count(*) from matched)::int as candidates
      from candidates c join ticket_search d on d.ticket_id = c.ticket_id
      order by 3 desc, 4 desc, c.received_at desc, c.ticket_id desc
      limit ${want}`.execute(this.db)).rows;
    return { rows, capped: rows.length > 0 && Number(rows[0]!.candidates) > cap };
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

  /** The filters as one SQL condition on the search document `s` (its copies of the ticket's columns, migration 0027). */
  #where(f: SearchFilters): RawBuilder<boolean> {
    const parts: RawBuilder<unknown>[] = [
      sql`not s.merged`,
      sql`s.status in (${sql.join(f.statuses)})`,
    ];
    if (f.units) parts.push(f.units.length ? sql`s.unit in (${sql.join(f.units)})` : sql`false`);
    if (f.area) parts.push(sql`s.area_code = ${f.area}`);
    if (f.category) parts.push(sql`s.category_code = ${f.category}`);
    if (f.channel) parts.push(sql`s.channels @> array[${f.channel}]::text[]`);
    if (f.from) parts.push(sql`s.received_at >= ${f.from}`);
    if (f.to) parts.push(sql`s.received_at < ${f.to}`);
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
