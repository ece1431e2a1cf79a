import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/schema.ts';
import { snippetOf, type SearchQuery } from './query.ts';
import { PREFIXED_MAX } from '../../migrations/0018_ticket_search.ts';
import { PREFIXED_MIN } from '../../migrations/0027_search_filters.ts';
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
 * The share of the search documents each common lexeme is in, from the planner's statistics of
 * the months' partitions (migration 0030; autovacuum analyses partitions, never their parent):
 * a lexeme's share in each month weighed by the month's size; a month that does not list it
 * counts it as absent (rarer than it is: looked up, not skipped). Empty when the statistics
 * cannot be read (a role without access to them): every word is then looked up.
 */
export async function lexemeShares(db: Db): Promise<Map<string, number>> {
  const rows = (await sql<{ elem: string; share: number | null }>`
    with months as (
      select c.relname, greatest(c.reltuples, 0) as n from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = to_regclass('ticket_search'))
    select e.elem, sum(e.freq * m.n) / nullif((select sum(n) from months), 0) as share
    from months m
    join pg_stats s on s.schemaname = current_schema() and s.tablename = m.relname and s.attname = 'tsv'
    -- most_common_elem_freqs ends with three more numbers (the least and greatest frequency, and the nulls'): no element beside them.
    cross join lateral unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) as e(elem, freq)
    where e.elem is not null
    group by e.elem`.execute(db).catch(() => ({ rows: [] }))).rows;
  return new Map(rows.filter((r) => r.share !== null).map((r) => [r.elem, Number(r.share)]));
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

  /** `rankedMax`: how many of the newest matches a search ranks (SEARCH_RANKED_MAX; tests pass fewer). */
  constructor(private readonly db: Db, private readonly opts: { rankedMax?: number } = {}) {}

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
    const share = await lexemeShares(this.db);
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
   * the newest matches, found month by month from the newest (the documents' partitions,
   * migration 0030, walked in the order of ticket_search_ranges): a month's matches are looked up
   * in its own index and cut to the newest rankedMax + 1 by the document alone (its filter
   * columns, 0027), and the walk stops once it has rankedMax + 1, so older months are never read
   * for a common search; ranking reads each candidate's tsvector. `capped`: more matched than
   * were ranked.
   */
  async #ranked(tsquery: string, accented: string | null, filters: SearchFilters, want: number, indexed = tsquery) {
    const cap = this.opts.rankedMax ?? SEARCH_RANKED_MAX;
    // Every word, checked on the documents the index lookup found (`is true`: kept out of the
    // index, which looks up only the `indexed` ones).
    const all = indexed === tsquery ? sql`true` : sql`(s.tsv @@ to_tsquery('simple', ${tsquery})) is true`;
    // Months outside the filter's dates are not walked.
    const months = sql.join([
      sql`true`,
      ...(filters.from ? [sql`p.hi > ${filters.from}`] : []),
      ...(filters.to ? [sql`p.lo < ${filters.to}`] : []),
    ], sql` and `);
    const rows = (await sql<{ id: number; body: string; accented: boolean; score: number; candidates: number }>`
      with matched as materialized (
        select m.ticket_id, m.received_at
        from (select p.lo, p.hi from ticket_search_ranges p where ${months} order by p.lo desc offset 0) p
        cross join lateral (
          select s.ticket_id, s.received_at from ticket_search s
          where s.received_at >= p.lo and s.received_at < p.hi
            and s.tsv @@ to_tsquery('simple', ${indexed}) and ${all} and ${this.#where(filters)}
          order by s.received_at desc, s.ticket_id desc
          limit ${cap + 1}) m
        limit ${cap + 1}
      ), candidates as (
        select ticket_id, received_at from matched order by received_at desc, ticket_id desc limit ${cap}
      )
      select d.ticket_id as id, d.body,
        ${accented === null ? sql`false` : sql`d.tsv @@ to_tsquery('simple', ${accented})`} as accented,
        ts_rank(d.tsv, to_tsquery('simple', ${tsquery})) as score,
        (select count(*) from matched)::int as candidates
      -- One primary-key read per candidate, in its month (the planner, counting every month's
      -- partition for each, would rather hash-join all documents at a few dozen months).
      from candidates c cross join lateral (
        select d.ticket_id, d.body, d.tsv from ticket_search d
        where d.ticket_id = c.ticket_id and d.received_at = c.received_at limit 1) d
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
