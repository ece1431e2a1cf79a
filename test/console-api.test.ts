import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { allChannels } from '../channels/index.ts';
import path from 'node:path';
import { sql } from 'kysely';
import { upsertUser } from '../src/core/staff/users.ts';
import { LocalFileStore } from '../src/intake/file-store.ts';
import { AppError, defineChannel, type OutboundMessage } from '../src/intake/channel-kit.ts';
import type { Runtime } from '../src/runtime.ts';
import { PLACES, PNG_1PX } from './support/factories.ts';
import { postReport, signIn, staffClient, testRuntime } from './support/runtime.ts';

let rt: Runtime;
let agent: ReturnType<typeof staffClient>;
let agent2: ReturnType<typeof staffClient>;
let benThanh: ReturnType<typeof staffClient>;
let otherWard: ReturnType<typeof staffClient>;

/** A citizen who said STOP: the test SMS channel refuses to write to them (undeliverable). */
const OPTED_OUT = '+84944000777';
const smsSent: OutboundMessage[] = [];
/** A sending channel named as the SMS one (always on; it replaces a registered 'sms' while the test runs). */
const testSms = defineChannel({
  name: 'sms', label: { vi: 'Tin nhắn SMS', en: 'SMS', background: '#e8eaf6', text: '#283593' }, replies: 'send',
  async send(m) {
    if (m.contact.phone === OPTED_OUT) throw new AppError('recipient_opted_out', 422, 'the recipient opted out', 'Người dân đã đăng ký từ chối nhận tin nhắn.');
    smsSent.push(m);
    return { providerId: `SMtest${m.id}`, to: m.contact.phone, segments: 1 };
  },
});
/** A registered channel that is off (its settings are absent). */
const offFacebook = defineChannel({
  name: 'facebook', label: { vi: 'Facebook', en: 'Facebook', background: '#e7f0fd', text: '#0b3d91' }, replies: 'send',
  settings: z.object({ FB_TEST_PAGE_TOKEN: z.string() }),
  async send() {},
});

beforeAll(async () => {
  const registry = [...allChannels.filter((c) => c.name !== testSms.name && c.name !== offFacebook.name), testSms, offFacebook];
  rt = await testRuntime({}, { channels: registry });
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

/** The id of a report on a ticket (it may have joined a ticket with other reports). */
const reportIdOf = async (ticket: string, report: string): Promise<number> =>
  (await json(await agent.get(`/api/console/tickets/${ticket}`))).body.reports.find((r: any) => r.code === report).id;

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
    expect(img.headers.get('x-content-type-options')).toBe('nosniff');
    expect(img.headers.get('content-disposition')).toBe(`inline; filename="${photo.key.slice(3, 15)}.png"; filename*=UTF-8''${photo.key.slice(3, 15)}.png`);
    // A file whose bytes are neither a photo nor a PDF (whatever it was stored as) is only ever a download.
    const odd = await new LocalFileStore(path.join(rt.config.dataDir, 'uploads')).put(Buffer.from('<script>alert(1)</script>'), 'image/png', 'png');
    await sql`update reports set attachments = attachments || ${JSON.stringify([{ ...odd, name: 'Ghi chú "tổ dân phố".png' }])}::jsonb
      where ticket_id = (select id from tickets where code = ${ticket})`.execute(rt.handle.db);
    const download = await agent.get(`/api/console/files/${odd.key}`);
    expect(download.headers.get('content-type')).toBe('application/octet-stream');
    expect(download.headers.get('x-content-type-options')).toBe('nosniff');
    expect(download.headers.get('content-disposition')).toBe(
      `attachment; filename="Ghi chu _to dan pho_.png"; filename*=UTF-8''${encodeURIComponent('Ghi chú "tổ dân phố".png')}`);

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
    expect(Object.keys(detail.body).sort()).toEqual(['citizens', 'events', 'messages', 'reports', 'ticket']);
    expect(Object.keys(detail.body.ticket).sort()).toEqual([
      'address', 'allowed', 'area', 'area_code', 'category', 'claimed_by', 'claimed_by_name', 'closed_at', 'code', 'dispatched_area', 'dispatched_at',
      'due_at', 'hotspot_count', 'id', 'lat', 'lng', 'merged_into', 'needs_triage', 'next_stage', 'priority', 'received_at', 'reopen_count', 'report_count', 'reporter_count',
      'resolved_at', 'sla_started_at', 'status', 'title', 'triage_due_at',
    ]);
    expect(detail.body.ticket.area).toEqual({ code: PLACES.benThanh.code, name: PLACES.benThanh.name });
    expect(Object.keys(detail.body.reports[0]).sort()).toEqual([
      'address', 'area_code', 'area_source', 'attachments', 'call', 'category_code', 'category_confidence', 'category_source', 'channel', 'citizen_id',
      'code', 'id', 'lat', 'lng', 'messages', 'reasons', 'received_at', 'relation', 'score', 'text',
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

describe('console API: only the actions that apply, and the nearest deadline', () => {
  const allowedOf = async (who: ReturnType<typeof staffClient>, ticket: string) =>
    (await json(await who.get(`/api/console/tickets/${ticket}`))).body.ticket as { status: string; allowed: string[]; next_stage: { stage: string; due_at: string } | null; received_at: string };

  it('sends each ticket what the signed-in user may do to it now, from the one policy; a settled ticket offers no claim or classification', async () => {
    const { ticket } = await newTicket({ text: 'Cống thoát nước bị nghẹt bốc mùi hôi', ...PLACES.benThanh, citizen: { phone: '0944 000 161' } });
    const fresh = await allowedOf(agent, ticket);
    expect(fresh.allowed).toEqual(expect.arrayContaining(['ticket.claim', 'ticket.update', 'ticket.dispatch', 'ticket.reject', 'ticket.note', 'ticket.reply']));
    expect(fresh.allowed).not.toContain('ticket.close');
    expect(fresh.allowed).not.toContain('ticket.acknowledge'); // the ward's step, not an agent's
    expect(fresh.allowed).not.toContain('ticket.release_any');
    // The first stage due: triage, 15 minutes after receipt under the default policy.
    expect(fresh.next_stage).toEqual({ stage: 'triage', due_at: new Date(Date.parse(fresh.received_at) + 15 * 60_000).toISOString() });
    const queued = (await json(await agent.get('/api/console/queue'))).body.items.find((i: any) => i.code === ticket);
    expect(queued.next_stage).toEqual(fresh.next_stage);

    expect((await agent.post(`/api/console/tickets/${ticket}/dispatch`, {})).status).toBe(200);
    const dispatched = await allowedOf(agent, ticket);
    expect(dispatched.next_stage?.stage).toBe('acknowledge');
    const ward = await allowedOf(benThanh, ticket);
    expect(ward.allowed).toEqual(['ticket.note', 'ticket.acknowledge', 'ticket.start', 'ticket.resolve']);

    const form = new FormData();
    form.set('note', 'Đã nạo vét cống');
    expect((await benThanh.raw(`/api/ward/tickets/${ticket}/resolve`, { method: 'POST', body: form })).status).toBe(200);
    const resolved = await allowedOf(agent, ticket);
    expect(resolved.next_stage).toBeNull();
    expect(resolved.allowed).toContain('ticket.close');
    for (const none of ['ticket.claim', 'ticket.update', 'ticket.dispatch', 'ticket.merge', 'report.move']) expect(resolved.allowed).not.toContain(none);

    // What is not offered is refused too, and changes nothing.
    const before = await rt.handle.db.selectFrom('ticket_events').select((eb) => eb.fn.countAll<string>().as('n'))
      .where('ticket_id', '=', (eb) => eb.selectFrom('tickets').select('id').where('code', '=', ticket)).executeTakeFirstOrThrow();
    expect(await json(await agent.post(`/api/console/tickets/${ticket}/claim`))).toMatchObject({ status: 409, body: { error: { code: 'ticket_status_invalid' } } });
    expect((await json(await agent.patch(`/api/console/tickets/${ticket}`, { priority: 'high' }))).body.error.code).toBe('ticket_status_invalid');
    const after = await rt.handle.db.selectFrom('ticket_events').select((eb) => eb.fn.countAll<string>().as('n'))
      .where('ticket_id', '=', (eb) => eb.selectFrom('tickets').select('id').where('code', '=', ticket)).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
    const detail = await json(await agent.get(`/api/console/tickets/${ticket}`));
    expect(detail.body.ticket).toMatchObject({ claimed_by: null, priority: 'normal' });

    expect((await agent.post(`/api/console/tickets/${ticket}/status`, { status: 'closed' })).status).toBe(200);
    const closed = await allowedOf(agent, ticket);
    expect(closed.allowed).not.toContain('ticket.close');
    expect(closed.allowed).toEqual(['ticket.note', 'ticket.reply']);
  });

  it('answers the saved views: mine, unclaimed, needs triage, breached, by unit', async () => {
    const mine = await newTicket({ text: 'Đèn tín hiệu giao thông không hoạt động', ...PLACES.saiGon });
    const late = await newTicket({ text: 'Vỉa hè bị lấn chiếm bán hàng', ...PLACES.benThanh });
    expect((await agent.post(`/api/console/tickets/${mine.ticket}/claim`)).status).toBe(200);
    // Received 20 minutes ago: past the 15-minute triage deadline.
    await sql`update tickets set received_at = now() - interval '20 minutes' where code = ${late.ticket}`.execute(rt.handle.db);
    const view = async (v: string, who = agent) => ((await json(await who.get(`/api/console/queue?view=${v}`))).body.items as any[]);
    expect((await view('mine')).map((i) => i.code)).toContain(mine.ticket);
    expect((await view('mine')).every((i) => i.claimed_by === 'agent1')).toBe(true);
    expect((await view('mine', agent2)).map((i) => i.code)).not.toContain(mine.ticket);
    const unclaimed = await view('unclaimed');
    expect(unclaimed.map((i) => i.code)).toContain(late.ticket);
    expect(unclaimed.every((i) => i.claimed_by === null)).toBe(true);
    const triage = await view('triage');
    expect(triage.map((i) => i.code)).toContain(late.ticket);
    expect(triage.every((i) => i.status === 'new' || i.needs_triage)).toBe(true);
    const breached = await view('breached');
    expect(breached.map((i) => i.code)).toContain(late.ticket);
    expect(breached.map((i) => i.code)).not.toContain(mine.ticket);
    expect(breached.every((i) => Date.parse(i.next_stage.due_at) <= Date.now())).toBe(true);
    // The whole queue: the nearest deadline first.
    const dues = (await view('')).map((i) => (i.next_stage ? Date.parse(i.next_stage.due_at) : Infinity));
    expect(dues.length).toBeGreaterThan(2);
    expect(dues).toEqual([...dues].sort((a, b) => (a - b) || 0));
    const units = (await view('unit')).map((i) => i.dispatched_area ?? i.area?.code ?? null);
    // Grouped: once a unit's tickets end, that unit does not come back.
    const seen = new Set<string | null>();
    units.forEach((u, i) => {
      if (i > 0 && u !== units[i - 1]) expect(seen.has(u)).toBe(false);
      seen.add(u);
    });
    expect(seen.size).toBeGreaterThan(1);
  });
});

describe('console API: finding a caller by phone', () => {
  it('finds the tickets of a citizen by their phone number however it is written', async () => {
    const mine = await newTicket({ text: 'Đèn đường tắt cả tuần trên đường Lê Thánh Tôn', ...PLACES.benThanh, citizen: { phone: '0912 345 678', name: 'Phạm Thị Gọi' } });
    const old = await newTicket({ text: 'Nước thải tràn ra hẻm, bốc mùi', ...PLACES.saiGon, citizen: { phone: '0703 123 457' } });
    const other = await newTicket({ text: 'Đèn đường tắt trên đường Pasteur', ...PLACES.saiGon, citizen: { phone: '0912 345 679' } });
    const found = async (q: string) => (await json(await agent.get(`/api/console/queue?q=${encodeURIComponent(q)}`))).body.items.map((i: any) => i.code);
    for (const q of ['0912 345 678', '+84912345678', '84912345678', '0912.345.678', '(+84) 912-345-678', ' 0912345678 ']) {
      const codes = await found(q);
      expect(codes, q).toContain(mine.ticket);
      expect(codes, q).not.toContain(other.ticket);
    }
    // The old 11-digit prefix (0120 became 070 in 2018) finds the number as stored.
    expect(await found('01203 123 457')).toContain(old.ticket);
    expect(await found('0120.312.3457')).toEqual(await found('+84703123457'));
    // Words and codes still match as before; a number nobody has finds nothing.
    expect(await found(mine.report)).toEqual([mine.ticket]);
    expect(await found(mine.ticket)).toEqual([mine.ticket]);
    expect(await found('0988 000 111')).toEqual([]);
    // Bounded: a long run of digits is no phone, and is cut at 200 characters.
    const long = await agent.get(`/api/console/queue?q=${'9'.repeat(5000)}`);
    expect(long.status).toBe(200);
    expect(((await long.json()) as any).items).toEqual([]);
  });
});

describe('console API: messages to citizens and replies through another channel', () => {
  it('lists the messages sent about a ticket, field by field, with their delivery; ward officers get none', async () => {
    const { ticket, report } = await newTicket({ text: 'Cây xanh gãy cành đè lên vỉa hè đường Lê Lợi', ...PLACES.benThanh, citizen: { phone: '0944 000 555' } });
    expect((await agent.post(`/api/console/tickets/${ticket}/reply`, { text: 'Tổng đài đã chuyển thông tin cho phường.' })).status).toBe(200);
    await rt.worker.idle();
    const detail = await json(await agent.get(`/api/console/tickets/${ticket}`));
    const messages = detail.body.messages.filter((m: any) => m.report_code === report);
    expect(messages).toHaveLength(1);
    expect(Object.keys(messages[0]).sort()).toEqual([
      'channel', 'created_at', 'delivered_at', 'delivery_status', 'error', 'id', 'kind', 'report_code', 'segments', 'sent_at', 'status',
    ]);
    expect(messages[0]).toMatchObject({ report_code: report, channel: 'app', kind: 'reply', status: 'published', error: null, created_at: expect.stringMatching(/^\d{4}-/) });
    // What a provider said later shows as it is.
    await rt.handle.db.updateTable('outbound_messages').set({ status: 'undeliverable', delivery_status: 'undelivered', error: 'sms: undelivered (code 30003)', segments: 2 })
      .where('id', '=', messages[0].id).execute();
    const again = (await json(await agent.get(`/api/console/tickets/${ticket}`))).body.messages.find((m: any) => m.id === messages[0].id);
    expect(again).toMatchObject({ status: 'undeliverable', delivery_status: 'undelivered', error: 'sms: undelivered (code 30003)', segments: 2 });

    expect((await agent.post(`/api/console/tickets/${ticket}/dispatch`, {})).status).toBe(200);
    const forWard = await json(await benThanh.get(`/api/console/tickets/${ticket}`));
    expect(forWard.status).toBe(200);
    expect(forWard.body.messages).toEqual([]);
  });

  it('sends a reply via an enabled sending channel, and refuses one that is off, that does not send, or unknown', async () => {
    const { ticket, report } = await newTicket({ text: 'Vỉa hè bị lấn chiếm làm quán nhậu', ...PLACES.saiGon, citizen: { phone: '0944 000 666' } });
    const reportId = await reportIdOf(ticket, report);
    for (const via of ['facebook', 'app', 'pigeon']) {
      const res = await json(await agent.post(`/api/console/tickets/${ticket}/reply`, { text: 'Xin chào', report: reportId, via }));
      expect(res, via).toMatchObject({ status: 422, body: { error: { code: 'reply_channel_invalid', details: { field: 'via' } } } });
    }
    const before = await rt.handle.db.selectFrom('outbound_messages').select('id').where('report_id', '=', reportId).execute();
    expect(before).toEqual([]); // refused: nothing queued

    const sent = smsSent.length;
    expect((await agent.post(`/api/console/tickets/${ticket}/reply`, { text: 'Phường đã nhận tin, sẽ xử lý trong ngày.', report: reportId, via: 'sms' })).status).toBe(200);
    await rt.worker.idle();
    expect(smsSent.length).toBe(sent + 1);
    // Through SMS to the number the citizen is known by, though the report came by the app.
    expect(smsSent.at(-1)).toMatchObject({ channel: 'sms', kind: 'reply', reportCode: report, contact: { phone: '+84944000666' } });
    const detail = (await json(await agent.get(`/api/console/tickets/${ticket}`))).body;
    expect(detail.messages.at(-1)).toMatchObject({ channel: 'sms', kind: 'reply', status: 'sent', delivery_status: 'queued', segments: 1 });
    const replied = detail.events.filter((e: any) => e.type === 'ticket.replied').at(-1);
    expect(replied).toMatchObject({ public: false, data: { via: 'sms', to_report: report } });
  });

  it('shows a message that cannot be delivered on the ticket, with the other contacts of the citizen', async () => {
    const { ticket, report } = await newTicket({ text: 'Ổ gà sâu giữa đường Nguyễn Huệ', ...PLACES.saiGon, citizen: { phone: '0944 000 777', email: 'stop@example.vn' } });
    const reportId = await reportIdOf(ticket, report);
    expect((await agent.post(`/api/console/tickets/${ticket}/reply`, { text: 'Đã ghi nhận.', report: reportId, via: 'sms' })).status).toBe(200);
    await rt.worker.idle();
    const detail = (await json(await agent.get(`/api/console/tickets/${ticket}`))).body;
    expect(detail.messages.at(-1)).toMatchObject({ channel: 'sms', status: 'undeliverable', error: expect.stringContaining('recipient_opted_out') });
    const failed = detail.events.find((e: any) => e.type === 'outbound.failed');
    expect(failed.data).toMatchObject({ channel: 'sms', kind: 'reply', error: 'recipient_opted_out', retrying: false, other_contacts: expect.arrayContaining(['phone', 'email']) });
  });

  it('answers one report privately (kind private_reply), never in public; refuses a private answer to all, or via another channel', async () => {
    const { ticket, report } = await newTicket({ text: 'Karaoke hát to quá nửa đêm trong hẻm', ...PLACES.saiGon });
    const reportId = await reportIdOf(ticket, report);
    expect(await json(await agent.post(`/api/console/tickets/${ticket}/reply`, { text: 'Chào bạn', private: true })))
      .toMatchObject({ status: 422, body: { error: { code: 'reply_private_needs_report' } } });
    expect(await json(await agent.post(`/api/console/tickets/${ticket}/reply`, { text: 'Chào bạn', report: reportId, private: true, via: 'sms' })))
      .toMatchObject({ status: 422, body: { error: { code: 'reply_private_via' } } });
    expect(await json(await agent.post(`/api/console/tickets/${ticket}/reply`, { text: 'Chào bạn', report: reportId, private: 'yes' })))
      .toMatchObject({ status: 422, body: { error: { code: 'field_invalid', details: { field: 'private' } } } });
    expect((await agent.post(`/api/console/tickets/${ticket}/reply`, { text: 'Tổng đài nhắn riêng: phường sẽ kiểm tra tối nay.', report: reportId, private: true })).status).toBe(200);
    const detail = (await json(await agent.get(`/api/console/tickets/${ticket}`))).body;
    expect(detail.messages.at(-1)).toMatchObject({ kind: 'private_reply', report_code: report });
    expect(detail.events.filter((e: any) => e.type === 'ticket.replied').at(-1)).toMatchObject({ public: false, data: { private: true, to_report: report } });
    // Not even on the report's own tracking page: a comment's code is public (posted under it).
    const track = await (await rt.app.request(`/api/v1/reports/${report}`)).json() as { timeline: { message?: string }[] };
    expect(JSON.stringify(track.timeline)).not.toContain('nhắn riêng');
  });
});

describe('console API: reports agents log for callers', () => {
  const post = (client: ReturnType<typeof staffClient>, body: unknown, headers: Record<string, string> = {}) =>
    client.raw('/api/console/reports', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  it('files a phone report through intake, once per call, and the worker puts it on a ticket with the caller', async () => {
    const body = { text: 'Người gọi báo nước ngập sâu trước chợ Bến Thành, xe chết máy', address: 'Cửa Nam chợ Bến Thành, Lê Lợi', phone: '0903 111 222', name: 'Võ Văn Gọi', call: 'CAtest0001' };
    const first = await json(await post(agent, body));
    expect(first).toMatchObject({ status: 201, body: { code: expect.stringMatching(/^PA-/), replay: false, call: 'CAtest0001' } });
    expect(Object.keys(first.body).sort()).toEqual(['call', 'code', 'received_at', 'replay']);
    const again = await post(agent, body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await json(again)).toMatchObject({ status: 201, body: { code: first.body.code, replay: true } });
    const stored = await rt.handle.db.selectFrom('inbound_messages').select(['channel', 'external_id', 'payload']).where('code', '=', first.body.code).execute();
    expect(stored).toEqual([{ channel: 'phone', external_id: 'agent:CAtest0001', payload: expect.objectContaining({ agent: 'agent1', call: 'CAtest0001', phone: '0903 111 222' }) }]);
    // Something else for the same call is not this report again.
    expect(await json(await post(agent, { ...body, text: 'Một việc khác' }))).toMatchObject({ status: 409, body: { error: { code: 'call_already_logged' } } });

    await rt.worker.idle();
    const status = (await (await rt.app.request(`/api/v1/reports/${first.body.code}`)).json()) as { ticket: string; area: { code: string } };
    expect(status.area.code).toBe(PLACES.benThanh.code);
    const detail = (await json(await agent.get(`/api/console/tickets/${status.ticket}`))).body;
    const report = detail.reports.find((r: any) => r.code === first.body.code);
    expect(report).toMatchObject({ channel: 'phone', address: body.address });
    const caller = detail.citizens.find((c: any) => c.id === report.citizen_id);
    expect(caller).toMatchObject({ display_name: 'Võ Văn Gọi', identities: [expect.objectContaining({ kind: 'phone', value: '+84903111222' })] });
    // The caller is found by their number right away.
    const byPhone = (await json(await agent.get('/api/console/queue?q=0903.111.222'))).body.items.map((i: any) => i.code);
    expect(byPhone).toContain(status.ticket);
  });

  it('tells who a caller is by the number typed, however written, with their tickets not yet closed', async () => {
    const { ticket } = await newTicket({ text: 'Đèn đường hẻm 5 Nguyễn Trãi tắt cả tuần', ...PLACES.saiGon, citizen: { phone: '0912 345 161', name: 'Lý Thị Hỏi' } });
    const found = await json(await agent.get(`/api/console/callers?phone=${encodeURIComponent('(091) 234-5161')}`));
    expect(found.status).toBe(200);
    expect(found.body).toMatchObject({ phone: '+84912345161', citizen: { name: 'Lý Thị Hỏi', open_tickets: [{ code: ticket, status: 'new' }] } });
    expect(found.body.citizen.reports[0]).toMatchObject({ ticket, channel: 'app' });
    expect(Object.keys(found.body.citizen).sort()).toEqual(['id', 'name', 'open_tickets', 'reports']);
    expect((await json(await agent.get('/api/console/callers?phone=0999000161'))).body).toEqual({ phone: '+84999000161', citizen: null });
    expect((await json(await agent.get(`/api/console/callers?phone=${'9'.repeat(5000)}`))).body).toEqual({ phone: null, citizen: null });
    expect((await json(await agent.get('/api/console/callers?phone=abc'))).body).toEqual({ phone: null, citizen: null });
    expect((await benThanh.get('/api/console/callers?phone=0912345161')).status).toBe(403);
  });

  it('without a call, honours the Idempotency-Key', async () => {
    const body = { text: 'Rác thải chất đống đầu hẻm 12 đường Cô Giang', category: '' };
    const a = await json(await post(agent, body, { 'idempotency-key': 'console-key-1' }));
    const b = await json(await post(agent, body, { 'idempotency-key': 'console-key-1' }));
    expect(a.status).toBe(201);
    expect(b.body).toMatchObject({ code: a.body.code, replay: true, call: null });
    const c = await json(await post(agent, body));
    expect(c.body.code).not.toBe(a.body.code);
    expect((await json(await post(agent, body, { 'idempotency-key': 'x'.repeat(201) }))).body.error.code).toBe('idempotency_key_invalid');
  });

  it('refuses a report without text naming every invalid field, and stores nothing', async () => {
    const before = await rt.handle.db.selectFrom('inbound_messages').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const missing = await json(await post(agent, { text: '   ', address: 'Lê Lợi' }));
    expect(missing).toMatchObject({ status: 422, body: { error: { code: 'report_text_missing', details: { field: 'text', fields: [{ field: 'text', code: 'report_text_missing' }] } } } });
    const many = await json(await post(agent, { address: 'x'.repeat(501), category: 'khong-co', phone: '12ab', name: 'Lan' }));
    expect(many.status).toBe(422);
    expect(many.body.error.code).toBe('report_text_missing');
    expect(many.body.error.details.fields.map((f: any) => [f.field, f.code])).toEqual([
      ['text', 'report_text_missing'], ['address', 'address_too_long'], ['category', 'category_unknown'], ['phone', 'contact_phone_invalid'],
    ]);
    expect(many.body.error.details.fields.every((f: any) => typeof f.message === 'string' && f.message.length > 0)).toBe(true);
    expect((await json(await post(agent, { text: 'Ngập nước', call: 'CA bad id!' }))).body.error).toMatchObject({ code: 'field_invalid', details: { field: 'call' } });
    const after = await rt.handle.db.selectFrom('inbound_messages').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });

  it('is for agents, supervisors and admins only, and needs the CSRF header', async () => {
    expect((await json(await post(benThanh, { text: 'Ngập nước' }))).body.error.code).toBe('forbidden');
    expect((await post(benThanh, { text: 'Ngập nước' })).status).toBe(403);
    const { cookie } = await signIn(rt, 'agent1', 'password-1');
    const noCsrf = await rt.app.request('/api/console/reports', { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ text: 'Ngập nước' }) });
    expect(noCsrf.status).toBe(403);
    expect((await rt.app.request('/api/console/reports', { method: 'POST', body: '{}' })).status).toBe(401);
  });
});

describe('console API: where an address lies', () => {
  const resolve = async (q: string, client = agent) => json(await client.get(`/api/console/places/resolve?q=${encodeURIComponent(q)}`));

  it('places an address as the pipeline would: new names, old wards with their districts, ambiguous ones', async () => {
    expect((await resolve('12 Lê Lợi, Phường Bến Thành')).body).toMatchObject({ area: { code: PLACES.benThanh.code, name: PLACES.benThanh.name }, source: 'address' });
    const old = (await resolve('P.12, Q.3')).body;
    expect(old).toMatchObject({ area: { name: 'Phường Nhiêu Lộc' }, source: 'address', reasons: ['area_old_address'] });
    const landmark = (await resolve('cổng chợ Bến Thành')).body;
    expect(landmark.area?.code ?? landmark.candidates[0]?.code).toBe(PLACES.benThanh.code);
    expect((await resolve('')).body).toEqual({ area: null, candidates: [], likely: null, source: 'none', reasons: [] });
    expect((await resolve('không có địa chỉ nào ở đây')).body).toMatchObject({ area: null, source: 'none' });
  });

  it('is bounded and for console staff', async () => {
    expect(await resolve('a'.repeat(501))).toMatchObject({ status: 422, body: { error: { code: 'address_too_long' } } });
    expect((await resolve('a'.repeat(500))).status).toBe(200);
    expect((await resolve('Phường Bến Thành', benThanh)).status).toBe(403);
  });
});

describe('console API: linking an identifier to a citizen', () => {
  const citizenOf = async (ticket: string) => {
    const d = (await (await agent.get(`/api/console/tickets/${ticket}`)).json()) as { citizens: { id: number; identities: { kind: string; value: string }[] }[]; ticket: { reporter_count: number } };
    return d;
  };
  it('adds a phone to a citizen known by their email, and merges two citizens when the identifier is already known', async () => {
    const a = await newTicket({ text: 'Đèn đường hỏng trước số 12 Lê Lợi, phường Bến Thành', citizen: { email: 'an.nguyen@example.vn' } });
    const before = await citizenOf(a.ticket);
    const id = before.citizens[0]!.id;
    const link = await json(await agent.post(`/api/console/citizens/${id}/identities`, { kind: 'phone', value: '0903 555 111', reason: 'Người dân xác nhận qua điện thoại' }));
    expect(link).toMatchObject({ status: 200, body: { ok: true, citizen: id, merged: [] } });
    expect((await citizenOf(a.ticket)).citizens[0]!.identities).toContainEqual(expect.objectContaining({ kind: 'phone', value: '+84903555111' }));
    // The same person reports the same light from another address: two citizens on one ticket until linked.
    const b = await newTicket({ text: 'Đèn đường hỏng trước số 12 Lê Lợi, phường Bến Thành, tối om', citizen: { email: 'an.work@example.vn' } });
    expect(b.ticket).toBe(a.ticket);
    const two = await citizenOf(a.ticket);
    expect(two.ticket.reporter_count).toBe(2);
    const other = two.citizens.find((c) => c.id !== id)!;
    const merged = await json(await agent.post(`/api/console/citizens/${other.id}/identities`, { kind: 'phone', value: '+84903555111', reason: 'Cùng số điện thoại' }));
    expect(merged.body).toMatchObject({ citizen: Math.min(id, other.id), merged: [Math.max(id, other.id)] });
    const one = await citizenOf(a.ticket);
    expect(one.citizens).toHaveLength(1);
    expect(one.ticket.reporter_count).toBe(1);
  });
  it('refuses an invalid identifier, an unknown citizen, a missing reason, and ward officers', async () => {
    const a = await newTicket({ text: 'Rác thải chất đống đầu hẻm 42 Lê Lợi, phường Bến Thành', citizen: { phone: '0903 555 222' } });
    const id = (await citizenOf(a.ticket)).citizens[0]!.id;
    expect(await json(await agent.post(`/api/console/citizens/${id}/identities`, { kind: 'phone', value: '12', reason: 'x y' }))).toMatchObject({ status: 422, body: { error: { code: 'identity_invalid' } } });
    expect((await agent.post(`/api/console/citizens/${id}/identities`, { kind: 'fax', value: '123', reason: 'x y' })).status).toBe(422);
    expect((await agent.post(`/api/console/citizens/${id}/identities`, { kind: 'email', value: 'a@b.vn' })).status).toBe(422);
    expect(await json(await agent.post('/api/console/citizens/99999999/identities', { kind: 'email', value: 'a@b.vn', reason: 'x y' }))).toMatchObject({ status: 404, body: { error: { code: 'citizen_not_found' } } });
    expect((await benThanh.post(`/api/console/citizens/${id}/identities`, { kind: 'email', value: 'a@b.vn', reason: 'x y' })).status).toBe(403);
  });
});

describe('console API: searching the queue', () => {
  it('finds a ticket from a half-remembered phrase, without diacritics or with a typo, with the words marked', async () => {
    const { ticket } = await newTicket({ text: 'Ngập nước đường Nguyễn Hữu Cảnh, xe chết máy hàng loạt', ...PLACES.benThanh, citizen: { phone: '0944 000 321' } });
    const search = async (q: string, extra = '') => json(await agent.get(`/api/console/queue?q=${encodeURIComponent(q)}${extra}`));
    for (const q of ['ngap nuoc duong nguyen huu canh', 'nguyen hu canh', 'xe chet may hang loat', 'ngap nuoc nguyen huu cannh']) {
      const r = await search(q);
      expect(r.status, q).toBe(200);
      expect(r.body.items.map((i: any) => i.code), q).toContain(ticket);
    }
    const hit = (await search('ngập nước')).body.items.find((i: any) => i.code === ticket);
    expect(hit.search.match).toBe('exact');
    expect(hit.search.snippet.highlights.map(([a, b]: [number, number]) => hit.search.snippet.text.slice(a, b))).toEqual(expect.arrayContaining(['Ngập', 'nước']));
    // The queue's filters hold: another unit, a day before it came.
    expect((await search('nguyen huu canh', `&area=${PLACES.saiGon.code}`)).body.items.map((i: any) => i.code)).not.toContain(ticket);
    expect((await search('nguyen huu canh', '&to=2020-01-01')).body.items).toEqual([]);
    expect(await search('nguyen huu canh', '&from=2026-02-30')).toMatchObject({ status: 400, body: { error: { code: 'date_invalid' } } });
    expect(await search('nguyen huu canh', '&offset=-1')).toMatchObject({ status: 400, body: { error: { code: 'field_invalid' } } });
  });

  it('answers any search string with 200 or a stable 400, never a 500', async () => {
    const raw = [
      encodeURIComponent(`'"; drop table tickets; --`), encodeURIComponent('ngap & | ! ( ) :* <-> \\ " %'), encodeURIComponent('x'.repeat(10_000)),
      encodeURIComponent('🌧️ ngập 🌊'), '%ED%A0%80%20n%C6%B0%E1%BB%9Bc', '%00ngap%00', '%FF%FE', '%', encodeURIComponent('PA-'), encodeURIComponent('1'.repeat(300)),
    ];
    for (const q of raw) {
      const res = await agent.get(`/api/console/queue?q=${q}`);
      expect([200, 400], q.slice(0, 40)).toContain(res.status);
      const body = (await res.json()) as any;
      if (res.status === 400) expect(body.error.code).toMatch(/^[a-z_]+$/);
      else expect(Array.isArray(body.items)).toBe(true);
    }
  });
});
