import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { decodeText, looksLikeTcvn3, repairTcvn3, toCp1258Form } from './charsets.ts';
import { digestMail, parseDeliveryStatus, type MailDigest } from './digest.ts';
import { parseEmail } from './parse.ts';
import { bareSubject, foldQuotes } from './quotes.ts';
import { parseMailbox, parseSender } from './settings.ts';
import { codesIn, ourMessageId, reportOfOurId } from './threading.ts';

// Every raw message of fixtures/ read as the channel reads it (mailparser, charsets, HTML made
// text, quotes folded, files kept by their bytes) and turned into the report an agent sees.

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** A file store in memory, content-addressed like the real one. */
function memoryFiles() {
  const kept = new Map<string, Uint8Array>();
  return {
    kept,
    async put(bytes: Uint8Array, contentType: string, ext: string) {
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const key = `${sha256.slice(0, 2)}/${sha256}.${ext}`;
      kept.set(key, bytes);
      return { key, content_type: contentType, size: bytes.byteLength, sha256 };
    },
    async get(key: string) { return kept.get(key) ?? null; },
  };
}

const LIMITS = { fileMaxBytes: 10 * 1024 * 1024, photosMax: 5, pdfsMax: 3 };

interface Expect {
  /** The report's text is exactly this (NFC). */
  text?: string;
  /** ... or holds these. */
  has?: string[];
  /** ... and never these (quoted history, markup, scripts). */
  not?: string[];
  from?: string;
  name?: string;
  subject?: string;
  files?: string[];
  refused?: number;
  automated?: MailDigest['automated'] extends infer A ? (A extends { kind: infer K } ? K : never) | null : never;
  inReplyTo?: string;
  /** Cannot be read: quarantined with this reason. */
  quarantined?: RegExp;
}

const OUR_ACK = '1022.PA-7K3M9Q2X.41.5f2a9c1e0b7d4a36@tphcm.gov.vn';

const TABLE: Record<string, Expect> = {
  '01-gmail-utf8-base64.eml': {
    has: ['Ngập nước nghiêm trọng trên đường Nguyễn Hữu Cảnh', 'ngập sâu khoảng 40cm, xe máy chết máy hàng loạt'],
    from: 'bichngoc.tran@gmail.com', name: 'Trần Thị Bích Ngọc', files: [], automated: null,
  },
  '02-outlook-utf8-qp.eml': {
    has: ['Rác thải tập kết trái phép tại hẻm 285 CMT8', 'Tại đầu hẻm 285 Cách Mạng Tháng Tám, Phường 12, Quận 10 (cũ) có người đổ rác bừa bãi mỗi tối', 'ĐT: 0903 123 456'],
    name: 'Lê Văn Hùng',
  },
  '03-outlook-express-windows-1258.eml': {
    text: 'Kính gửi Tổng đài,\n\nĐèn đường hỏng cả tháng nay tại đường Lê Văn Sỹ, đoạn trước số nhà 120. Buổi tối rất tối, đã xảy ra va chạm giao thông.\n\nNguyễn Đức Thắng',
    name: 'Nguyễn Đức Thắng', subject: 'Đèn đường hỏng',
  },
  '04-viscii-qp.eml': {
    has: ['Cây đổ chắn đường', 'Cây xanh bị gãy đổ chắn ngang đường Trần Hưng Đạo sau cơn mưa lớn chiều nay, đề nghị cho người đến dọn.'],
  },
  '05-tcvn3-labelled-latin1.eml': {
    has: ['Phản ánh tiếng ồn karaoke ban đêm', 'Tiếng karaoke ồn ào đến 12 giờ đêm tại quán ở số 45 đường Phạm Văn Đồng, phường Hiệp Bình.'],
    not: ['TiÕng', '®'], name: 'Phạm Thị Lan',
  },
  '06-iso-8859-1-french.eml': {
    has: ['Poubelles débordantes rue Thi Sách', "Les poubelles débordent devant le 12 rue Thi Sách depuis trois jours, l'odeur est très forte."],
    name: 'Élise Martin',
  },
  '07-html-only-zimbra.eml': {
    has: ['Vỉa hè trước số 15 Lý Tự Trọng bị lấn chiếm làm chỗ để xe & bán hàng ăn uống', 'https://maps.google.com/?q=10.7769,106.7009', 'Sáng và tối hằng ngày'],
    not: ['<b>', 'alert', 'tracking.example.net', 'font-family', '&amp;'],
  },
  '08-apple-inline-photo.eml': {
    has: ['Hố ga bị mất nắp trước số 18 Võ Văn Tần'], files: ['IMG_2041.jpeg'], not: ['cid:'],
  },
  '09-android-attached-photos.eml': {
    has: ['Lấn chiếm vỉa hè đường Hai Bà Trưng', 'Em gửi 2 ảnh'],
    files: ['IMG_20250518_070112.jpg', 'IMG_20250518_070245.jpg'], refused: 2, not: ['Ghi chú'],
  },
  '10-outlook-pdf-petition.eml': {
    has: ['Đơn kiến nghị về công trình xây dựng không phép', 'gây lún nứt nhà dân'], files: ['Đơn kiến nghị.pdf'],
  },
  '11-gmail-forward.eml': {
    has: ['Em chuyển tiếp phản ánh của bác hàng xóm', 'Forwarded message', 'ống nước ở đầu hẻm 42 Bùi Viện bị vỡ từ hôm qua'],
    files: ['ong-nuoc-vo.jpg'],
  },
  '12-outlook-forward-as-attachment.eml': {
    has: ['BQL chuyển tiếp thư của cư dân', 'Thư chuyển tiếp', 'Từ: Huỳnh Văn Phúc <phuc.huynh@baovethucvat.vn>', 'Ngày: 20/05/2025 19:40', 'Tầng hầm B1 chung cư Sunrise có mùi khét'],
    files: ['ham-b1.jpg'],
  },
  '13-reply-gmail-vi.eml': {
    has: ['Dạ em bổ sung: chỗ ngập ở ngay trước số 290 Nguyễn Hữu Cảnh ạ, nước đã rút một phần.'],
    not: ['đã viết', 'Kính gửi', 'Trả lời tin này'], inReplyTo: OUR_ACK,
  },
  '14-reply-outlook-vi.eml': {
    has: ['Cảm ơn 1022. Hiện rác vẫn chưa được dọn, tối qua lại có thêm 2 bao rác.', 'Lê Văn Hùng'],
    not: ['Đã gửi:', 'Kính gửi', '______'], inReplyTo: OUR_ACK,
  },
  '15-reply-iphone.eml': {
    has: ['Vâng, sáng nay đèn vẫn chưa sáng.'], not: ['wrote:', 'Kính gửi'], inReplyTo: OUR_ACK,
  },
  '16-reply-thunderbird-interleaved.eml': {
    has: ['Cây đổ vẫn còn nằm đó, xe không qua được. Chúng tôi đã rào tạm bằng dây để học sinh tránh.', 'Vị trí chính xác: trước cổng trường, số 12 Trần Hưng Đạo.'],
    not: ['wrote:', 'Kính gửi', 'Mã phản ánh:'], inReplyTo: OUR_ACK,
  },
  '17-reply-yahoo.eml': {
    has: ['Đã có người đến sửa nhưng chỉ được 1 ngày lại hỏng.'], not: ['wrote:', 'Kính gửi'], inReplyTo: OUR_ACK,
  },
  '18-auto-reply-outlook.eml': { automated: 'auto_reply', inReplyTo: OUR_ACK },
  '19-bounce-postfix-dsn.eml': { automated: 'bounce' },
  '20-bounce-exchange-ndr.eml': { automated: 'bounce', inReplyTo: '1022.PA-7K3M9Q2X.42.0a1b2c3d4e5f6071@tphcm.gov.vn' },
  '21-newsletter-bulk.eml': { automated: 'bulk', has: ['Siêu sale giữa năm', 'Tủ lạnh, máy lạnh, máy giặt giảm sâu'], not: ['.btn', 'open.php'] },
  '22-not-a-message.eml': { quarantined: /no headers/ },
  '23-no-sender.eml': { quarantined: /no sender/ },
  '24-thunderbird-flowed.eml': {
    has: ['thi công quá giờ quy định, máy khoan bê tông hoạt động từ 22 giờ đến 2 giờ sáng nhiều ngày liền. Đề nghị phường kiểm tra'],
    name: 'Võ Thanh Tùng',
  },
  '25-photo-only.eml': { text: 'Ảnh hiện trường cây đổ', files: ['IMG_3310.jpeg'] },
};

describe('the fixtures', () => {
  const names = readdirSync(DIR).filter((f) => f.endsWith('.eml')).sort();

  it('are at least 20 raw messages, each with its expectation', () => {
    expect(names.length).toBeGreaterThanOrEqual(20);
    expect(names).toEqual(Object.keys(TABLE).sort());
  });

  it.each(Object.entries(TABLE))('%s', async (name, want) => {
    const files = memoryFiles();
    const raw = readFileSync(path.join(DIR, name));
    if (want.quarantined) {
      await expect(digestMail(raw, files, LIMITS)).rejects.toMatchObject({ code: 'email_unparsable', message: expect.stringMatching(want.quarantined) });
      // Stored quarantined, its job fails with the reason, visibly.
      expect(() => parseEmail({ v: 1, raw: null, quarantine: { code: 'email_unparsable', message: 'no sender address (From)' } })).toThrow(/quarantined: no sender/);
      return;
    }
    const mail = await digestMail(raw, files, LIMITS);
    const report = parseEmail({ v: 1, raw: null, mail, thread: 'm:test', threading: null });
    // Everything a person reads is NFC, and the payload is JSON PostgreSQL accepts (no NUL).
    expect(report.text).toBe(report.text.normalize('NFC'));
    expect(JSON.stringify(mail)).not.toMatch(/\\u0000/);
    if (want.text !== undefined) expect(report.text).toBe(want.text);
    for (const s of want.has ?? []) expect(report.text).toContain(s);
    for (const s of want.not ?? []) expect(report.text).not.toContain(s);
    if (want.from) expect(mail.from.address).toBe(want.from);
    if (want.name) expect(mail.from.name).toBe(want.name);
    if (want.subject) expect(mail.subject).toBe(want.subject);
    if (want.files) {
      expect(mail.files.map((f) => f.name)).toEqual(want.files);
      expect(report.attachments).toHaveLength(want.files.length);
      for (const f of mail.files) expect(files.kept.has(f.key)).toBe(true);
    }
    if (want.refused !== undefined) expect(mail.refused).toHaveLength(want.refused);
    if (want.automated !== undefined) expect(mail.automated?.kind ?? null).toBe(want.automated);
    if (want.inReplyTo) expect(mail.inReplyTo).toContain(want.inReplyTo);
    expect(report.thread).toEqual({ key: 'm:test', withinMinutes: expect.any(Number) });
  });

  it('keep a photo by its bytes, not by its name or declared type', async () => {
    const mail = await digestMail(readFileSync(path.join(DIR, '09-android-attached-photos.eml')), memoryFiles(), LIMITS);
    expect(mail.files.every((f) => f.content_type === 'image/jpeg' && f.key.endsWith('.jpg'))).toBe(true);
    expect(mail.refused.map((r) => r.why)).toEqual(['a small inline image (a logo or a spacer)', 'not a photo or a PDF']);
    const pdf = await digestMail(readFileSync(path.join(DIR, '10-outlook-pdf-petition.eml')), memoryFiles(), LIMITS);
    expect(pdf.files[0]).toMatchObject({ content_type: 'application/pdf', name: 'Đơn kiến nghị.pdf' });
    expect(pdf.files[0]!.key).toMatch(/\.pdf$/);
  });

  it('refuse files over the size limit and beyond the count', async () => {
    const mail = await digestMail(readFileSync(path.join(DIR, '09-android-attached-photos.eml')), memoryFiles(), { fileMaxBytes: 10_000, photosMax: 5, pdfsMax: 3 });
    expect(mail.files.map((f) => f.name)).toEqual(['IMG_20250518_070245.jpg']);
    expect(mail.refused.some((r) => r.name === 'IMG_20250518_070112.jpg' && /larger than/.test(r.why))).toBe(true);
    const one = await digestMail(readFileSync(path.join(DIR, '09-android-attached-photos.eml')), memoryFiles(), { ...LIMITS, photosMax: 1 });
    expect(one.files).toHaveLength(1);
    expect(one.refused.some((r) => r.why === 'more than 1 photos')).toBe(true);
  });

  it('make hostile text safe for jsonb: no NUL, no control characters, no half emoji, bounded', async () => {
    const emoji = '🌧'.repeat(400);
    const raw = Buffer.concat([
      Buffer.from(`From: "A\u0001B" <nul\u0000@example.vn>\r\nReply-To: <x\u0007y@example.vn>\r\nSubject: ${'Ngập '.repeat(200)}${emoji}\r\nMessage-ID: <id\u0000x@example.vn>\r\n`, 'utf8'),
      Buffer.from(`From: Real <real@example.vn>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nNước\u0000 ngập\u001b[31m ${emoji}\r\n`, 'utf8'),
    ]);
    const mail = await digestMail(raw, memoryFiles(), LIMITS);
    const json = JSON.stringify(mail);
    expect(json).not.toMatch(/\\u000[0-8bcef]|\\u001|\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])/i);
    expect(mail.subject.length).toBeLessThanOrEqual(500);
    expect(mail.messageId).toBeNull();
    const report = parseEmail({ v: 1, raw: null, mail, thread: 'm:x', threading: null });
    expect(report.text.length).toBeLessThanOrEqual(5000);
    expect(report.text).toContain('ngập');
  });

  it('read a delivery report: who failed, how, and which of our messages it returns', async () => {
    const mail = await digestMail(readFileSync(path.join(DIR, '19-bounce-postfix-dsn.eml')), memoryFiles(), LIMITS);
    expect(mail.delivery).toEqual({
      recipients: [{ address: 'khongtontai.abc@gmail.com', action: 'failed', status: '5.1.1', diagnostic: expect.stringContaining('550-5.1.1') }],
      originalMessageIds: [OUR_ACK],
    });
    const ndr = await digestMail(readFileSync(path.join(DIR, '20-bounce-exchange-ndr.eml')), memoryFiles(), LIMITS);
    expect(ndr.delivery?.recipients[0]).toMatchObject({ address: 'hung.le.cu@outlook.com', status: '5.1.10' });
    expect(ndr.delivery?.originalMessageIds).toEqual(['1022.PA-7K3M9Q2X.42.0a1b2c3d4e5f6071@tphcm.gov.vn']);
    expect(parseDeliveryStatus('Final-Recipient: rfc822; a@b.vn\nAction: delayed\nStatus: 4.4.7\n')).toEqual([{ address: 'a@b.vn', action: 'delayed', status: '4.4.7', diagnostic: null }]);
  });
});

describe('charsets', () => {
  const vi = 'Đường Nguyễn Thị Minh Khai bị ngập, người dân đề nghị khơi thông cống.';

  it.each([['utf-8'], ['windows-1258'], ['viscii'], ['tcvn']])('%s decodes to the same NFC text', (charset) => {
    const source = charset === 'windows-1258' ? toCp1258Form(vi) : vi;
    const text = decodeText(iconv.encode(source, charset), charset);
    expect(text).toBe(vi);
    expect(text).toBe(text.normalize('NFC'));
  });

  it('recognise TCVN3 behind a Western label, and leave Western text alone', () => {
    expect(decodeText(iconv.encode(vi, 'tcvn'), 'iso-8859-1')).toBe(vi);
    expect(decodeText(iconv.encode(vi, 'tcvn'), 'windows-1252')).toBe(vi);
    const fr = 'Les poubelles débordent, l’odeur est très forte près de l’école.';
    expect(decodeText(iconv.encode(fr, 'windows-1252'), 'windows-1252')).toBe(fr);
    expect(looksLikeTcvn3(iconv.encode('Grüße aus München, schöne Straße', 'latin1'), 'latin1')).toBe(false);
    expect(repairTcvn3(iconv.decode(iconv.encode('Phạm Thị Lan', 'tcvn'), 'latin1'))).toBe('Phạm Thị Lan');
    expect(repairTcvn3('José García')).toBe('José García');
    expect(repairTcvn3('Trần Thị Bích Ngọc')).toBe('Trần Thị Bích Ngọc');
  });
});

describe('quoted history', () => {
  it.each([
    ['Gmail', 'Đồng ý.\n\nOn Mon, 12 May 2025 at 10:00, Tổng đài 1022 <1022@tphcm.gov.vn> wrote:\n> Kính gửi', 'Đồng ý.'],
    ['Gmail, wrapped', 'Đồng ý.\n\nVào Th 2, 12 thg 5, 2025 vào lúc 10:00 Tổng đài 1022 <1022@tphcm.gov.vn>\nđã viết:\n> Kính gửi', 'Đồng ý.'],
    ['Outlook, English', 'OK.\n\n-----Original Message-----\nFrom: 1022\nSent: Monday\nKính gửi', 'OK.'],
    ['Outlook, copied headers', 'Vẫn chưa dọn.\n\nFrom: Tổng đài 1022 <1022@tphcm.gov.vn>\nSent: Tuesday, May 13, 2025 8:00 AM\nTo: Hùng\nSubject: Re: Rác\n\nKính gửi', 'Vẫn chưa dọn.'],
    ['Outlook, Vietnamese', 'Vẫn chưa dọn.\n________________________________\nTừ: Tổng đài 1022\nĐã gửi: Thứ Ba\nKính gửi', 'Vẫn chưa dọn.'],
    ['no quote', 'Ngập nước\nở 124 NTMK', 'Ngập nước\nở 124 NTMK'],
    ['a line that only mentions writing', 'Tôi đã viết: đường này ngập mỗi khi mưa.', 'Tôi đã viết: đường này ngập mỗi khi mưa.'],
  ])('%s', (_client, body, text) => {
    expect(foldQuotes(body).text).toBe(text);
  });

  it('keep a forward whole', () => {
    const body = 'Nhờ 1022 xử lý.\n\n---------- Forwarded message ---------\nFrom: A <a@b.vn>\nSubject: Ngập\n\nNước ngập sâu';
    expect(foldQuotes(body, 'Fwd: Ngập')).toEqual({ text: body, history: '' });
  });

  it('strip reply prefixes from a subject', () => {
    expect(bareSubject('Re: RE: TR: Fwd: Ngập nước')).toBe('Ngập nước');
    expect(bareSubject('Trả lời: Ngập nước [PA-7K3M9Q2X]')).toBe('Ngập nước [PA-7K3M9Q2X]');
  });
});

describe('threading ids and settings', () => {
  it('make Message-IDs that name the report, the same for a retry, recognised only in our domain', () => {
    const id = ourMessageId('PA-7K3M9Q2X', 41, 'tphcm.gov.vn', 'secret');
    expect(id).toBe(ourMessageId('PA-7K3M9Q2X', 41, 'tphcm.gov.vn', 'secret'));
    expect(id).not.toBe(ourMessageId('PA-7K3M9Q2X', 42, 'tphcm.gov.vn', 'secret'));
    expect(reportOfOurId(id, 'tphcm.gov.vn')).toBe('PA-7K3M9Q2X');
    expect(reportOfOurId(id.replace('tphcm.gov.vn', 'evil.example'), 'tphcm.gov.vn')).toBeNull();
    expect(reportOfOurId('CAHx3kq9@mail.gmail.com', 'tphcm.gov.vn')).toBeNull();
  });

  it('find tracking codes in a subject however they are typed', () => {
    expect(codesIn('Về phản ánh PA-7K3M9Q2X và pa7k3m9q2x, phiếu TK-0A1B2C3D')).toEqual(['PA-7K3M9Q2X', 'TK-0A1B2C3D']);
    expect(codesIn('Không có mã')).toEqual([]);
  });

  it('read mailbox URLs without ever echoing the password', () => {
    expect(parseMailbox('imaps://1022%40tphcm.gov.vn:p%40ss@imap.gmail.com/INBOX')).toMatchObject({
      id: '1022@tphcm.gov.vn@imap.gmail.com/INBOX', host: 'imap.gmail.com', port: 993, secure: true, user: '1022@tphcm.gov.vn', pass: 'p@ss', path: 'INBOX',
    });
    expect(parseMailbox('imap://u:p@127.0.0.1:1143/Ph%E1%BA%A3n%20%C3%A1nh')).toMatchObject({ port: 1143, secure: false, path: 'Phản ánh' });
    expect(parseMailbox('imap://u:p@host')).toMatchObject({ path: 'INBOX', port: 143 });
    expect(parseMailbox('https://u:p@host/INBOX')).toMatch(/imap/);
    expect(parseMailbox('imap://host/INBOX')).toMatch(/user and the password/);
    expect(parseSender('"Tổng đài 1022" <1022@tphcm.gov.vn>')).toEqual({ name: 'Tổng đài 1022', address: '1022@tphcm.gov.vn', domain: 'tphcm.gov.vn' });
    expect(parseSender('1022@tphcm.gov.vn')).toMatchObject({ name: null, address: '1022@tphcm.gov.vn' });
    expect(parseSender('not an address')).toBeNull();
  });
});
