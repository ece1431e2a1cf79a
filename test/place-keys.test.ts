import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeTickets, moveReportToNewTicket } from '../src/core/tickets/regroup.ts';
import { TICKET_PLACE_KEYS_MAX } from '../src/core/engine/text.ts';
import type { Runtime } from '../src/runtime.ts';
import { AGENT, PLACES } from './support/factories.ts';
import { postReport, testRuntime } from './support/runtime.ts';

// A ticket stores the place keys (house number + street, street, alley, landmark) its reports
// named, read against the city's street list (core/places/place-reader.ts), so grouping
// reads a short list instead of deriving them from every word of every report (crafted text
// made that quadratic: one attacked spot held the server 6.5 s per ordinary report).

let rt: Runtime;
beforeAll(async () => {
  rt = await testRuntime();
});
afterAll(async () => {
  await rt?.close();
});

let phone = 0;
async function file(body: Record<string, unknown>) {
  const res = await postReport(rt, { category: 'rac_thai', citizen: { phone: `0933 100 ${String(++phone).padStart(3, '0')}` }, ...body });
  expect(res.status).toBe(201);
  const { code } = (await res.json()) as { code: string };
  await rt.worker.idle();
  return rt.handle.db.selectFrom('reports').selectAll().where('code', '=', code).executeTakeFirstOrThrow();
}
const keysOf = async (ticketId: number) =>
  (await rt.handle.db.selectFrom('tickets').select('place_keys').where('id', '=', ticketId).executeTakeFirstOrThrow()).place_keys;

/** "10 Aa Ka 11 Ab Ka ...": a house number before each of hundreds of different streets. */
function crafted(offset: number): string {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  let out = '';
  for (let i = 0; out.length < 4990; i++) out += `${10 + offset + i} A${letters[i % 26]} K${letters[Math.floor(i / 26) % 26]} `;
  return out.slice(0, 5000).trim();
}

describe('place keys stored on the ticket', () => {
  it('keeps the keys a report named, and a report naming the same house with words only joins that ticket', async () => {
    const a = await file({ text: 'Rác đổ bừa bãi trước nhà số 45 Nguyễn Thái Học, bốc mùi', ...PLACES.benThanh });
    expect(await keysOf(a.ticket_id)).toEqual(['street|nguyen thai hoc', '45|nguyen thai hoc']);
    const b = await file({ text: 'Bãi rác tự phát hôi thối quá', address: '45 Nguyễn Thái Học, phường Bến Thành' });
    expect(b.ticket_id).toBe(a.ticket_id);
    expect(b.relation).toBe('duplicate');
    expect(b.reasons).toContainEqual(expect.objectContaining({ code: 'duplicate', message: expect.stringContaining('same house number and street') }));
  });

  it('stores at most TICKET_PLACE_KEYS_MAX keys after three crafted 5,000-character reports, and ordinary reports there still group', async () => {
    const spot = { lat: 10.7741, lng: 106.7003 };
    const first = await file({ text: crafted(0), ...spot });
    for (const offset of [600, 1200]) expect((await file({ text: crafted(offset), ...spot })).ticket_id).toBe(first.ticket_id);
    const keys = (await keysOf(first.ticket_id))!;
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.length).toBeLessThanOrEqual(TICKET_PLACE_KEYS_MAX);
    const ordinary = await file({ text: 'Rác thải chất đống trên vỉa hè, hôi thối', lat: 10.7742, lng: 106.7004 });
    expect(ordinary.ticket_id).toBe(first.ticket_id);
  });

  it('derives the keys of a ticket stored before keys were (null) from its reports, and stores them when it takes the next one', async () => {
    const a = await file({ text: 'Rác ứ đọng trước số 18 Tôn Thất Đạm nhiều ngày', lat: 10.7712, lng: 106.7032 });
    await rt.handle.db.updateTable('tickets').set({ place_keys: null }).where('id', '=', a.ticket_id).execute();
    const b = await file({ text: 'Rác chưa ai dọn', address: '18 Tôn Thất Đạm, phường Sài Gòn' });
    expect(b.ticket_id).toBe(a.ticket_id);
    expect(await keysOf(a.ticket_id)).toEqual(expect.arrayContaining(['street|ton that dam', '18|ton that dam']));
  });

  it('follows the reports when an agent moves one out or merges two tickets', async () => {
    const a = await file({ text: 'Rác tràn trước số 21 Lê Thánh Tôn', lat: 10.7760, lng: 106.7010 });
    const b = await file({ text: 'Rác đổ trước nhà 99 Lê Thánh Tôn, gần chợ', lat: 10.7761, lng: 106.7011 });
    expect(b.ticket_id).toBe(a.ticket_id);
    expect(await keysOf(a.ticket_id)).toEqual(expect.arrayContaining(['21|le thanh ton', '99|le thanh ton']));

    const moved = await moveReportToNewTicket(rt.handle.db, b.id, AGENT, 'hai điểm rác khác nhau');
    expect(await keysOf(a.ticket_id)).not.toContain('99|le thanh ton');
    expect(await keysOf(moved.ticketId)).toEqual(['street|le thanh ton', '99|le thanh ton']);

    await mergeTickets(rt.handle.db, moved.ticketId, a.ticket_id, AGENT, 'cùng một điểm');
    expect(await keysOf(a.ticket_id)).toEqual(['street|le thanh ton', '21|le thanh ton', '99|le thanh ton']);
  });
});
