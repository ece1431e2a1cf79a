import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkMail } from './check.ts';
import { freePort, PASSWORD, startDovecot, startSmtpSink, type Dovecot, type SmtpSink } from './test-peers.ts';

// `npx phananh mail check`: an operator tries the settings before starting the app.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const USER = 'hopthu@tphcm.gov.vn';

describe('mail check', () => {
  let dovecot: Dovecot;
  let sink: SmtpSink;
  let imap: ImapFlow;
  let env: Record<string, string>;

  beforeAll(async () => {
    [dovecot, sink] = await Promise.all([startDovecot(), startSmtpSink()]);
    imap = await dovecot.client(USER);
    await imap.append('INBOX', Buffer.from('From: a@example.vn\r\nSubject: x\r\nMessage-ID: <c1@example.vn>\r\n\r\nMột\r\n'));
    await imap.append('INBOX', Buffer.from('From: b@example.vn\r\nSubject: y\r\nMessage-ID: <c2@example.vn>\r\n\r\nHai\r\n'), ['\\Seen']);
    env = { IMAP_URL: dovecot.url(USER), SMTP_URL: sink.url, MAIL_FROM: '"Tổng đài 1022" <1022@tphcm.gov.vn>', MAIL_PROCESSED_FOLDER: 'Processed' };
  });
  afterAll(async () => {
    await imap?.logout().catch(() => undefined);
    await Promise.all([dovecot?.stop(), sink?.close()]);
  });

  it('says that each mailbox and SMTP answer, with the message count and UIDVALIDITY', async () => {
    const status = (await imap.status('INBOX', { messages: true, uidValidity: true })) as { messages?: number; uidValidity?: bigint };
    const r = await checkMail(env);
    expect(r).toEqual({
      ok: true,
      lines: [
        'email channel: on, mail from 1022@tphcm.gov.vn',
        `IMAP ${USER}@127.0.0.1/INBOX: connected (no TLS); 2 messages, 1 unread; UIDVALIDITY ${status.uidValidity}, UIDNEXT 3; IDLE supported`,
        `IMAP ${USER}@127.0.0.1/INBOX: processed folder Processed does not exist yet (created on first use)`,
        `SMTP smtp://127.0.0.1:${sink.port}: connected and logged in`,
      ],
    });
    expect(status.messages).toBe(2);
  });

  it('says what fails, never the password', async () => {
    const closed = await freePort();
    const r = await checkMail({ ...env, IMAP_URL: `${dovecot.url(USER, 'Nowhere')},imap://u:hidden-pass@127.0.0.1:${closed}/INBOX`, SMTP_URL: `smtp://sink:other-pass@127.0.0.1:${closed}` });
    expect(r.ok).toBe(false);
    expect(r.lines[1]).toMatch(new RegExp(`^IMAP ${USER}@127.0.0.1/Nowhere: FAILED: `));
    expect(r.lines[2]).toBe(`IMAP u@127.0.0.1/INBOX: FAILED: connect ECONNREFUSED 127.0.0.1:${closed}`);
    expect(r.lines[3]).toMatch(new RegExp(`^SMTP smtp://127.0.0.1:${closed}: FAILED: .*ECONNREFUSED`));
    expect(r.lines.join('\n')).not.toMatch(new RegExp(`${PASSWORD}|hidden-pass|other-pass`));
    expect(await checkMail({ IMAP_URL: 'imap://nobody@host/INBOX' })).toEqual({
      ok: false,
      lines: [
        'email channel: IMAP_URL: mailbox 1 must hold the user and the password (imaps://user:password@host/INBOX; write @ in a user name as %40)',
        'email channel: SMTP_URL: must be set: the email channel needs IMAP_URL, SMTP_URL and MAIL_FROM',
        'email channel: MAIL_FROM: must be set: the email channel needs IMAP_URL, SMTP_URL and MAIL_FROM',
      ],
    });
    expect(await checkMail({})).toEqual({ ok: false, lines: ['email channel: off (set IMAP_URL, SMTP_URL and MAIL_FROM)'] });
  });

  it('runs as `npx phananh mail check`, exit 0 when all answer and 1 otherwise', async () => {
    const run = (extra: Record<string, string>) => new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'bin/phananh.mjs'), 'mail', 'check'], { cwd: ROOT, env: { ...process.env, ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout }));
    });
    const ok = await run({});
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`IMAP ${USER}@127.0.0.1/INBOX: connected (no TLS); 2 messages, 1 unread; UIDVALIDITY `);
    expect(ok.stdout).not.toContain(PASSWORD);
    const bad = await run({ SMTP_URL: `smtp://127.0.0.1:${await freePort()}` });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/SMTP smtp:\/\/127\.0\.0\.1:\d+: FAILED/);
  });
});
