import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ImapFlow } from 'imapflow';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { QuarantineView, TicketDetail } from '../../src/wire/staff-api.ts';
import { LocalFileStore } from '../../src/intake/file-store.ts';
import { upsertUser } from '../../src/core/staff/users.ts';
import { replyToCitizens } from '../../src/core/tickets/workflow.ts';
import type { DbHandle } from '../../src/db/connect.ts';
import { createLogger } from '../../src/log.ts';
import { createRuntime, type Runtime } from '../../src/runtime.ts';
import { freshDb } from '../../test/support/db.ts';
import { signIn, staffClient } from '../../test/support/runtime.ts';
import { sleep, waitFor } from '../../test/support/wait.ts';
import { closeMailSessions } from './index.ts';
import { faults } from './store.ts';
import { startDovecot, startSmtpSink, type Dovecot, type SmtpSink, type SunkMail } from './test-peers.ts';

// The email channel against real peers: Dovecot (IMAP, IDLE) holds the 1022 mailbox, an SMTP
// sink receives what phananh sends, and the whole app runs on a real database. Messages are
// appended to the mailbox as a mail server delivers them; the app must turn each into exactly
// one report (or set it aside), answer by email as a reply, and never lose or double one across
// restarts and a renumbered mailbox.

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name));
const USER = '1022@tphcm.gov.vn';
const INBOX = `${USER}@127.0.0.1/INBOX`;
const REPORTS = `${USER}@127.0.0.1/Reports`;
/** The acknowledgement's Message-ID the reply fixtures answer (replaced by a real one). */
const FIXTURE_ACK = '1022.PA-7K3M9Q2X.41.5f2a9c1e0b7d4a36@tphcm.gov.vn';

let seq = 0;
/** A message as a mail client writes it (UTF-8, 8bit), with a fresh Message-ID. */
function mail(o: { from: string; name?: string; subject: string; body: string; inReplyTo?: string; references?: string[]; headers?: string[]; id?: string }): { raw: Buffer; id: string } {
  const id = o.id ?? `t${++seq}.${Date.now()}@mail.example.vn`;
  const lines = [
    `From: ${o.name ? `"${o.name}" ` : ''}<${o.from}>`, `To: ${USER}`, `Subject: ${o.subject}`,
    `Date: ${new Date().toUTCString()}`, `Message-ID: <${id}>`,
    ...(o.inReplyTo ? [`In-Reply-To: <${o.inReplyTo}>`] : []),
    ...(o.references?.length ? [`References: ${o.references.map((r) => `<${r}>`).join(' ')}`] : []),
    ...(o.headers ?? []), 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '', o.body, '',
  ];
  return { raw: Buffer.from(lines.join('\r\n'), 'utf8'), id };
}

/** A fixture with our acknowledgement's real id and code, and a Message-ID of its own. */
function answering(name: string, ack: string, code: string, oldId: string, newId: string): Buffer {
  return Buffer.from(fixture(name).toString('latin1').replaceAll(FIXTURE_ACK, ack).replaceAll('PA-7K3M9Q2X', code).replaceAll(oldId, newId), 'latin1');
}

describe('email channel (Dovecot IMAP, SMTP sink, the whole app)', () => {
  let dovecot: Dovecot;
  let sink: SmtpSink;
  let handle: DbHandle;
  let dataDir: string;
  let rt: Runtime;
  let imap: ImapFlow;
  const actor = { id: 0, username: 'mail-admin', role: 'admin' as const, areaCodes: [] as string[] };
  const db = () => handle.db;

  const env = (more: Record<string, string> = {}) => ({
    IMAP_URL: `${dovecot.url(USER)},${dovecot.url(USER, 'Reports')}`,
    SMTP_URL: sink.url,
    MAIL_FROM: '"Tổng đài 1022" <1022@tphcm.gov.vn>',
    // Long enough that a message seen within a second can only have come by IDLE.
    MAIL_IDLE_SECONDS: '30',
    PUBLIC_URL: 'https://1022.example.vn',
    ...more,
  });
  /** The app on the test's database and DATA_DIR (a restart is a second call). */
  const start = (more: Record<string, string> = {}) => createRuntime(
    loadConfig({ DATA_DIR: dataDir, SESSION_SECRET: 'test-secret-0123456789abcdef', WORKER_CONCURRENCY: '2', ...env(more) }),
    { log: createLogger('silent'), handle: { ...handle, close: async () => {} }, skipSetup: true, env: env(more) },
  );
  /** Stops the app; its mailbox sessions first, so that a run holding IDLE ends at once. */
  const stop = async (r: Runtime) => {
    await closeMailSessions();
    await r.close();
  };

  const append = async (raw: Buffer, folder = 'INBOX') => {
    const r = await imap.append(folder, raw);
    if (!r || !r.uid) throw new Error('append failed');
    return r.uid;
  };
  const flagsOf = async (uid: number, folder = 'INBOX') => {
    const lock = await imap.getMailboxLock(folder);
    try {
      const m = await imap.fetchOne(String(uid), { uid: true, flags: true }, { uid: true });
      return m ? [...(m.flags ?? [])] : null;
    } finally {
      lock.release();
    }
  };
  const sourceOf = async (uid: number, folder = 'INBOX') => {
    const lock = await imap.getMailboxLock(folder);
    try {
      const m = await imap.fetchOne(String(uid), { uid: true, source: true }, { uid: true });
      if (!m || !m.source) throw new Error(`no message ${uid}`);
      return m.source;
    } finally {
      lock.release();
    }
  };
  const inboundOf = (messageId: string) => db().selectFrom('inbound_messages')
    .select(['id', 'code', 'endpoint', 'report_id', 'processed_at', 'error', 'payload', 'received_at'])
    .where('channel', '=', 'email').where('external_id', '=', `mid:${messageId}`).execute();
  const processed = (messageId: string) => waitFor(`message ${messageId} processed`, async () => {
    const rows = await inboundOf(messageId);
    return rows[0]?.report_id ? rows[0] : null;
  }, 20_000);
  const reportById = (id: number) => db().selectFrom('reports').select(['id', 'code', 'text', 'ticket_id', 'attachments', 'citizen_id', 'endpoint', 'thread_key'])
    .where('id', '=', id).executeTakeFirstOrThrow();
  const sentTo = (address: string) => sink.received.filter((m) => m.to.includes(address));
  const ackTo = (address: string) => waitFor(`an email to ${address}`, async () => sentTo(address)[0], 20_000);
  const notesOf = (kind: string) => db().selectFrom('channel_events').select(['external_id', 'data']).where('channel', '=', 'email').where('kind', '=', kind).execute();
  const bareId = (m: SunkMail) => (m.parsed.messageId ?? '').replace(/^<|>$/g, '');
  /** Waits until the app has nothing left to do, then a little for a send that would be wrong. */
  const settle = async () => {
    await rt.worker.idle();
    await sleep(300);
    await rt.worker.idle();
  };

  beforeAll(async () => {
    [dovecot, sink, handle] = await Promise.all([startDovecot(), startSmtpSink(), freshDb()]);
    dataDir = mkdtempSync(path.join(tmpdir(), 'phananh-email-'));
    imap = await dovecot.client(USER);
    await imap.mailboxCreate('Reports');
    rt = await start();
    actor.id = (await upsertUser(db(), { username: 'mail-admin', password: 'password-1', role: 'admin' })).id;
    // The leader's first poll has opened both mailboxes (their first UIDVALIDITY is noted).
    await waitFor('both mailboxes open', async () => (await notesOf('epoch')).length === 2, 15_000);
  });
  afterAll(async () => {
    faults.afterAccept = undefined;
    faults.afterStore = undefined;
    if (rt) await stop(rt);
    await imap?.logout().catch(() => undefined);
    await Promise.all([dovecot?.stop(), sink?.close(), handle?.close()]);
  });
  afterEach(() => {
    faults.afterAccept = undefined;
    faults.afterStore = undefined;
  });

  /** The first report, its acknowledgement: shared by the tests of threading below. */
  const first = { code: '', ticketId: 0, reportId: 0, ack: '', citizenId: 0, latest: '' };

  it('turns a message appended to the mailbox into a report within seconds (IDLE), marks it \\Seen, and answers with our Message-ID', async () => {
    const t0 = Date.now();
    const uid = await append(fixture('01-gmail-utf8-base64.eml'));
    const inbound = await processed('CAHx3kq9Vd2pQz+7fLw0mB1xY8sT4nR6eJcUoKzA5iG2hWbN1pQ@mail.gmail.com');
    // The poll run holds IDLE for 30 s: only the server's notice can have brought it this soon.
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(inbound.endpoint).toBe(INBOX);
    const report = await reportById(inbound.report_id!);
    expect(report.text).toContain('Ngập nước nghiêm trọng trên đường Nguyễn Hữu Cảnh');
    expect(report.text).toContain('ngập sâu khoảng 40cm');
    expect(report.endpoint).toBe(INBOX);
    const identity = await db().selectFrom('citizen_identities').select('value').where('citizen_id', '=', report.citizen_id!).where('kind', '=', 'email').executeTakeFirstOrThrow();
    expect(identity.value).toBe('bichngoc.tran@gmail.com');
    // The raw message was kept, and the server told only after the commit.
    const payload = inbound.payload as { raw: { key: string } };
    expect(readFileSync(path.join(dataDir, 'uploads', payload.raw.key)).equals(fixture('01-gmail-utf8-base64.eml'))).toBe(true);
    await waitFor('\\Seen', async () => (await flagsOf(uid))?.includes('\\Seen'));

    const ack = await ackTo('bichngoc.tran@gmail.com');
    const id = bareId(ack);
    expect(id).toMatch(new RegExp(`^1022\\.${report.code}\\.\\d+\\.[0-9a-f]{16}@tphcm\\.gov\\.vn$`));
    expect(ack.parsed.inReplyTo).toBe('<CAHx3kq9Vd2pQz+7fLw0mB1xY8sT4nR6eJcUoKzA5iG2hWbN1pQ@mail.gmail.com>');
    expect(ack.parsed.subject).toBe(`Re: Ngập nước nghiêm trọng trên đường Nguyễn Hữu Cảnh [${report.code}]`);
    expect(ack.parsed.from?.value[0]).toEqual({ address: '1022@tphcm.gov.vn', name: 'Tổng đài 1022' });
    expect(ack.parsed.text).toContain('Chào bạn Trần Thị Bích Ngọc,');
    expect(ack.parsed.text).toContain(`Mã phản ánh: ${report.code}`);
    expect(ack.parsed.text).toContain(`https://1022.example.vn/track/${report.code}`);
    expect(ack.parsed.html).toContain(`Mã phản ánh: ${report.code}`);
    expect(ack.parsed.headers.get('auto-submitted')).toBe('auto-replied');
    const out = await waitFor('the acknowledgement marked sent', () => db().selectFrom('outbound_messages').select(['status', 'provider_id', 'to_address'])
      .where('report_id', '=', report.id).where('kind', '=', 'received').where('status', '=', 'sent').executeTakeFirst());
    expect(out).toEqual({ status: 'sent', provider_id: id, to_address: 'bichngoc.tran@gmail.com' });
    Object.assign(first, { code: report.code, ticketId: report.ticket_id, reportId: report.id, ack: id, citizenId: report.citizen_id! });
  });

  it('joins a reply to our acknowledgement (In-Reply-To) to its report, folds the quote, and answers nothing', async () => {
    expect(first.ack).not.toBe('');
    const sent = sink.received.length;
    const replyId = 'reply-1.CAHx3kq@mail.gmail.com';
    await append(answering('13-reply-gmail-vi.eml', first.ack, first.code, 'CAHx3kq-3mF9pL2vX0cZ7bN4sQ1yW8tR5uE6iO3aK9jH0gD2fSw@mail.gmail.com', replyId));
    const inbound = await processed(replyId);
    expect(inbound.report_id).toBe(first.reportId);
    const report = await reportById(first.reportId);
    expect(report.text).toContain('Dạ em bổ sung: chỗ ngập ở ngay trước số 290 Nguyễn Hữu Cảnh ạ');
    expect(report.text).not.toContain('đã viết');
    const continued = await db().selectFrom('ticket_events').select('type').where('ticket_id', '=', first.ticketId).where('type', '=', 'report.continued').execute();
    expect(continued).toHaveLength(1);
    const reports = await db().selectFrom('reports').select('id').where('ticket_id', '=', first.ticketId).execute();
    expect(reports).toHaveLength(1);
    // The full message, quote included, stays in the payload.
    expect((inbound.payload as { mail: { history: string } }).mail.history).toContain('Kính gửi');
    await settle();
    expect(sink.received.length).toBe(sent);
  });

  it('shows an agent each message as written: its words, the quote apart, files by name, a PDF served as one', async () => {
    await upsertUser(db(), { username: 'mail-agent', password: 'password-1', role: 'agent' });
    const agent = staffClient(rt, await signIn(rt, 'mail-agent', 'password-1'));
    const ticketCode = (await db().selectFrom('tickets').select('code').where('id', '=', first.ticketId).executeTakeFirstOrThrow()).code;
    const detail = (await (await agent.get(`/api/console/tickets/${ticketCode}`)).json()) as TicketDetail;
    const [opening, reply] = detail.reports[0]!.messages;
    expect(opening).toMatchObject({ subject: 'Ngập nước nghiêm trọng trên đường Nguyễn Hữu Cảnh', from: 'Trần Thị Bích Ngọc <bichngoc.tran@gmail.com>', quoted: '' });
    expect(reply!.text).toContain('Dạ em bổ sung: chỗ ngập ở ngay trước số 290 Nguyễn Hữu Cảnh ạ');
    expect(reply!.text).not.toContain('Kính gửi');
    expect(reply!.quoted).toContain('Kính gửi');

    await append(fixture('10-outlook-pdf-petition.eml'));
    const inbound = await processed('SEYPR06MB5123D4E5F6A7B8C9D0E1F2A3B4C5@SEYPR06MB5123.apcprd06.prod.outlook.com');
    const report = await reportById(inbound.report_id!);
    const ticket = (await db().selectFrom('tickets').select('code').where('id', '=', report.ticket_id).executeTakeFirstOrThrow()).code;
    const pdfDetail = (await (await agent.get(`/api/console/tickets/${ticket}`)).json()) as TicketDetail;
    const view = pdfDetail.reports.find((r) => r.id === report.id)!;
    const file = view.messages[0]!.attachments[0]!;
    expect(file).toMatchObject({ content_type: 'application/pdf', name: 'Đơn kiến nghị.pdf' });
    expect(view.attachments[0]!.name).toBe('Đơn kiến nghị.pdf');
    const res = await agent.get(`/api/console/files/${file.key}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-disposition')).toBe(`inline; filename="Don kien nghi.pdf"; filename*=UTF-8''${encodeURIComponent('Đơn kiến nghị.pdf')}`);
    expect(Buffer.from(await res.arrayBuffer()).subarray(0, 5).toString()).toBe('%PDF-');
    // The older photo path serves it the same way; a file of no ticket is not found.
    expect((await agent.get(`/api/console/photos/${file.key}`)).headers.get('content-type')).toBe('application/pdf');
    const missing = await agent.get(`/api/console/files/00/${'0'.repeat(64)}.pdf`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('file_not_found');
  });

  it('joins a new message of the same citizen that names the report\'s code in its subject', async () => {
    const m = mail({ from: 'bichngoc.tran@gmail.com', name: 'Trần Thị Bích Ngọc', subject: `Bổ sung ảnh cho phản ánh ${first.code.toLowerCase()}`, body: 'Chiều nay nước lại dâng cao hơn buổi sáng.' });
    await append(m.raw);
    const inbound = await processed(m.id);
    expect(inbound.report_id).toBe(first.reportId);
    expect((inbound.payload as { threading: { via: string } }).threading.via).toBe('subject_code');
    expect((await reportById(first.reportId)).text).toContain('Chiều nay nước lại dâng cao hơn buổi sáng.');
    first.latest = m.id;
  });

  it('opens a report of their own for a stranger who quotes the code or answers our acknowledgement', async () => {
    const byCode = mail({ from: 'hangxom.nhatoi@example.vn', name: 'Hàng xóm', subject: `Về phản ánh ${first.code}`, body: 'Nhà tôi ở cạnh đó cũng bị ngập, nước tràn vào nhà.' });
    const byReply = mail({ from: 'nguoila@example.vn', subject: 'Re: Ngập nước', body: 'Tôi thấy chỗ này cũng ngập.', inReplyTo: first.ack, references: [first.ack] });
    await append(byCode.raw);
    await append(byReply.raw);
    for (const m of [byCode, byReply]) {
      const inbound = await processed(m.id);
      expect(inbound.report_id).not.toBe(first.reportId);
      const report = await reportById(inbound.report_id!);
      expect(report.citizen_id).not.toBe(first.citizenId);
    }
    expect((await reportById(first.reportId)).text).not.toContain('cũng bị ngập');
    await ackTo('hangxom.nhatoi@example.vn');
  });

  it('sends an agent\'s reply threaded under the citizen\'s latest message, without Auto-Submitted', async () => {
    const before = sentTo('bichngoc.tran@gmail.com').length;
    await replyToCitizens(db(), first.ticketId, actor, 'Đội thoát nước phường đã được cử đến hiện trường.', { reportId: first.reportId });
    rt.worker.wake();
    const reply = await waitFor('the agent\'s reply', async () => sentTo('bichngoc.tran@gmail.com')[before]);
    expect(reply.parsed.text).toContain('Đội thoát nước phường đã được cử đến hiện trường.');
    expect(reply.parsed.text).toContain('Cán bộ Tổng đài 1022');
    // Their latest message is the one that named the code; the reply before it answered our acknowledgement.
    expect(reply.parsed.inReplyTo).toBe(`<${first.latest}>`);
    const refs = ([] as string[]).concat(reply.parsed.references ?? []);
    expect(refs).toEqual(expect.arrayContaining([`<${first.latest}>`]));
    expect(reply.parsed.headers.has('auto-submitted')).toBe(false);
    expect(bareId(reply)).toContain(`1022.${first.code}.`);
  });

  it('marks an address a delivery report says is dead, fails our message on the ticket, and answers no bounce', async () => {
    const report = mail({ from: 'sai.dia.chi@example.vn', subject: 'Đèn tín hiệu giao thông hỏng', body: 'Đèn tín hiệu ở ngã tư Hàng Xanh không hoạt động từ sáng.' });
    await append(report.raw);
    const inbound = await processed(report.id);
    const ack = await ackTo('sai.dia.chi@example.vn');
    const messages = await db().selectFrom('inbound_messages').select('id').where('channel', '=', 'email').execute();
    const dsn = Buffer.from(fixture('19-bounce-postfix-dsn.eml').toString('latin1')
      .replaceAll('khongtontai.abc@gmail.com', 'sai.dia.chi@example.vn').replaceAll(FIXTURE_ACK, bareId(ack))
      .replace('<20250512004531.4ZxMVv9H2Jz9tK@mx1.tphcm.gov.vn>', '<dsn-1@mx1.tphcm.gov.vn>'), 'latin1');
    const uid = await append(dsn);
    await waitFor('the bounce noted', async () => (await notesOf('bounce')).length === 1);
    await waitFor('\\Seen', async () => (await flagsOf(uid))?.includes('\\Seen'));
    const out = await waitFor('the acknowledgement failed', () => db().selectFrom('outbound_messages').select(['status', 'delivery_status'])
      .where('report_id', '=', inbound.report_id!).where('kind', '=', 'received').where('status', '=', 'undeliverable').executeTakeFirst());
    expect(out.delivery_status).toBe('failed');
    const optOut = await db().selectFrom('channel_opt_outs').select(['opted_out', 'keyword']).where('channel', '=', 'email').where('address', '=', 'sai.dia.chi@example.vn').executeTakeFirstOrThrow();
    expect(optOut).toEqual({ opted_out: true, keyword: 'bounce' });
    // Not a report; and an agent's answer to that address is refused for good, shown on the ticket.
    expect(await db().selectFrom('inbound_messages').select('id').where('channel', '=', 'email').execute()).toHaveLength(messages.length);
    const sent = sink.received.length;
    await replyToCitizens(db(), (await reportById(inbound.report_id!)).ticket_id, actor, 'Chúng tôi đã ghi nhận.', { reportId: inbound.report_id! });
    rt.worker.wake();
    const refused = await waitFor('the reply refused', () => db().selectFrom('outbound_messages').select(['status', 'error'])
      .where('report_id', '=', inbound.report_id!).where('kind', '=', 'reply').where('status', '=', 'undeliverable').executeTakeFirst());
    expect(refused.error).toMatch(/^recipient_unreachable: /);
    await settle();
    expect(sink.received.length).toBe(sent);
  });

  it('reads a mailer daemon\'s plain-text bounce (no delivery-status part) like a delivery report: the address it names is dead', async () => {
    const report = mail({ from: 'khong.nhan.duoc@example.vn', subject: 'Nắp cống bị mất', body: 'Nắp cống trước số 15 Võ Văn Tần bị mất, rất nguy hiểm.' });
    await append(report.raw);
    const inbound = await processed(report.id);
    const ack = bareId(await ackTo('khong.nhan.duoc@example.vn'));
    const sent = sink.received.length;
    const bounce = mail({
      from: 'MAILER-DAEMON@mx.example.vn', subject: 'Undelivered Mail Returned to Sender', id: 'plain-bounce-1@mx.example.vn',
      body: ['I\'m sorry to have to inform you that your message could not be delivered to one or more recipients.', '',
        '<khong.nhan.duoc@example.vn>: host mx.example.vn said: 550 5.1.1 User unknown', '',
        '--- Below this line is a copy of the message.', '', `Message-ID: <${ack}>`, 'Subject: Re: Nắp cống bị mất'].join('\r\n'),
    });
    await append(bounce.raw);
    await waitFor('the plain bounce noted', async () => (await notesOf('bounce')).some((n) => (n.data as { plain_text?: boolean }).plain_text));
    const optOut = await db().selectFrom('channel_opt_outs').select(['opted_out', 'keyword']).where('channel', '=', 'email').where('address', '=', 'khong.nhan.duoc@example.vn').executeTakeFirstOrThrow();
    expect(optOut).toEqual({ opted_out: true, keyword: 'bounce' });
    const out = await waitFor('the acknowledgement failed', () => db().selectFrom('outbound_messages').select(['status'])
      .where('report_id', '=', inbound.report_id!).where('kind', '=', 'received').where('status', '=', 'undeliverable').executeTakeFirst());
    expect(out.status).toBe('undeliverable');
    expect(await inboundOf(bounce.id)).toHaveLength(0);
    await settle();
    expect(sink.received.length).toBe(sent);
  });

  it('notes an auto-reply to our acknowledgement, and our own mail coming back: no report, no answer', async () => {
    const sent = sink.received.length;
    const raw = Buffer.from(fixture('18-auto-reply-outlook.eml').toString('latin1')
      .replaceAll('hung.le@outlook.com', 'bichngoc.tran@gmail.com').replaceAll(FIXTURE_ACK, first.ack).replaceAll('PA-7K3M9Q2X', first.code), 'latin1');
    const uid = await append(raw);
    await waitFor('the auto-reply noted', async () => (await notesOf('auto_reply')).length === 1);
    await waitFor('\\Seen', async () => (await flagsOf(uid))?.includes('\\Seen'));
    expect(await inboundOf('a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5@SJ0PR11MB5678.namprd11.prod.outlook.com')).toHaveLength(0);
    // Our own acknowledgement coming back (a forward rule, a copy to ourselves) is a loop, not a report.
    const own = sentTo('bichngoc.tran@gmail.com')[0]!;
    const back = await append(own.raw);
    await waitFor('the loop noted', async () => (await notesOf('loop')).length === 1);
    await waitFor('\\Seen', async () => (await flagsOf(back))?.includes('\\Seen'));
    expect(await db().selectFrom('inbound_messages').select('id').where('external_id', '=', `mid:${bareId(own)}`).execute()).toHaveLength(0);
    await settle();
    expect(sink.received.length).toBe(sent);
  });

  it('files bulk mail as a report but sends it no automatic answer', async () => {
    const sent = sink.received.length;
    await append(fixture('21-newsletter-bulk.eml'));
    const inbound = await processed('c7d8e9f0a1b2c3d4e5f6.1234567.987654@mail187.suw121.mcdlv.net');
    const out = await waitFor('the acknowledgement withheld', () => db().selectFrom('outbound_messages').select(['status', 'error'])
      .where('report_id', '=', inbound.report_id!).where('status', '=', 'undeliverable').executeTakeFirst());
    expect(out.error).toMatch(/recipient_unreachable: no automatic answer to an automated message \(bulk: Precedence: bulk\)/);
    await settle();
    expect(sink.received.length).toBe(sent);
  });

  it('quarantines a message it cannot read at once (kept raw, flagged, no failing job), reads the next one, and lets only admins download, retry or dismiss it', async () => {
    const bad = await append(fixture('22-not-a-message.eml'));
    await append(fixture('24-thunderbird-flowed.eml'));
    const next = await processed('3b9d8e7f-6a5c-4b3d-92e1-f0a9b8c7d6e5@fpt.vn');
    expect((await reportById(next.report_id!)).text).toContain('máy khoan bê tông hoạt động từ 22 giờ');
    expect(await flagsOf(bad)).toEqual(expect.arrayContaining(['\\Seen', '\\Flagged']));
    // Held, not an inbound message: no row, so no job failing ten times over it.
    const held = await db().selectFrom('channel_quarantine').selectAll().where('channel', '=', 'email').execute();
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({ endpoint: INBOX, error_code: 'email_unparsable', status: 'held', attempts: 1 });
    expect(await db().selectFrom('inbound_messages').select('id').where('external_id', '=', held[0]!.external_id).execute()).toHaveLength(0);

    const admin = staffClient(rt, await signIn(rt, 'mail-admin', 'password-1'));
    const list = (await (await admin.get('/api/console/quarantine')).json()) as { items: QuarantineView[] };
    expect(list.items).toHaveLength(1);
    const item = list.items[0]!;
    expect(item).toMatchObject({ channel: 'email', endpoint: INBOX, uid: bad, status: 'held', raw: true, error: { code: 'email_unparsable' } });
    expect(item.error.message).toMatch(/no headers/);
    expect(item.size).toBe((await sourceOf(bad)).length);
    // Kept byte for byte as the server holds it.
    const raw = await admin.get(`/api/console/quarantine/${item.id}/raw`);
    expect(raw.headers.get('content-disposition')).toBe(`attachment; filename="quarantine-${item.id}.eml"`);
    expect(Buffer.from(await raw.arrayBuffer()).equals(await sourceOf(bad))).toBe(true);
    // Agents may not: one policy, admins only.
    await upsertUser(db(), { username: 'mail-agent-2', password: 'password-1', role: 'agent' });
    const agent = staffClient(rt, await signIn(rt, 'mail-agent-2', 'password-1'));
    for (const res of [await agent.get('/api/console/quarantine'), await agent.post(`/api/console/quarantine/${item.id}/dismiss`, {})]) {
      expect(res.status).toBe(403);
    }
    // A retry runs the same processing: still unreadable, still held, one more attempt.
    const retried = (await (await admin.post(`/api/console/quarantine/${item.id}/retry`)).json()) as QuarantineView;
    expect(retried).toMatchObject({ status: 'held', attempts: 2 });
    const dismissed = (await (await admin.post(`/api/console/quarantine/${item.id}/dismiss`, { reason: 'Không phải thư' })).json()) as QuarantineView;
    expect(dismissed.status).toBe('dismissed');
    expect(dismissed.events!.map((e) => [e.type, e.actor])).toEqual([
      ['quarantine.held', 'system'], ['quarantine.downloaded', 'user:mail-admin'], ['quarantine.held_again', 'system'],
      ['quarantine.retry_failed', 'user:mail-admin'], ['quarantine.dismissed', 'user:mail-admin'],
    ]);
    const again = await admin.post(`/api/console/quarantine/${item.id}/dismiss`, {});
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('quarantine_not_held');
    expect(((await (await admin.get('/api/console/quarantine')).json()) as { items: unknown[] }).items).toHaveLength(0);
  });

  it('retries a held message after a fix: the same processing makes it a report, once', async () => {
    // As an older version left it: a readable message held with an error this version no longer has.
    const m = mail({ from: 'giu.lai@example.vn', subject: 'Vỉa hè bị lấn chiếm', body: 'Quán nhậu bày bàn ghế kín vỉa hè đường Phan Xích Long.' });
    const stored = await new LocalFileStore(path.join(dataDir, 'uploads')).put(m.raw, 'message/rfc822', 'eml');
    const row = await db().insertInto('channel_quarantine').values({
      channel: 'email', endpoint: INBOX, external_id: `sha256:${stored.sha256}`, place: JSON.stringify({ mailbox: INBOX, uidValidity: '1', uid: 999 }),
      raw_key: stored.key, size: stored.size, sender: 'giu.lai@example.vn', error_code: 'email_store_failed', error_message: 'a bug since fixed', received_at: new Date(),
    }).returning('id').executeTakeFirstOrThrow();
    const admin = staffClient(rt, await signIn(rt, 'mail-admin', 'password-1'));
    const retried = (await (await admin.post(`/api/console/quarantine/${row.id}/retry`)).json()) as QuarantineView;
    expect(retried.status).toBe('retried');
    expect(retried.outcome?.outcome).toBe('stored');
    const inbound = await processed(m.id);
    expect((await reportById(inbound.report_id!)).text).toContain('Quán nhậu bày bàn ghế kín vỉa hè');
    expect(retried.outcome?.code).toBe((await inboundOf(m.id))[0]!.code);
    // Retried once: a second retry is refused and changes nothing.
    const twice = await admin.post(`/api/console/quarantine/${row.id}/retry`);
    expect(twice.status).toBe(409);
    expect(await inboundOf(m.id)).toHaveLength(1);
  });

  it.each([
    ['after the row is committed, before anything is noted', 'afterAccept'],
    ['after it is stored, before the server is told (\\Seen)', 'afterStore'],
  ] as const)('makes exactly one report of each message when the app stops mid-batch %s and starts again', async (_when, point) => {
    const batch = ['a', 'b', 'c'].map((k) => mail({
      from: `khoi.dong.lai.${point.toLowerCase()}.${k}@example.vn`, subject: `Cống bị tắc (${k})`, body: `Cống thoát nước trước nhà số 8 Lê Lợi bị tắc, nước đọng bốc mùi (${k}).`,
    }));
    const middle = { uid: -1, externalId: `mid:${batch[1]!.id}` };
    let crashed = false;
    const crash = () => {
      crashed = true;
      throw new Error('simulated crash');
    };
    // The app dies on the middle message of the batch, at `point`.
    if (point === 'afterAccept') faults.afterAccept = (externalId) => { if (externalId === middle.externalId) crash(); };
    else faults.afterStore = (uid) => { if (uid === middle.uid) crash(); };
    const count = async () => Number((await db().selectFrom('inbound_messages').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const rows = await count();
    const uids: number[] = [];
    for (const [n, m] of batch.entries()) {
      const uid = await append(m.raw);
      uids.push(uid);
      if (n === 1) middle.uid = uid;
    }
    await waitFor('the crash', async () => crashed, 15_000);
    await stop(rt);
    faults[point] = undefined;
    // The one before is done; the middle one is stored, but the server was not told: still unread.
    expect(await flagsOf(uids[0]!)).toContain('\\Seen');
    expect(await flagsOf(uids[1]!)).not.toContain('\\Seen');
    expect(await flagsOf(uids[2]!)).not.toContain('\\Seen');
    expect(await inboundOf(batch[1]!.id)).toHaveLength(1);
    rt = await start();
    for (const uid of uids) await waitFor('\\Seen after the restart', async () => (await flagsOf(uid))?.includes('\\Seen'), 20_000);
    await settle();
    expect(await count()).toBe(rows + 3);
    for (const m of batch) {
      const rowsOf = await inboundOf(m.id);
      expect(rowsOf).toHaveLength(1);
      expect(rowsOf[0]!.report_id).not.toBeNull();
      expect(await db().selectFrom('reports').select('id').where('inbound_id', '=', rowsOf[0]!.id).execute()).toHaveLength(1);
      expect(sentTo(m.raw.toString().match(/^From: <([^>]+)>/m)![1]!)).toHaveLength(1);
    }
  });

  it('loses and duplicates nothing when the server renumbers a mailbox (UIDVALIDITY), and reads several mailboxes', async () => {
    const before = mail({ from: 'uidvalidity@example.vn', subject: 'Rác trên kênh Nhiêu Lộc', body: 'Rác nổi đầy mặt kênh Nhiêu Lộc đoạn cầu Lê Văn Sỹ.' });
    await append(before.raw, 'Reports');
    const firstCopy = await processed(before.id);
    expect(firstCopy.endpoint).toBe(REPORTS);
    const old = (await imap.status('Reports', { uidValidity: true })) as { uidValidity?: bigint };
    // Renumber it as a restore from backup does: the messages go away and come back under a new UIDVALIDITY.
    await imap.mailboxCreate('Reports-restore');
    let lock = await imap.getMailboxLock('Reports');
    try {
      await imap.messageCopy('1:*', 'Reports-restore');
    } finally {
      lock.release();
    }
    await imap.mailboxDelete('Reports');
    await sleep(1100); // Dovecot takes UIDVALIDITY from the clock
    await imap.mailboxCreate('Reports');
    lock = await imap.getMailboxLock('Reports-restore');
    try {
      await imap.messageCopy('1:*', 'Reports');
    } finally {
      lock.release();
    }
    await imap.mailboxDelete('Reports-restore');
    const now = (await imap.status('Reports', { uidValidity: true })) as { uidValidity?: bigint };
    expect(now.uidValidity).not.toBe(old.uidValidity);
    const after = mail({ from: 'uidvalidity@example.vn', subject: 'Rác trên kênh Nhiêu Lộc (thêm)', body: 'Hôm nay rác còn nhiều hơn.' });
    await append(after.raw, 'Reports');
    await processed(after.id);
    await waitFor('the old copy seen again and set aside', async () => (await notesOf('duplicate')).some((n) => (n.data as { mailbox?: string }).mailbox === REPORTS));
    await settle();
    expect(await inboundOf(before.id)).toHaveLength(1);
    expect(await inboundOf(after.id)).toHaveLength(1);
    // Whatever it is keyed by: two messages came in on that mailbox, two rows and two reports.
    expect(await db().selectFrom('inbound_messages').select('id').where('endpoint', '=', REPORTS).execute()).toHaveLength(2);
    expect(await db().selectFrom('reports').select('id').where('endpoint', '=', REPORTS).execute()).toHaveLength(2);
    const epochs = (await notesOf('epoch')).filter((n) => n.external_id === `mailbox:${REPORTS}`);
    expect(epochs.map((e) => (e.data as { uidValidity: string }).uidValidity)).toEqual([String(old.uidValidity), String(now.uidValidity)]);
  });

  it('catches up from the last message it handled after an outage, polls where IDLE is off, moves to the processed folder, and reconnects', async () => {
    await stop(rt);
    const count = async () => Number((await db().selectFrom('inbound_messages').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const rows = await count();
    // Mail keeps coming while the app is down.
    const missed = [1, 2, 3].map((k) => mail({ from: `trong.luc.nghi.${k}@example.vn`, subject: `Phản ánh số ${k} khi hệ thống dừng`, body: `Rác ùn ứ ở chợ Tân Định, lần ${k}.` }));
    for (const m of missed) await append(m.raw);
    rt = await start({ MAIL_IDLE_SECONDS: '0', MAIL_POLL_SECONDS: '1', MAIL_PROCESSED_FOLDER: 'Processed' });
    for (const m of missed) await processed(m.id);
    // Where reading stands is kept in the channel's state, one row per mailbox, overwritten in place.
    const cursor = await waitFor('the cursor kept', () => db().selectFrom('channel_state').select('value').where('channel', '=', 'email').where('key', '=', `cursor:${INBOX}`).executeTakeFirst());
    expect((cursor.value as { uid: number }).uid).toBeGreaterThan(0);
    await waitFor('moved to Processed', async () => {
      const st = (await imap.status('Processed', { messages: true }).catch(() => false)) as { messages?: number } | false;
      return st && st.messages === 3;
    });
    // Only what it had not handled: nothing before it is read again.
    expect(await count()).toBe(rows + 3);
    // The server goes away under a running app: it reconnects (with backoff) and goes on.
    await imap.logout().catch(() => undefined);
    await dovecot.restart();
    imap = await dovecot.client(USER);
    const later = mail({ from: 'sau.khi.khoi.dong@example.vn', subject: 'Sau khi máy chủ thư khởi động lại', body: 'Đường Hai Bà Trưng lại ngập.' });
    await append(later.raw);
    await processed(later.id);
    expect(await count()).toBe(rows + 4);
  });

  it('keeps the channel\'s notes to what was asked for (no password anywhere)', async () => {
    const leaked = await sql<{ n: number }>`select count(*)::int as n from channel_events where channel = 'email' and data::text like ${'%secret-1022%'}`.execute(db());
    expect(leaked.rows[0]!.n).toBe(0);
  });

});
