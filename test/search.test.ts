import { Migrator, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncSearch } from '../src/search/index-job.ts';
import { MeiliTicketSearch } from '../src/search/meili-engine.ts';
import { indexedTerms, lexemeShares, PostgresTicketSearch } from '../src/search/postgres-engine.ts';
import { oldestTicket, partitionSearch } from '../src/search/partitions.ts';
import { REPORTS_IN_BODY } from '../migrations/0029_search_refresh_bounded.ts';
import { parseSearchQuery, QUERY_MAX, TERMS_MAX } from '../src/search/query.ts';
import type { SearchFilters, TicketSearch } from '../src/search/search.ts';
import { PLACES } from './support/factories.ts';
import { freshDb, TEST_DB } from './support/db.ts';
import { migrations } from '../migrations/index.ts';

// The contract every search engine keeps, run against PostgreSQL always and against
// Meilisearch when MEILI_URL names a server (there is none on these machines, and no fake).

let handle: Awaited<ReturnType<typeof freshDb>>;
let seq = 0;
const ids: Record<string, number> = {};
const HOUR = 3_600_000;
const base = Date.parse('2026-11-20T03:00:00Z');

/** A ticket with its reports, written as the pipeline writes them (tickets, inbound messages, reports). */
async function ticket(name: string, t: {
  title: string; reports?: string[]; status?: string; area?: string; category?: string; channel?: string; hoursAgo?: number; address?: string;
}): Promise<number> {
  const { db } = handle;
  const at = new Date(base - (t.hoursAgo ?? 0) * HOUR);
  const row = await db.insertInto('tickets').values({
    code: `PA-SRCH${String(++seq).padStart(4, '0')}`, title: t.title, status: t.status ?? 'new', area_code: t.area ?? null,
    category_code: t.category ?? null, address: t.address ?? null, received_at: at,
  }).returning('id').executeTakeFirstOrThrow();
  for (const text of t.reports ?? [t.title]) {
    const n = ++seq;
    const inbound = await db.insertInto('inbound_messages').values({
      channel: t.channel ?? 'web', external_id: `srch-${n}`, code: `TK-SRCH${String(n).padStart(4, '0')}`, payload: '{}', received_at: at,
    }).returning('id').executeTakeFirstOrThrow();
    await db.insertInto('reports').values({
      code: `TK-SRCH${String(n).padStart(4, '0')}`, inbound_id: inbound.id, channel: t.channel ?? 'web', ticket_id: row.id, text,
      text_folded: text.toLowerCase(), attachments: '[]', reasons: '[]', received_at: at,
    }).execute();
  }
  ids[name] = row.id;
  return row.id;
}

/** The test's names of these hits' tickets. */
const names = (hits: { ticketId: number }[]) => hits.map((h) => Object.keys(ids).find((k) => ids[k] === h.ticketId) ?? h.ticketId);

const OPEN: SearchFilters = { statuses: ['new', 'triaged', 'dispatched', 'acknowledged', 'in_progress'] };

beforeAll(async () => {
  handle = await freshDb();
  // Months of partitions back to the oldest ticket the tests write (a fresh database has the
  // months from its own on; older documents would all wait in the catch-all).
  await partitionSearch(handle.db, { since: new Date(base - 24 * 400 * HOUR) });
  await ticket('accented', { title: 'Ngập nước đường Nguyễn Hữu Cảnh', reports: ['Ngập nước đường Nguyễn Hữu Cảnh sau cơn mưa chiều', 'Đường Nguyễn Hữu Cảnh ngập tới đầu gối'], hoursAgo: 5, area: PLACES.benThanh.code });
  await ticket('plain', { title: 'ngap nuoc duong nguyen huu canh', reports: ['ngap nuoc duong nguyen huu canh, xe chet may'], hoursAgo: 1 });
  await ticket('otherAccents', { title: 'Ngáp nược đường Nguyễn Hữu Cảnh', hoursAgo: 2 });
  await ticket('drain', { title: 'Nắp cống bị mất', reports: ['Nắp cống bị mất trên đường Lê Lợi', 'Cống bể, nước thải tràn ra hẻm 42 Lê Lợi'], category: 'ngap_nuoc', channel: 'sms', hoursAgo: 30, area: PLACES.saiGon.code });
  await ticket('light', { title: 'Đèn đường tắt cả tuần', reports: ['Đèn đường tắt cả tuần trên đường Pasteur'], status: 'dispatched', category: 'chieu_sang', hoursAgo: 72, area: PLACES.saiGon.code });
  await ticket('closed', { title: 'Karaoke hát khuya ồn ào', status: 'closed', category: 'tieng_on', hoursAgo: 3 });
  await ticket('twinOld', { title: 'Rác thải chất đống đầu hẻm Cô Giang', hoursAgo: 10 });
  await ticket('twinNew', { title: 'Rác thải chất đống đầu hẻm Cô Giang', hoursAgo: 4 });
});
afterAll(async () => {
  await handle?.close();
});

/** The contract suite for one engine; `ready` brings its index up to the database. */
function contract(make: (opts?: { rankedMax?: number }) => TicketSearch, ready: (s: TicketSearch) => Promise<void>) {
  let search: TicketSearch;
  const find = async (q: string, filters: Partial<SearchFilters> = {}, page = { limit: 20, offset: 0 }) =>
    (await search.search(parseSearchQuery(q), { ...OPEN, ...filters }, page)).hits;

  beforeAll(async () => {
    search = make();
    await search.setup();
    await ready(search);
  });

  it('finds Vietnamese with or without diacritics, by word prefix, across the reports\' words', async () => {
    expect(names(await find('ngap nuoc duong nguyen huu canh'))).toContain('accented');
    expect(names(await find('nguyen hu canh'))).toEqual(expect.arrayContaining(['accented', 'plain']));
    expect(names(await find('NGẬP NƯỚC Đường'))).toContain('plain');
    // Words of the second report only, and đ/Đ read as d both ways.
    expect(names(await find('cong be nuoc thai'))).toEqual(['drain']);
    expect(names(await find('dau goi'))).toEqual(['accented']);
    expect(names(await find('đen duong tat'))).toEqual(['light']);
  });

  it('ranks words as typed first, then without diacritics, then typos; newer first among equals', async () => {
    const hits = await find('ngập nước nguyễn hữu cảnh');
    expect(names(hits).slice(0, 3)).toEqual(['accented', 'plain', 'otherAccents']);
    expect(hits.map((h) => h.match).slice(0, 2)).toEqual(['exact', 'unaccented']);
    // A typo still finds it, below every true match.
    const typo = await find('ngap nuoc nguyen huu cannh');
    expect(names(typo)).toContain('accented');
    expect(typo.find((h) => h.ticketId === ids.accented)!.match).toBe('typo');
    expect(names(await find('rac thai co giang'))).toEqual(['twinNew', 'twinOld']);
  });

  it('shows a snippet of the text with the matching words marked', async () => {
    const [hit] = await find('cống bể');
    const { text, highlights } = hit!.snippet;
    expect(highlights.map(([a, b]) => text.slice(a, b))).toEqual(expect.arrayContaining(['Cống', 'bể']));
  });

  it('keeps to the filters: status, unit, located unit, category, channel, dates', async () => {
    expect(names(await find('karaoke'))).toEqual([]);
    expect(names(await find('karaoke', { statuses: ['closed'] }))).toEqual(['closed']);
    expect(names(await find('duong', { units: [PLACES.saiGon.code] })).sort()).toEqual(['drain', 'light']);
    expect(names(await find('duong', { units: [] }))).toEqual([]);
    expect(names(await find('duong', { area: PLACES.benThanh.code }))).toEqual(['accented']);
    expect(names(await find('duong', { category: 'chieu_sang' }))).toEqual(['light']);
    expect(names(await find('duong', { channel: 'sms' }))).toEqual(['drain']);
    const hits = await find('duong', { from: new Date(base - 40 * HOUR), to: new Date(base - 3 * HOUR) });
    expect(names(hits).sort()).toEqual(['accented', 'drain']);
  });

  it('pages through the hits', async () => {
    const all = await find('duong', {}, { limit: 50, offset: 0 });
    expect(all.length).toBeGreaterThanOrEqual(4);
    const first = await search.search(parseSearchQuery('duong'), OPEN, { limit: 2, offset: 0 });
    const second = await search.search(parseSearchQuery('duong'), OPEN, { limit: 2, offset: 2 });
    expect(first.more).toBe(true);
    expect([...first.hits, ...second.hits].map((h) => h.ticketId)).toEqual(all.slice(0, 4).map((h) => h.ticketId));
  });

  it('says capped when more tickets match than it ranks, and only then', async () => {
    // "duong" matches five open tickets here (accented, plain, otherAccents, drain, light).
    const capped = async (rankedMax?: number) => (await make(rankedMax ? { rankedMax } : {}).search(parseSearchQuery('duong'), OPEN, { limit: 2, offset: 0 })).capped;
    expect(await capped(4)).toBe(true);
    expect(await capped(5)).toBeUndefined();
    expect(await capped()).toBeUndefined();
    // Filters count: two of the five are in Phường Sài Gòn.
    expect((await make({ rankedMax: 2 }).search(parseSearchQuery('duong'), { ...OPEN, units: [PLACES.saiGon.code] }, { limit: 20, offset: 0 })).capped).toBeUndefined();
    expect((await make({ rankedMax: 1 }).search(parseSearchQuery('duong'), { ...OPEN, units: [PLACES.saiGon.code] }, { limit: 20, offset: 0 })).capped).toBe(true);
  });

  it('answers any string safely: quotes, SQL, tsquery syntax, 10,000 characters, emoji, lone surrogates, NUL', async () => {
    for (const q of [`'"; drop table tickets; --`, 'ngap & | ! ( ) :* <-> \\', 'x'.repeat(10_000), '🌧️ ngập 🌊', '\ud800 nước \udfff', 'nuoc\u0000ngap', '""', '%_', ' ']) {
      await expect(find(q), JSON.stringify(q.slice(0, 40))).resolves.toBeInstanceOf(Array);
    }
    expect(names(await find('🌧️ ngập nước 🌊 nguyen huu canh'))).toContain('accented');
    expect(await handle.db.selectFrom('tickets').select('id').limit(1).execute()).toHaveLength(1);
  });
}

describe('PostgreSQL engine', () => {
  contract((opts) => new PostgresTicketSearch(handle.db, opts), async () => {});

  it('looks a search up in the index by its rarer words (at least two) and checks the common ones on the documents', () => {
    const share = new Map([['duong', 0.6], ['nuoc', 0.3], ['ngap', 0.25], ['le', 0.05], ['cay', 0.01]]);
    // "xanh" and "loi" are not among the common lexemes: rarer than any that is; "duong" is in more than a fifth.
    expect(indexedTerms(['cay', 'xanh', 'duong', 'le', 'loi'], share)).toEqual(['cay', 'xanh', 'le', 'loi']);
    expect(indexedTerms(['ngap', 'nuoc', 'duong'], share)).toEqual(['ngap', 'nuoc']);
    expect(indexedTerms(['duong', 'nguyenhuucanh:*', 'nuoc'], share)).toEqual(['nguyenhuucanh:*', 'nuoc']);
  });


  it('keeps its documents in the writing transaction: a report moved, a ticket merged, a rollback', async () => {
    const search = new PostgresTicketSearch(handle.db);
    const find = async (q: string) => (await search.search(parseSearchQuery(q), OPEN, { limit: 20, offset: 0 })).hits.map((h) => h.ticketId);
    const a = await ticket('moveFrom', { title: 'Cây xanh ngã', reports: ['Cây xanh ngã', 'Trụ điện nghiêng sắp đổ'] });
    const b = await ticket('moveTo', { title: 'Trụ điện' });
    expect(await find('tru dien nghieng')).toEqual([a]);
    await handle.db.updateTable('reports').set({ ticket_id: b }).where('ticket_id', '=', a).where('text', 'like', 'Trụ%').execute();
    expect(await find('tru dien nghieng')).toEqual([b]);
    await handle.db.updateTable('tickets').set({ merged_into: b }).where('id', '=', a).execute();
    expect(await find('cay xanh nga')).toEqual([]);
    await expect(handle.db.transaction().execute(async (tx) => {
      await tx.updateTable('tickets').set({ title: 'Ống nước vỡ' }).where('id', '=', b).execute();
      throw new Error('rolled back');
    })).rejects.toThrow('rolled back');
    expect(await find('ong nuoc vo')).toEqual([]);
    // The reindex path rebuilds a document the same way.
    await sql`delete from ticket_search where ticket_id = ${b}`.execute(handle.db);
    await search.index([b]);
    expect(await find('tru dien nghieng')).toEqual([b]);
  });

  it('keeps the document\'s copies of what a search filters on current: status, dispatch, category, channel, merge', async () => {
    const search = new PostgresTicketSearch(handle.db);
    const find = async (q: string, f: Partial<SearchFilters> = {}) => (await search.search(parseSearchQuery(q), { ...OPEN, ...f }, { limit: 20, offset: 0 })).hits.map((h) => h.ticketId);
    const t = await ticket('follows', { title: 'Cống rãnh tắc nghẽn bốc mùi', area: PLACES.benThanh.code, address: '215 Lê Lợi' });
    expect(await find('cong ranh tac', { units: [PLACES.benThanh.code] })).toEqual([t]);
    // Dispatched elsewhere: it belongs to that unit now, still located where it was.
    await handle.db.updateTable('tickets').set({ status: 'dispatched', dispatched_area: PLACES.saiGon.code }).where('id', '=', t).execute();
    expect(await find('cong ranh tac', { units: [PLACES.benThanh.code] })).toEqual([]);
    expect(await find('cong ranh tac', { units: [PLACES.saiGon.code], area: PLACES.benThanh.code })).toEqual([t]);
    expect(await find('cong ranh tac', { statuses: ['new'] })).toEqual([]);
    // Closed: gone from the open statuses, found among the closed; the text is unchanged.
    await handle.db.updateTable('tickets').set({ status: 'closed' }).where('id', '=', t).execute();
    expect(await find('cong ranh tac')).toEqual([]);
    expect(await find('cong ranh tac', { statuses: ['closed'] })).toEqual([t]);
    // A one-digit word is a prefix too (a lexeme of its own since 0027): "2" finds "215".
    expect(await find('cong ranh 2', { statuses: ['closed'] })).toEqual([t]);
    expect(await find('cong ranh 3', { statuses: ['closed'] })).toEqual([]);
    // A rolled-back change leaves the copy as it was.
    await expect(handle.db.transaction().execute(async (tx) => {
      await tx.updateTable('tickets').set({ status: 'new' }).where('id', '=', t).execute();
      throw new Error('rolled back');
    })).rejects.toThrow('rolled back');
    expect(await find('cong ranh tac', { statuses: ['new'] })).toEqual([]);
    // Category (a text change: the whole document again) and a report on another channel.
    await handle.db.updateTable('tickets').set({ category_code: 'ngap_nuoc' }).where('id', '=', t).execute();
    expect(await find('cong ranh tac', { statuses: ['closed'], category: 'ngap_nuoc' })).toEqual([t]);
    expect(await find('cong ranh tac', { statuses: ['closed'], channel: 'sms' })).toEqual([]);
    const other = await ticket('followsSms', { title: 'Cống rãnh', reports: ['Cống rãnh tắc nghẽn lần nữa'], channel: 'sms' });
    await handle.db.updateTable('reports').set({ ticket_id: t }).where('ticket_id', '=', other).execute();
    expect(await find('cong ranh tac', { statuses: ['closed'], channel: 'sms' })).toEqual([t]);
    expect(await find('cong ranh tac', { statuses: ['closed'], channel: 'web' })).toEqual([t]);
    const row = await handle.db.selectFrom('ticket_search').select(['status', 'unit', 'area_code', 'category_code', 'channels', 'merged'])
      .where('ticket_id', '=', t).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'closed', unit: PLACES.saiGon.code, area_code: PLACES.benThanh.code, category_code: 'ngap_nuoc', channels: ['sms', 'web'], merged: false });
  });

  it('leaves the document of a ticket with its first 50 reports as it is for a later report, adding only a new channel', async () => {
    const search = new PostgresTicketSearch(handle.db);
    const find = async (q: string, f: Partial<SearchFilters> = {}) => (await search.search(parseSearchQuery(q), { ...OPEN, ...f }, { limit: 20, offset: 0 })).hits.map((h) => h.ticketId);
    const reports = Array.from({ length: REPORTS_IN_BODY }, (_, i) => `Vỉa hè trước nhà ${i + 1} bị lấn chiếm`);
    const t = await ticket('fifty', { title: 'Lấn chiếm vỉa hè đường Hai Bà Trưng', reports, hoursAgo: 6 });
    const doc = () => sql<{ version: string; body: string; tsv: string; channels: string[] }>`
      select xmin::text as version, body, tsv::text as tsv, channels from ticket_search where ticket_id = ${t}`.execute(handle.db).then((r) => r.rows[0]!);
    const report = async (text: string, channel: string, hoursAgo: number) => {
      const n = ++seq;
      const code = `TK-SRCH${String(n).padStart(4, '0')}`;
      const at = new Date(base - hoursAgo * HOUR);
      const inbound = await handle.db.insertInto('inbound_messages').values({ channel, external_id: `srch-${n}`, code, payload: '{}', received_at: at })
        .returning('id').executeTakeFirstOrThrow();
      await handle.db.insertInto('reports').values({
        code, inbound_id: inbound.id, channel, ticket_id: t, text, text_folded: text.toLowerCase(), attachments: '[]', reasons: '[]', received_at: at,
      }).execute();
    };
    const before = await doc();
    expect(before.channels).toEqual(['web']);
    // The 51st, on a channel the ticket has: the row is not written at all.
    await report('Xe máy đậu kín lối đi bộ', 'web', 5);
    expect(await doc()).toEqual(before);
    expect(await find('xe may dau kin')).toEqual([]);
    // The 52nd, on a new channel: the channel filter finds the ticket, its text is as it was.
    expect(await find('lan chiem via he', { channel: 'facebook' })).toEqual([]);
    await report('Hàng quán bày bán tràn ra vỉa hè', 'facebook', 4);
    const after = await doc();
    expect(after.channels).toEqual(['facebook', 'web']);
    expect([after.body, after.tsv]).toEqual([before.body, before.tsv]);
    expect(await find('lan chiem via he', { channel: 'facebook' })).toEqual([t]);
    // One received before the others is among the first 50 again: the document is rebuilt with its words.
    await report('Bãi giữ xe tự phát chiếm hết lề', 'sms', 7);
    const rebuilt = await doc();
    expect(rebuilt.channels).toEqual(['facebook', 'sms', 'web']);
    expect(rebuilt.body).not.toEqual(before.body);
    expect(await find('bai giu xe tu phat')).toEqual([t]);
    // The same document as a rebuild from scratch.
    await search.index([t]);
    expect((await doc()).body).toEqual(rebuilt.body);
    expect((await doc()).tsv).toEqual(rebuilt.tsv);
  });

  it('ranks only the newest matches when too many match, and says so', async () => {
    await ticket('capOldest', { title: 'Thang máy chung cư hỏng', hoursAgo: 50 });
    await ticket('capOld', { title: 'thang may chung cu hong', hoursAgo: 40 });
    await ticket('capExact', { title: 'Thang máy chung cư hỏng', hoursAgo: 35 });
    await ticket('capNew', { title: 'thang may chung cu hong', hoursAgo: 20 });
    // Five months older: its month is walked only when the newer ones hold no more than are ranked.
    await ticket('capAncient', { title: 'Thang máy chung cư hỏng', hoursAgo: 24 * 150 });
    const run = (rankedMax: number | undefined, f: Partial<SearchFilters> = {}) =>
      new PostgresTicketSearch(handle.db, rankedMax ? { rankedMax } : {}).search(parseSearchQuery('thang máy chung cư'), { ...OPEN, ...f }, { limit: 20, offset: 0 });
    const all = await run(undefined);
    expect(names(all.hits)).toEqual(['capExact', 'capOldest', 'capAncient', 'capNew', 'capOld']);
    expect(all.capped).toBeUndefined();
    expect((await run(5)).capped).toBeUndefined();
    // Four match in the last months, five in all: with four ranked, the ancient one is left out.
    const four = await run(4);
    expect(names(four.hits)).toEqual(['capExact', 'capOldest', 'capNew', 'capOld']);
    expect(four.capped).toBe(true);
    // Three ranked: the best-ranked of the newest three; the oldest is not found, and the result says why.
    const capped = await run(3);
    expect(names(capped.hits)).toEqual(['capExact', 'capNew', 'capOld']);
    expect(capped.capped).toBe(true);
    // Narrowed (dates), the ancient one is among the newest four again.
    const narrowed = await run(4, { to: new Date(base - 30 * HOUR) });
    expect(names(narrowed.hits)).toEqual(['capExact', 'capOldest', 'capAncient', 'capOld']);
    expect(narrowed.capped).toBeUndefined();
    // The typo fallback is capped the same way.
    const typo = await new PostgresTicketSearch(handle.db, { rankedMax: 2 }).search(parseSearchQuery('thang may chung cu hongg'), OPEN, { limit: 20, offset: 0 });
    expect(typo.hits.map((h) => h.match)).toEqual(['typo', 'typo']);
    expect(names(typo.hits)).toEqual(['capNew', 'capExact']);
    expect(typo.capped).toBe(true);
  });

  it('keeps each document in its month\'s partition, moving it with its ticket\'s time, and adds months without losing one', async () => {
    const search = new PostgresTicketSearch(handle.db);
    const find = async (q: string) => (await search.search(parseSearchQuery(q), OPEN, { limit: 20, offset: 0 })).hits.map((h) => h.ticketId);
    const where = async (id: number) => (await sql<{ part: string }>`
      select tableoid::regclass::text as part from ticket_search where ticket_id = ${id}`.execute(handle.db)).rows.map((r) => r.part);
    const t = await ticket('partitioned', { title: 'Hố ga sụt lún giữa ngã tư', hoursAgo: 0 });
    expect(await where(t)).toEqual(['ticket_search_y2026m11']);
    // An earlier report moved onto it makes it a ticket of that month: one document, in that month.
    await handle.db.updateTable('tickets').set({ received_at: new Date(Date.UTC(2026, 5, 30, 20)) }).where('id', '=', t).execute();
    expect(await where(t)).toEqual(['ticket_search_y2026m06']);
    expect(await find('ho ga sut lun')).toEqual([t]);
    // Before the first month and after the last: the catch-alls take it; nothing is refused.
    const later = new Date(Date.now() + 3 * 365 * 24 * HOUR);
    await handle.db.updateTable('tickets').set({ received_at: later }).where('id', '=', t).execute();
    expect(await where(t)).toEqual(['ticket_search_later']);
    expect(await find('ho ga sut lun')).toEqual([t]);
    const ancient = await ticket('ancient', { title: 'Hố ga sụt lún từ năm trước', hoursAgo: 24 * 900 });
    expect(await where(ancient)).toEqual(['ticket_search_earlier']);
    // The months are added, the documents that waited move into them, and the walk covers them all.
    const ranges = async () => (await sql<{ n: number }>`select count(*)::int as n from ticket_search_ranges`.execute(handle.db)).rows[0]!.n;
    const before = await ranges();
    const added = await partitionSearch(handle.db, { now: later, since: (await oldestTicket(handle.db))! });
    expect(added).toBeGreaterThan(36);
    expect(await ranges()).toBe(before + added);
    expect(await where(t)).toEqual([`ticket_search_y${later.toISOString().slice(0, 4)}m${later.toISOString().slice(5, 7)}`]);
    expect(await where(ancient)).toEqual([`ticket_search_y${new Date(base - 24 * 900 * HOUR).toISOString().slice(0, 4)}m${new Date(base - 24 * 900 * HOUR).toISOString().slice(5, 7)}`]);
    expect(await partitionSearch(handle.db, { now: later })).toBe(0);
    expect((await find('ho ga sut lun')).sort()).toEqual([t, ancient].sort());
    // The ranges tile time: each starts where the one before it ends, from -infinity to infinity.
    const tiles = (await sql<{ lo: string; hi: string }>`select lo::text, hi::text from ticket_search_ranges order by lo`.execute(handle.db)).rows;
    expect(tiles[0]!.lo).toBe('-infinity');
    expect(tiles.at(-1)!.hi).toBe('infinity');
    tiles.slice(1).forEach((r, i) => expect(r.lo).toBe(tiles[i]!.hi));
  });

  it('writes month bounds that match its ranges whatever the session\'s DateStyle and time zone', async () => {
    // "IST" (India) printed by a timestamptz under DateStyle SQL reads back as Israel's time.
    await handle.db.transaction().execute(async (tx) => {
      await sql`set local datestyle = 'SQL, DMY'`.execute(tx);
      await sql`set local timezone = 'Asia/Kolkata'`.execute(tx);
      await sql`select ticket_search_partition(now(), now() + interval '40 months')`.execute(tx);
    });
    const bounds = (await sql<{ lo: Date; hi: Date; from_: Date | null; to_: Date | null }>`
      select r.lo, r.hi, (b[1])::timestamptz as from_, (b[2])::timestamptz as to_
      from ticket_search_ranges r
      join pg_class c on c.relname = 'ticket_search_y' || to_char(r.lo at time zone 'UTC', 'YYYY"m"MM')
      cross join lateral regexp_match(pg_get_expr(c.relpartbound, c.oid), $$FROM \\('([^']+)'\\) TO \\('([^']+)'\\)$$) as b
      where r.lo > '-infinity' and r.hi < 'infinity'`.execute(handle.db)).rows;
    expect(bounds.length).toBeGreaterThan(40);
    expect(bounds.filter((b) => +b.from_! !== +b.lo || +b.to_! !== +b.hi)).toEqual([]);
  });

  it('moves every document into its month when migrated from one table (0030), and back when migrated down', async () => {
    const migrator = new Migrator({ db: handle.db, provider: { getMigrations: async () => migrations } });
    const docs = async () => (await sql<{ id: number; body: string; tsv: string }>`
      select ticket_id as id, body, tsv::text as tsv from ticket_search order by ticket_id`.execute(handle.db)).rows;
    // 0027's month lexeme: a control character, 'r', YYYYMM.
    const months = { test: (tsv: string) => tsv.includes("'\u0001r") };
    const partitioned = await docs();
    expect(partitioned.length).toBeGreaterThan(10);
    expect(partitioned.filter((d) => months.test(d.tsv))).toEqual([]);
    const down = await migrator.migrateTo('0029_search_refresh_bounded');
    expect(down.error).toBeUndefined();
    // One table again, each document with its month's lexeme (0027), as 0029 searched them.
    expect((await sql<{ kind: string }>`select relkind::text as kind from pg_class where relname = 'ticket_search'`.execute(handle.db)).rows).toEqual([{ kind: 'r' }]);
    expect((await docs()).every((d) => months.test(d.tsv))).toBe(true);
    const up = await migrator.migrateToLatest();
    expect(up.error).toBeUndefined();
    expect(await docs()).toEqual(partitioned);
    const search = new PostgresTicketSearch(handle.db);
    expect(names((await search.search(parseSearchQuery('ngap nuoc nguyen huu canh'), OPEN, { limit: 20, offset: 0 })).hits)).toContain('accented');
  });

  it('finds only documents with every word when the common ones are checked on the documents, not in the index', async () => {
    // Enough documents with "đường" for the statistics to list it as common, and two that differ by it alone.
    for (let i = 0; i < 60; i++) await ticket(`common${i}`, { title: `Đường ${i % 2 ? 'ngập nước' : 'hư hỏng'} khu phố ${i}`, hoursAgo: 100 + i });
    const both = await ticket('rareBoth', { title: 'Cây xanh gãy cành đường Trương Định' });
    await ticket('rareNoStreetWord', { title: 'Cây xanh gãy cành Trương Định' });
    await sql`analyze ticket_search`.execute(handle.db);
    // Read from the months' statistics, as a search reads them: "đường" in more than a fifth of all documents.
    const shares = await lexemeShares(handle.db);
    expect(shares.get('duong')).toBeGreaterThan(0.2);
    expect(shares.get('truong') ?? 0).toBeLessThan(0.2);
    const search = new PostgresTicketSearch(handle.db);
    const hits = await search.search(parseSearchQuery('cay xanh gay canh duong truong dinh'), OPEN, { limit: 20, offset: 0 });
    expect(hits.hits.map((h) => h.ticketId)).toEqual([both]);
  });
});

describe.skipIf(TEST_DB !== 'postgres')('PostgreSQL engine, concurrent writers (a server: several connections)', () => {
  /** A connection of its own to the test database, beside the pool. */
  const client = async () => {
    const c = new pg.Client({ connectionString: handle.url! });
    await c.connect();
    return c;
  };
  const documents = async (id: number) => (await sql<{ part: string }>`
    select tableoid::regclass::text as part from ticket_search where ticket_id = ${id}`.execute(handle.db)).rows.map((r) => r.part);

  it('adds months while a writer that has read tickets goes on to write a report: no deadlock, nothing lost', async () => {
    const t = await ticket('concurrentMonths', { title: 'Cống thoát nước bị nghẹt' });
    const writer = await client();
    try {
      await writer.query('begin');
      await writer.query('select id from tickets where id = $1', [t]);
      // Months far ahead: the catch-all of later months is detached and made again.
      const added = await partitionSearch(handle.db, { now: new Date(Date.UTC(2031, 0, 15)), lockTimeoutMs: 5_000 });
      expect(added).toBeGreaterThan(0);
      await writer.query(`insert into inbound_messages (channel, external_id, code, payload, received_at) values ('web', 'conc-1', 'TK-CONC0001', '{}', now())`);
      await writer.query(`insert into reports (code, inbound_id, channel, ticket_id, text, text_folded, attachments, reasons, received_at)
        select 'TK-CONC0001', id, 'web', $1, 'Cống nghẹt bốc mùi hôi thối', '', '[]', '[]', now() from inbound_messages where external_id = 'conc-1'`, [t]);
      await writer.query('commit');
    } finally {
      await writer.end();
    }
    const search = new PostgresTicketSearch(handle.db);
    expect((await search.search(parseSearchQuery('cong nghet boc mui'), OPEN, { limit: 20, offset: 0 })).hits.map((h) => h.ticketId)).toEqual([t]);
  });

  it('keeps one document when a report is edited while a merge moves its ticket to another month', async () => {
    const t = await ticket('concurrentMerge', { title: 'Nắp hố ga bị vỡ', hoursAgo: 1 });
    const merge = await client();
    const edit = await client();
    try {
      await merge.query('begin');
      await merge.query(`update tickets set received_at = '2026-06-15T05:00:00Z' where id = $1`, [t]);
      await edit.query('begin');
      // The edit's refresh waits for the merge's ticket row, then reads the ticket as committed.
      const edited = edit.query(`update reports set text = 'Nắp hố ga bị vỡ, xe máy sụp bánh' where ticket_id = $1`, [t]);
      await new Promise((r) => setTimeout(r, 300));
      await merge.query('commit');
      await edited;
      await edit.query('commit');
    } finally {
      await merge.end();
      await edit.end();
    }
    expect(await documents(t)).toEqual(['ticket_search_y2026m06']);
  });
});

const meiliUrl = process.env.MEILI_URL;
describe.skipIf(!meiliUrl)(`Meilisearch engine${meiliUrl ? '' : ' (skipped: MEILI_URL is not set; no Meilisearch server runs on this machine)'}`, () => {
  contract((opts) => new MeiliTicketSearch(handle.db, meiliUrl!, process.env.MEILI_KEY, opts), async (s) => {
    await syncSearch(handle.db, s);
    // The tickets above were written without events (no workflow ran): index them all.
    await s.index(Object.values(ids));
  });
});

describe('search strings', () => {
  it('are cut before anything else and bounded in words', () => {
    const q = parseSearchQuery(`${'ngập '.repeat(5000)}`);
    expect(q.text.length).toBeLessThanOrEqual(QUERY_MAX);
    expect(q.terms).toEqual(['ngap']);
    const many = parseSearchQuery('mot hai ba bon nam sau bay tam chin muoi');
    expect(many.terms).toHaveLength(TERMS_MAX);
    expect(parseSearchQuery('p 12 Quận 3').terms).toEqual(['12', 'quan', '3']);
    expect(parseSearchQuery('Đường').terms).toEqual(['duong']);
    expect(parseSearchQuery(`a${'9'.repeat(300)}`).terms[0]).toHaveLength(32);
  });
});
