import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertUser } from '../src/core/staff/users.ts';
import type { Runtime } from '../src/runtime.ts';
import { PLACES, PNG_1PX } from './support/factories.ts';
import { postReport, signIn, staffClient, testRuntime } from './support/runtime.ts';

let rt: Runtime;
let agent: ReturnType<typeof staffClient>;
let agent2: ReturnType<typeof staffClient>;
let benThanh: ReturnType<typeof staffClient>;
let otherWard: ReturnType<typeof staffClient>;

beforeAll(async () => {
  rt = await testRuntime();
  const db = rt.handle.db;
  await upsertUser(db, { username: 'agent1', password: 'password-1', role: 'agent', displayName: 'Tổng đài viên 1' });
  await upsertUser(db, { username: 'agent2', password: 'password-2', role: 'agent', displayName: 'Tổng đài viên 2' });
  await upsertUser(db, { username: 'benthanh', password: 'password-3', role: 'ward_officer', areaCodes: [PLACES.benThanh.code] });
  await upsertUser(db, { username: 'saigon', password: 'password-4', role: 'ward_officer', areaCodes: [PLACES.saiGon.code] });
  agent = staffClient(rt, await signIn(rt, 'agent1', 'password-1'));
  agent2 = staffClient(rt, await signIn(rt, 'agent2', 'password-2'));
  benThanh = staffClient(rt, await signIn(rt, 'benthanh', 'password-3'));
  otherWard = staffClient(rt, await signIn(rt, 'saigon', 'password-4'));
});
afterAll(async () => {
  await rt?.close();
});

async function newTicket(body: Record<string, unknown>): Promise<{ report: string; ticket: string }> {
  const res = await postReport(rt, body);
  const { code } = (await res.json()) as { code: string };
  await rt.worker.idle();
  const s = (await (await rt.app.request(`/api/v1/reports/${code}`)).json()) as { ticket: string };
  return { report: code, ticket: s.ticket };
}

const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as any });

describe('console API', () => {
  it('walks a ticket from report to resolution, notifying every reporter on their channel', async () => {
    const seen: string[] = [];
    const off = rt.events.on('*', (e) => seen.push(e.type));
    const { ticket } = await newTicket({ text: 'Cây xanh ngã chắn ngang đường Lê Lợi', ...PLACES.benThanh, citizen: { phone: '0944 000 001' } });
    await newTicket({ text: 'Cây ngã giữa đường Lê Lợi, xe không qua được', lat: 10.7726, lng: 106.6981, citizen: { email: 'a@example.vn' } });

    const queue = await json(await agent.get('/api/console/queue'));
    expect(queue.status).toBe(200);
    const item = queue.body.items.find((i: any) => i.code === ticket);
    expect(item).toMatchObject({ reporter_count: 2, area: { code: PLACES.benThanh.code } });

    expect((await agent.post(`/api/console/tickets/${ticket}/claim`)).status).toBe(200);
    const taken = await json(await agent2.post(`/api/console/tickets/${ticket}/claim`));
    expect(taken).toMatchObject({ status: 409, body: { error: { code: 'ticket_claimed', details: { by: 'agent1' } } } });

    expect((await agent.post(`/api/console/tickets/${ticket}/notes`, { text: 'Đã gọi lại cho người dân' })).status).toBe(200);
    expect((await agent.post(`/api/console/tickets/${ticket}/dispatch`, { instructions: 'Cưa cây, dọn đường' })).status).toBe(200);

    // the ward officer of another unit can neither read nor act
    expect((await otherWard.get(`/api/console/tickets/${ticket}`)).status).toBe(403);
    expect((await json(await otherWard.post(`/api/ward/tickets/${ticket}/acknowledge`))).body.error.code).toBe('ticket_forbidden');
    expect((await json(await otherWard.get('/api/ward/tasks'))).body.items.map((i: any) => i.code)).not.toContain(ticket);

    const tasks = await json(await benThanh.get('/api/ward/tasks'));
    expect(tasks.body.items.map((i: any) => i.code)).toContain(ticket);
    expect((await benThanh.post(`/api/ward/tickets/${ticket}/acknowledge`)).status).toBe(200);
    expect((await benThanh.post(`/api/ward/tickets/${ticket}/start`)).status).toBe(200);
    const form = new FormData();
    form.set('note', 'Đã cưa cây và dọn sạch mặt đường');
    form.append('photos', new File([PNG_1PX], 'sau.png', { type: 'image/png' }));
    const resolved = await benThanh.raw(`/api/ward/tickets/${ticket}/resolve`, { method: 'POST', body: form });
    expect(resolved.status).toBe(200);

    const detail = await json(await agent.get(`/api/console/tickets/${ticket}`));
    expect(detail.body.ticket.status).toBe('resolved');
    const types = detail.body.events.map((e: any) => e.type);
    expect(types).toEqual(expect.arrayContaining(['ticket.claimed', 'ticket.note', 'ticket.dispatched', 'ticket.acknowledged', 'ticket.started', 'ticket.resolved']));
    const photo = detail.body.events.find((e: any) => e.type === 'ticket.resolved').data.attachments[0];
    const img = await agent.get(`/api/console/photos/${photo.key}`);
    expect(img.status).toBe(200);
    expect(img.headers.get('content-type')).toBe('image/png');

    const outbound = await rt.handle.db.selectFrom('outbound_messages').innerJoin('tickets', 'tickets.id', 'outbound_messages.ticket_id')
      .select(['outbound_messages.channel', 'outbound_messages.kind']).where('tickets.code', '=', ticket).execute();
    expect(outbound).toHaveLength(2);
    expect(outbound.every((o) => o.kind === 'resolved' && o.channel === 'app')).toBe(true);

    const page = await (await rt.app.request(`/track/${ticket}`)).text();
    expect(page).toContain('Đã xử lý xong');
    expect(seen).toEqual(expect.arrayContaining(['ticket.dispatched', 'ticket.resolved']));
    off();
  });

  it('lets exactly one of two simultaneous claims win', async () => {
    const { ticket } = await newTicket({ text: 'Đèn đường hư tối om', ...PLACES.saiGon });
    const [a, b] = await Promise.all([agent.post(`/api/console/tickets/${ticket}/claim`), agent2.post(`/api/console/tickets/${ticket}/claim`)]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
  });

  it('refuses a dispatch to a unit without officers, and one without a unit', async () => {
    const { ticket } = await newTicket({ text: 'Rác thải đổ bừa bãi trước chợ Bình Tây', ...PLACES.binhTay });
    const res = await json(await agent.post(`/api/console/tickets/${ticket}/dispatch`, {}));
    expect(res).toMatchObject({ status: 422, body: { error: { code: 'dispatch_no_officer' } } });
    const { ticket: nowhere } = await newTicket({ text: 'Rác thải đổ bừa bãi', ...PLACES.outside });
    expect((await json(await agent.post(`/api/console/tickets/${nowhere}/dispatch`, {}))).body.error.code).toBe('dispatch_area_missing');
  });

  it('re-triages, moves a report out and merges it back through the API', async () => {
    const a = await newTicket({ text: 'Nước ngập sâu đường Lê Lợi', ...PLACES.benThanh, citizen: { phone: '0955 000 001' } });
    const b = await newTicket({ text: 'Ngập nước trước chợ Bến Thành', lat: 10.7727, lng: 106.6982, citizen: { phone: '0955 000 002' } });
    expect(b.ticket).toBe(a.ticket);
    const patched = await agent.patch(`/api/console/tickets/${a.ticket}`, { priority: 'urgent' });
    expect(patched.status).toBe(200);
    const moved = await json(await agent.post(`/api/console/reports/${b.report}/move`, { reason: 'khác điểm ngập' }));
    expect(moved.status).toBe(200);
    expect(moved.body.ticket).not.toBe(a.ticket);
    expect((await agent.post(`/api/console/tickets/${moved.body.ticket}/merge`, { into: a.ticket, reason: 'cùng điểm ngập' })).status).toBe(200);
    const detail = await json(await agent.get(`/api/console/tickets/${a.ticket}`));
    expect(detail.body.ticket).toMatchObject({ priority: 'urgent', report_count: 2 });
    expect(detail.body.reports.map((r: any) => r.code)).toEqual([a.report, b.report]);
  });

  it('answers a ticket in the named wire shape: no internal column (cell, place keys, department) leaves the server', async () => {
    const { ticket } = await newTicket({ text: 'Đèn đường hỏng trước chợ Bến Thành', ...PLACES.benThanh });
    const detail = await json(await agent.get(`/api/console/tickets/${ticket}`));
    expect(Object.keys(detail.body).sort()).toEqual(['citizens', 'events', 'reports', 'ticket']);
    expect(Object.keys(detail.body.ticket).sort()).toEqual([
      'address', 'area', 'area_code', 'category', 'claimed_by', 'claimed_by_name', 'closed_at', 'code', 'dispatched_area', 'dispatched_at',
      'due_at', 'hotspot_count', 'id', 'lat', 'lng', 'merged_into', 'needs_triage', 'priority', 'received_at', 'report_count', 'reporter_count',
      'resolved_at', 'status', 'title', 'triage_due_at',
    ]);
    expect(detail.body.ticket.area).toEqual({ code: PLACES.benThanh.code, name: PLACES.benThanh.name });
    expect(Object.keys(detail.body.reports[0]).sort()).toEqual([
      'address', 'area_code', 'area_source', 'attachments', 'category_code', 'category_confidence', 'category_source', 'channel', 'citizen_id',
      'code', 'id', 'lat', 'lng', 'reasons', 'received_at', 'relation', 'score', 'text',
    ]);
    expect(detail.body.events[0]).toMatchObject({ seq: detail.body.events[0].id, created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    const queue = await json(await agent.get('/api/console/queue'));
    const row = queue.body.items.find((i: { code: string }) => i.code === ticket);
    expect(row).toMatchObject({ code: ticket, area: { code: PLACES.benThanh.code }, due_at: expect.any(String) });
    expect(row).not.toHaveProperty('category_code');
  });

  it('refuses a staff body field of the wrong type, naming it (field_invalid), and a status other than close or reject', async () => {
    const { ticket } = await newTicket({ text: 'Rác thải ùn ứ trên vỉa hè', ...PLACES.saiGon });
    const bad = await json(await agent.post(`/api/console/tickets/${ticket}/notes`, { text: 42 }));
    expect(bad).toMatchObject({ status: 422, body: { error: { code: 'field_invalid', details: { field: 'text' } } } });
    const missing = await json(await agent.post(`/api/console/tickets/${ticket}/merge`, { into: ticket }));
    expect(missing).toMatchObject({ status: 422, body: { error: { code: 'field_missing', details: { field: 'reason' } } } });
    const status = await json(await agent.post(`/api/console/tickets/${ticket}/status`, { status: 'resolved' }));
    expect(status).toMatchObject({ status: 422, body: { error: { code: 'status_invalid' } } });
  });

  it('requires a session, the right role, and the CSRF header on writes', async () => {
    expect((await rt.app.request('/api/console/queue')).status).toBe(401);
    expect((await benThanh.get('/api/console/queue')).status).toBe(403);
    const { ticket } = await newTicket({ text: 'Ổ gà lớn giữa đường', ...PLACES.saiGon });
    const noCsrf = await rt.app.request(`/api/console/tickets/${ticket}/claim`, { method: 'POST', headers: { cookie: (await signIn(rt, 'agent1', 'password-1')).cookie } });
    expect(noCsrf.status).toBe(403);
    expect((await json(await agent.post(`/api/console/tickets/${ticket}/reply`, { text: '' }))).body.error.code).toBe('field_missing');
  });
});
