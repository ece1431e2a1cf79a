import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unlinkIdentity } from '../src/core/citizens/merge.ts';
import { mergeTickets, moveReportToNewTicket } from '../src/core/tickets/regroup.ts';
import type { Runtime } from '../src/runtime.ts';
import { AGENT, PLACES } from './support/factories.ts';
import { postReport, testRuntime } from './support/runtime.ts';

let rt: Runtime;
beforeAll(async () => {
  rt = await testRuntime();
});
afterAll(async () => {
  await rt?.close();
});

async function file(body: Record<string, unknown>) {
  const res = await postReport(rt, body);
  expect(res.status).toBe(201);
  const { code } = (await res.json()) as { code: string };
  await rt.worker.idle();
  return rt.handle.db.selectFrom('reports').selectAll().where('code', '=', code).executeTakeFirstOrThrow();
}

const ticketOf = (id: number) => rt.handle.db.selectFrom('tickets').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const eventsOf = (id: number) => rt.handle.db.selectFrom('ticket_events').select(['type', 'actor', 'reason']).where('ticket_id', '=', id).orderBy('id').execute();

describe('grouping decisions an agent can undo', () => {
  it('groups two neighbours on one flood, then moves one report out to a ticket of its own', async () => {
    const a = await file({ text: 'Nước ngập sâu đường Lê Lợi', lat: 10.7725, lng: 106.698, citizen: { phone: '0911 000 001' } });
    const b = await file({ text: 'Ngập nước trước chợ Bến Thành', lat: 10.7731, lng: 106.6987, citizen: { phone: '0911 000 002' } });
    expect(b.ticket_id).toBe(a.ticket_id);
    expect(b.relation).toBe('duplicate');
    expect((await ticketOf(a.ticket_id)).reporter_count).toBe(2);

    const moved = await moveReportToNewTicket(rt.handle.db, b.id, AGENT, 'hai vụ ngập khác nhau');
    const after = await rt.handle.db.selectFrom('reports').selectAll().where('id', '=', b.id).executeTakeFirstOrThrow();
    expect(after.ticket_id).toBe(moved.ticketId);
    expect(after.relation).toBe('new');
    expect((await ticketOf(a.ticket_id)).reporter_count).toBe(1);
    expect(await eventsOf(a.ticket_id)).toContainEqual({ type: 'report.moved', actor: 'user:agent', reason: 'hai vụ ngập khác nhau' });
    expect(moved.events.map((e) => e.type)).toEqual(['report.moved', 'ticket.created']);
    await expect(moveReportToNewTicket(rt.handle.db, a.id, AGENT, 'x')).rejects.toMatchObject({ code: 'report_alone' });

    // ...and merges them back in one step
    const merged = await mergeTickets(rt.handle.db, moved.ticketId, a.ticket_id, AGENT, 'cùng một điểm ngập');
    expect(merged.events.map((e) => e.type)).toEqual(['ticket.merged', 'ticket.absorbed']);
    const target = await ticketOf(a.ticket_id);
    expect(target.report_count).toBe(2);
    const source = await ticketOf(moved.ticketId);
    expect(source).toMatchObject({ merged_into: a.ticket_id, status: 'closed', report_count: 0 });
    await expect(mergeTickets(rt.handle.db, moved.ticketId, a.ticket_id, AGENT, 'again')).rejects.toMatchObject({ code: 'ticket_already_merged' });
    await expect(mergeTickets(rt.handle.db, a.ticket_id, a.ticket_id, AGENT, 'self')).rejects.toMatchObject({ code: 'merge_same_ticket' });
  });

  it('links a phone and an email that arrive together, merging two known citizens with a record of why, and unlinks on request', async () => {
    const byPhone = await file({ text: 'Đèn đường hư tối om', ...PLACES.saiGon, citizen: { phone: '0922 000 111' } });
    const byEmail = await file({ text: 'Cây xanh nghiêng sắp ngã', lat: 10.7805, lng: 106.7001, citizen: { email: 'Hoa.Tran@Example.vn' } });
    expect(byPhone.citizen_id).not.toBe(byEmail.citizen_id);
    const both = await file({ text: 'Cây xanh nghiêng sắp ngã, nhắc lại', lat: 10.7805, lng: 106.7001, citizen: { email: 'hoa.tran@example.vn', phone: '+84922000111' } });
    const keep = Math.min(byPhone.citizen_id!, byEmail.citizen_id!);
    expect(both.citizen_id).toBe(keep);
    expect(both.relation).toBe('same_citizen');
    const events = await rt.handle.db.selectFrom('citizen_events').select(['citizen_id', 'type', 'reason']).where('type', '=', 'citizen.merged').execute();
    expect(events).toContainEqual(expect.objectContaining({ citizen_id: keep, type: 'citizen.merged' }));
    const ids = await rt.handle.db.selectFrom('citizen_identities').select(['id', 'kind', 'citizen_id']).where('citizen_id', '=', keep).execute();
    expect(ids.map((i) => i.kind).sort()).toEqual(['email', 'phone']);

    const email = ids.find((i) => i.kind === 'email')!;
    const un = await unlinkIdentity(rt.handle.db, email.id, AGENT, 'hai người khác nhau');
    const moved = await rt.handle.db.selectFrom('reports').select(['id', 'citizen_id']).where('id', 'in', [byEmail.id, both.id, byPhone.id]).orderBy('id').execute();
    // only the report that came with the email alone follows it
    expect(moved.find((r) => r.id === byEmail.id)?.citizen_id).toBe(un.citizenId);
    expect(moved.find((r) => r.id === both.id)?.citizen_id).toBe(keep);
    expect(moved.find((r) => r.id === byPhone.id)?.citizen_id).toBe(keep);
    await expect(unlinkIdentity(rt.handle.db, email.id, AGENT, 'again')).rejects.toMatchObject({ code: 'identity_last' });
  });

  it('unlinks an identity all or nothing: a failure at its last write leaves the citizen as it was', async () => {
    const a = await file({ text: 'Nắp cống hở giữa đường', lat: 10.7790, lng: 106.6995, citizen: { phone: '0944 000 321', email: 'minh.le@example.vn' } });
    const db = rt.handle.db;
    const before = {
      identities: await db.selectFrom('citizen_identities').select(['id', 'kind', 'citizen_id']).where('citizen_id', '=', a.citizen_id!).orderBy('id').execute(),
      citizens: Number((await db.selectFrom('citizens').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
    };
    const email = before.identities.find((i) => i.kind === 'email')!;
    // The record of the split, written last, is refused: everything before it must be undone.
    await sql`alter table citizen_events add constraint test_refuse_split check (type <> 'citizen.split_from') not valid`.execute(db);
    try {
      await expect(unlinkIdentity(db, email.id, AGENT, 'không phải cùng người')).rejects.toThrow();
    } finally {
      await sql`alter table citizen_events drop constraint test_refuse_split`.execute(db);
    }
    expect(await db.selectFrom('citizen_identities').select(['id', 'kind', 'citizen_id']).where('citizen_id', '=', a.citizen_id!).orderBy('id').execute()).toEqual(before.identities);
    expect(Number((await db.selectFrom('citizens').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)).toBe(before.citizens);
    expect((await db.selectFrom('reports').select('citizen_id').where('id', '=', a.id).executeTakeFirstOrThrow()).citizen_id).toBe(a.citizen_id);
    expect(await db.selectFrom('citizen_events').select('id').where('type', '=', 'citizen.unlinked').where('citizen_id', '=', a.citizen_id!).execute()).toEqual([]);
  });

  it('keeps near-misses apart: the same topic 500 m away, and a different topic at the same place', async () => {
    const a = await file({ text: 'Karaoke hát to quá khuya', lat: 10.7700, lng: 106.6930, citizen: { phone: '0933 000 001' } });
    const far = await file({ text: 'Karaoke ồn ào quá khuya', lat: 10.7745, lng: 106.6930, citizen: { phone: '0933 000 002' } });
    const other = await file({ text: 'Rác thải đổ bừa bãi bốc mùi', lat: 10.7700, lng: 106.6930, citizen: { phone: '0933 000 003' } });
    expect(far.ticket_id).not.toBe(a.ticket_id);
    expect(other.ticket_id).not.toBe(a.ticket_id);
  });
});
