import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/runtime.ts';
import { ticketDetail } from '../../src/core/tickets/queue.ts';
import { sidOf, startFakeTwilio, TWILIO, twilioEnv, twilioRequest, type FakeTwilio } from '../../test/support/fake-twilio.ts';
import { testRuntime } from '../../test/support/runtime.ts';
import { waitFor } from '../../test/support/wait.ts';
import { keypadDigits, spoken } from './voice.ts';
import { staffed, twilioSettings } from './settings.ts';

// The 1022 line, call by call as Twilio drives it: each webhook is signed as Twilio signs, each
// TwiML answer is read for what the caller would hear next, and the call's report, recording and
// status land on one report; agents' consoles get the screen pop as a live signal.

/** An ID3 header and one MPEG audio frame header: enough for a file's bytes to say "audio/mpeg". */
const MP3 = Buffer.concat([Buffer.from('ID3\u0003\u0000\u0000\u0000\u0000\u0000\u0000', 'latin1'), Buffer.from([0xff, 0xfb, 0x90, 0x64]), Buffer.alloc(400)]);

describe('staffed hours and keypad codes', () => {
  const settings = (hours?: string) => twilioSettings.parse({
    TWILIO_ACCOUNT_SID: TWILIO.sid, TWILIO_AUTH_TOKEN: TWILIO.token, TWILIO_PHONE_NUMBER: TWILIO.number, ...(hours ? { PHONE_STAFFED_HOURS: hours } : {}),
  });
  it('reads staffed hours in Ho Chi Minh City time', () => {
    expect(staffed(settings())).toBe(true);
    // 01:30 UTC is 08:30 in Ho Chi Minh City.
    expect(staffed(settings('07:00-21:00'), new Date('2026-12-06T01:30:00Z'))).toBe(true);
    expect(staffed(settings('07:00-21:00'), new Date('2026-12-06T15:30:00Z'))).toBe(false);
    expect(staffed(settings('07:00-11:30,13:30-17:00'), new Date('2026-12-06T05:00:00Z'))).toBe(false);
    expect(() => settings('7h-21h')).toThrow();
  });
  it('maps a code to the digits of its characters on a keypad', () => {
    expect(keypadDigits('PA-7K3M9Q2X')).toBe('75369729');
    expect(keypadDigits('TK-ABCDEFGH')).toBe('22233344');
  });
});

describe('phone channel (Twilio Voice)', () => {
  let rt: Runtime;
  let fake: FakeTwilio;
  const signals: { type: string; data: Record<string, unknown> }[] = [];
  const db = () => rt.handle.db;
  const call = (path: string, params: Record<string, string>) => rt.app.request(...twilioRequest(path, params));
  const twimlOf = async (res: Response) => {
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/xml');
    return res.text();
  };
  /** Where a TwiML answer sends the call next (its `attr` URL), as a path under /channels/twilio: the route must exist. */
  const next = (xml: string, attr = 'action') => {
    const url = new URL(new RegExp(`${attr}="([^"]+)"`).exec(xml)![1]!.replace(/&amp;/g, '&'));
    expect(url.origin).toBe(TWILIO.publicUrl);
    return url.pathname.replace(/^\/channels\/twilio/, '') + url.search;
  };
  const reportsOf = (sid: string) => db().selectFrom('inbound_messages').innerJoin('reports', 'reports.id', 'inbound_messages.report_id')
    .select(['reports.id', 'reports.code', 'reports.text', 'reports.address', 'reports.area_code', 'reports.attachments', 'reports.ticket_id', 'inbound_messages.external_id'])
    .where('inbound_messages.channel', '=', 'phone').where('inbound_messages.external_id', 'like', `${sid}%`).execute();

  beforeAll(async () => {
    fake = await startFakeTwilio();
    // Staffed 00:00-00:01 only: agents are away during the test, so 0 leads to a voicemail.
    rt = await testRuntime(twilioEnv(fake, { PHONE_STAFFED_HOURS: '00:00-00:01' }));
    rt.events.onSignal((s) => { if (s.type === 'call.incoming') signals.push(s); });
  });
  afterAll(async () => {
    await rt?.close();
    await fake?.close();
  });
  beforeEach(() => {
    signals.length = 0;
    fake.sent.length = 0;
  });

  it('refuses an unsigned call', async () => {
    const [path, init] = twilioRequest('/voice', { CallSid: sidOf('CA'), From: '+84903222001' }, { signature: null });
    const res = await rt.app.request(path, init);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: 'twilio_signature_invalid' } });
    // Signed, but no call in it.
    const noCall = await call('/voice', { From: '+84903222001' });
    expect(noCall.status).toBe(400);
    expect(await noCall.json()).toMatchObject({ error: { code: 'twilio_payload_invalid' } });
    expect((await call('/voice/recording', { CallSid: sidOf('CA') })).status).toBe(400);
  });

  it('answers in Vietnamese, pops the caller on the consoles, and files what they say with the address as one report', async () => {
    const sid = sidOf('CA');
    const from = '+84903222002';
    const hello = await twimlOf(await call('/voice', { CallSid: sid, From: from, To: TWILIO.number, CallStatus: 'ringing' }));
    expect(hello).toContain('<Gather');
    expect(hello).toContain('language="vi-VN"');
    expect(hello).toContain('bấm phím 1');
    expect(hello).toContain(`action="${TWILIO.publicUrl}/channels/twilio/voice/menu?attempt=0"`);
    expect(signals).toContainEqual({ type: 'call.incoming', data: expect.objectContaining({ call: sid, from, state: 'ringing', citizen: null, verified: false }) });

    // Each next step is where the TwiML sends Twilio, as Twilio follows it.
    const ask = await twimlOf(await call(next(hello), { CallSid: sid, From: from, Digits: '1' }));
    expect(ask).toContain('input="speech"');
    expect(ask).toContain('/channels/twilio/voice/problem');
    const where = await twimlOf(await call(next(ask), { CallSid: sid, From: from, SpeechResult: 'Nước ngập sâu trước chợ Bến Thành xe máy chết máy', Confidence: '0.91' }));
    expect(where).toContain('/channels/twilio/voice/address');
    // What was said rides in the next step's URL (signed by Twilio): filing needs no read.
    expect(decodeURIComponent(next(where))).toContain('problem=Nước ngập sâu');
    const bye = await twimlOf(await call(next(where), { CallSid: sid, From: from, To: TWILIO.number, SpeechResult: 'chợ Bến Thành phường Bến Thành' }));
    expect(bye).toContain('đã ghi nhận phản ánh');
    expect(bye).toContain('<Hangup');
    // Twilio's status callback after the hang-up files nothing more.
    expect((await call('/voice/status', { CallSid: sid, From: from, CallStatus: 'completed', CallDuration: '74' })).status).toBe(204);
    await rt.worker.idle();
    const reports = await reportsOf(sid);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ text: 'Nước ngập sâu trước chợ Bến Thành xe máy chết máy', address: 'chợ Bến Thành phường Bến Thành', area_code: '26743' });
    const notes = await db().selectFrom('channel_events').select(['kind', 'data']).where('channel', '=', 'phone').where('external_id', '=', sid).orderBy('id').execute();
    expect(notes.map((n) => n.kind)).toEqual(['call', 'problem', 'status']);
    expect(notes[2]!.data).toMatchObject({ status: 'completed', duration: 74 });
    // The console shows how the call went beside its report.
    const ticket = await db().selectFrom('tickets').select('code').where('id', '=', reports[0]!.ticket_id).executeTakeFirstOrThrow();
    const detail = await ticketDetail(db(), { id: 0, username: 'admin', role: 'admin', areaCodes: [] }, ticket.code);
    expect(detail.reports[0]!.call).toEqual({ status: 'completed', duration_s: 74, queue_s: null });
    expect(signals.at(-1)).toMatchObject({ data: { call: sid, state: 'ended' } });
    // The caller's acknowledgement goes by SMS to the number they called from.
    const ack = await waitFor('SMS to the caller', async () => fake.sent.find((m) => m.to === from));
    expect(ack.body).toContain(reports[0]!.code);
    expect(ack.statusCallback).toContain('/sms/status?via=phone');

    // Calling again, the screen pop shows their open ticket, and 2 reads its status.
    signals.length = 0;
    const sid2 = sidOf('CA');
    await call('/voice', { CallSid: sid2, From: from, To: TWILIO.number, StirVerstat: 'TN-Validation-Passed-A' });
    expect(signals[0]!.data.verified).toBe(true);
    const pop = signals[0]!.data as { citizen: { openTickets: { code: string }[]; reports: { code: string }[] } };
    expect(pop.citizen.reports[0]!.code).toBe(reports[0]!.code);
    expect(pop.citizen.openTickets).toHaveLength(1);
    const status = await twimlOf(await call('/voice/menu?attempt=0', { CallSid: sid2, From: from, Digits: '2' }));
    // The caller's number can be forged: the status of their latest report, never its code.
    expect(status).toContain('Phản ánh gần nhất từ số điện thoại này');
    expect(status).toContain('Mới tiếp nhận');
    expect(status).not.toContain(spoken(reports[0]!.code));
    const keyed = await twimlOf(await call('/voice/status-code', { CallSid: sid2, From: from, Digits: keypadDigits(reports[0]!.code) }));
    expect(keyed).toContain(`Phản ánh mã ${spoken(reports[0]!.code)}`);
    // Then the menu's options again (not straight to the agents' queue).
    expect(keyed).toContain(`<Redirect>${TWILIO.publicUrl}/channels/twilio/voice/menu?attempt=0</Redirect>`);
    const again = await twimlOf(await call('/voice/menu?attempt=0', { CallSid: sid2, From: from }));
    expect(again).toContain('bấm phím 1');
    expect(again).not.toContain('<Enqueue');
    const unknown = await twimlOf(await call('/voice/status-code', { CallSid: sid2, From: from, Digits: '00000000' }));
    expect(unknown).toContain('Không tìm thấy');
  });

  it('files what was said when the caller hangs up before the address', async () => {
    const sid = sidOf('CA');
    await call('/voice', { CallSid: sid, From: '+84903222003', To: TWILIO.number });
    await call('/voice/menu?attempt=0', { CallSid: sid, From: '+84903222003', SpeechResult: 'phản ánh' });
    await call('/voice/problem', { CallSid: sid, From: '+84903222003', SpeechResult: 'Karaoke hát to sau nửa đêm ở hẻm 51 Cao Thắng' });
    await call('/voice/status', { CallSid: sid, From: '+84903222003', To: TWILIO.number, CallStatus: 'completed', CallDuration: '30' });
    await call('/voice/status', { CallSid: sid, From: '+84903222003', To: TWILIO.number, CallStatus: 'completed', CallDuration: '30' });
    await rt.worker.idle();
    const reports = await reportsOf(sid);
    expect(reports).toHaveLength(1);
    expect(reports[0]!.text).toContain('Karaoke');
  });

  it('takes a voicemail outside staffed hours, and its recording joins the same report', async () => {
    const sid = sidOf('CA');
    const rec = sidOf('RE');
    fake.serve(`/2010-04-01/Accounts/${TWILIO.sid}/Recordings/${rec}.mp3`, MP3, 'audio/mpeg');
    await call('/voice', { CallSid: sid, From: '+84903222004', To: TWILIO.number });
    const vm = await twimlOf(await call('/voice/menu?attempt=0', { CallSid: sid, From: '+84903222004', Digits: '0' }));
    expect(vm).toContain('ngoài giờ');
    expect(vm).toContain('<Record');
    expect(vm).not.toContain('<Enqueue');
    expect(next(vm, 'recordingStatusCallback')).toBe('/voice/recording');
    await twimlOf(await call(next(vm), { CallSid: sid, From: '+84903222004', To: TWILIO.number, RecordingDuration: '42', RecordingUrl: `${fake.url}/x` }));
    // Twilio has the file a little later.
    const cb = await call('/voice/recording', {
      CallSid: sid, RecordingSid: rec, RecordingStatus: 'completed', RecordingDuration: '42',
      RecordingUrl: `${fake.url}/2010-04-01/Accounts/${TWILIO.sid}/Recordings/${rec}`,
    });
    expect(cb.status).toBe(204);
    await rt.worker.idle();
    const reports = await reportsOf(sid);
    expect(new Set(reports.map((r) => r.id)).size).toBe(1);
    const report = reports[0]!;
    expect(report.text).toContain('Lời nhắn thoại');
    expect(report.text).toContain('Ghi âm cuộc gọi (42 giây)');
    expect(report.attachments).toEqual([expect.objectContaining({ content_type: 'audio/mpeg' })]);
    expect(fake.mediaHits).toContain(`/2010-04-01/Accounts/${TWILIO.sid}/Recordings/${rec}.mp3`);
  });

  it('puts the caller in the agents\' queue during staffed hours', async () => {
    const staffedRt = await testRuntime(twilioEnv(fake));
    const seen: { type: string; data: Record<string, unknown> }[] = [];
    staffedRt.events.onSignal((s) => seen.push(s));
    try {
      const sid = sidOf('CA');
      const [path, init] = twilioRequest('/voice/menu?attempt=0', { CallSid: sid, From: '+84903222005', Digits: '0' });
      const q = await (await staffedRt.app.request(path, init)).text();
      expect(q).toContain('<Enqueue');
      expect(q).toContain('>1022</Enqueue>');
      expect(seen).toContainEqual({ type: 'call.incoming', data: expect.objectContaining({ call: sid, state: 'queued' }) });
      const [p2, i2] = twilioRequest('/voice/dequeued', { CallSid: sid, From: '+84903222005', QueueResult: 'hangup', QueueTime: '95' });
      await staffedRt.app.request(p2, i2);
      expect(seen.at(-1)).toMatchObject({ data: { state: 'ended' } });
    } finally {
      await staffedRt.close();
    }
  });
});
