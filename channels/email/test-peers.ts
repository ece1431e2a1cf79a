// Real peers for the email channel's tests: Debian's Dovecot run unprivileged on a loopback
// port with a throwaway config and maildir (it starts in well under a second), and an SMTP sink
// (smtp-server) that keeps what phananh sends and can refuse a recipient as a real server does.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** A port nothing listens on now (the kernel's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

const DOVECOT_PATHS = ['/usr/sbin/dovecot', '/usr/local/sbin/dovecot'];

/** A running Dovecot: every user's password is PASSWORD. */
export interface Dovecot {
  port: number;
  dir: string;
  /** `imap://user:password@127.0.0.1:port/folder`, the user percent-encoded. */
  url(user: string, folder?: string): string;
  /** A client of our own (appending, renaming), connected. */
  client(user: string): Promise<ImapFlow>;
  /** Stops the server (every connection drops) and starts it again on the same port and mail. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export const PASSWORD = 'secret-1022';

async function waitForPort(port: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => { c.end(); resolve(true); });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Starts Dovecot (IMAP only, no TLS) on a free loopback port with a fresh maildir. */
export async function startDovecot(): Promise<Dovecot> {
  const bin = DOVECOT_PATHS.find((p) => existsSync(p));
  if (!bin) throw new Error('dovecot is not installed: apt-get install -y dovecot-imapd (.ci/run does)');
  const dir = mkdtempSync(path.join(tmpdir(), 'phananh-dovecot-'));
  chmodSync(dir, 0o755);
  for (const d of ['base', 'state', 'mail']) mkdirSync(path.join(dir, d));
  // Dovecot refuses to run mail processes as root: as root, mail belongs to nobody.
  const root = process.getuid?.() === 0;
  const uid = root ? 65534 : process.getuid!();
  const gid = root ? 65534 : process.getgid!();
  const login = root ? 'nobody' : userInfo().username;
  if (root) chownSync(path.join(dir, 'mail'), uid, gid);
  const port = await freePort();
  const conf = path.join(dir, 'dovecot.conf');
  writeFileSync(conf, `protocols = imap
listen = 127.0.0.1
base_dir = ${dir}/base
state_dir = ${dir}/state
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:${dir}/mail/%u
passdb {
  driver = static
  args = password=${PASSWORD}
}
userdb {
  driver = static
  args = uid=${uid} gid=${gid} home=${dir}/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
}
log_path = ${dir}/dovecot.log
default_login_user = ${login}
default_internal_user = ${login}
`);
  const launch = async () => {
    // Dovecot forks into the background; with no pipes to hold, the call returns once it has.
    const started = spawnSync(bin, ['-c', conf], { stdio: 'ignore', timeout: 10_000 });
    if (started.status !== 0) {
      const log = existsSync(path.join(dir, 'dovecot.log')) ? readFileSync(path.join(dir, 'dovecot.log'), 'utf8') : '';
      throw new Error(`dovecot did not start (exit ${started.status}): ${log.slice(-2000)}`);
    }
    await waitForPort(port, 5000);
  };
  const halt = async () => {
    const pidFile = path.join(dir, 'base', 'master.pid');
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0;
    if (!pid) return;
    try {
      process.kill(pid, 'SIGTERM');
    } catch { /* already gone */ }
    const until = Date.now() + 5000;
    while (Date.now() < until) {
      try {
        process.kill(pid, 0);
        await new Promise((r) => setTimeout(r, 25));
      } catch {
        break;
      }
    }
  };
  await launch();
  return {
    port, dir,
    url: (user, folder = 'INBOX') => `imap://${encodeURIComponent(user)}:${PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(folder)}`,
    async client(user) {
      const c = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user, pass: PASSWORD }, logger: false });
      c.on('error', () => undefined);
      await c.connect();
      return c;
    },
    async restart() {
      await halt();
      await launch();
    },
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A message the sink received, raw and parsed. */
export interface SunkMail {
  from: string;
  to: string[];
  raw: Buffer;
  parsed: ParsedMail;
}

/** An SMTP server that keeps every message (AUTH accepted with PASSWORD, no TLS). */
export interface SmtpSink {
  port: number;
  /** `smtp://sink:password@127.0.0.1:port`. */
  url: string;
  received: SunkMail[];
  /** Recipients it refuses with 550 5.1.1, as a server does for an unknown user. */
  refuse: Set<string>;
  /** Makes the next `n` messages fail with 451 (a transient failure). */
  failNext(n: number): void;
  close(): Promise<void>;
}

/** Starts the sink on a free loopback port. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const received: SunkMail[] = [];
  const refuse = new Set<string>();
  let failing = 0;
  const server = new SMTPServer({
    secure: false, disabledCommands: ['STARTTLS'], allowInsecureAuth: true, authOptional: true, logger: false, banner: 'sink',
    onAuth(auth, _session, done) {
      if (auth.password === PASSWORD) done(null, { user: auth.username });
      else done(Object.assign(new Error('535 5.7.8 authentication failed'), { responseCode: 535 }));
    },
    onRcptTo(address, _session, done) {
      if (refuse.has(address.address.toLowerCase())) return done(Object.assign(new Error('5.1.1 The email account that you tried to reach does not exist'), { responseCode: 550 }));
      done();
    },
    onData(stream, session, done) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (failing > 0) {
          failing--;
          return done(Object.assign(new Error('4.3.0 try again later'), { responseCode: 451 }));
        }
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then((parsed) => {
          received.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw, parsed });
          done();
        }, done);
      });
    },
  });
  server.on('error', () => undefined);
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port, url: `smtp://sink:${PASSWORD}@127.0.0.1:${port}`, received, refuse,
    failNext(n) { failing = n; },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
