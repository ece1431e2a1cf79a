import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

// A throwaway PostgreSQL server for the reliability drills: its own data folder under the
// system temp dir, its own loopback port, so that stopping or crashing it never disturbs the
// shared server other tests use. initdb refuses to run as root, so as root everything runs as
// the `postgres` user through runuser.

const run = promisify(execFile);

/** Where initdb and pg_ctl live: PG_BINDIR, /usr/lib/postgresql/<newest>/bin, or `pg_config --bindir`. */
export function findPgBinDir(): string | null {
  const candidates: string[] = [];
  if (process.env.PG_BINDIR) candidates.push(process.env.PG_BINDIR);
  for (const v of ['17', '16', '15', '14']) candidates.push(`/usr/lib/postgresql/${v}/bin`);
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch { /* no pg_config */ }
  return candidates.find((d) => d && existsSync(path.join(d, 'initdb')) && existsSync(path.join(d, 'pg_ctl'))) ?? null;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function postgresIds(): { uid: number; gid: number } | null {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : null;
  } catch {
    return null;
  }
}

/**
 * Why a throwaway instance cannot be started here, or null when it can: the binaries are
 * missing, or we are root without `runuser` or a `postgres` user.
 */
export function pgInstanceUnavailable(): string | null {
  if (!findPgBinDir()) return 'no PostgreSQL binaries (initdb, pg_ctl) found: install postgresql or set PG_BINDIR';
  if (isRoot()) {
    if (!existsSync('/usr/sbin/runuser') && !existsSync('/sbin/runuser') && !existsSync('/usr/bin/runuser')) return 'running as root and runuser is missing (initdb refuses root)';
    if (!postgresIds()) return 'running as root and there is no postgres user to run initdb as';
  }
  return null;
}

/** A free TCP port on 127.0.0.1 (the kernel's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface PgInstance {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust auth). */
  url: string;
  port: number;
  dir: string;
  /** Starts the server (waits until it accepts connections). */
  start(): Promise<void>;
  /** Stops it: `fast` (clients disconnected, clean shutdown) or `immediate` (a crash, recovery at next start). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  restart(): Promise<void>;
  running(): boolean;
  /** Stops it if running and removes its folder. */
  destroy(): Promise<void>;
}

/** initdb into a new temporary folder and start a server on a free loopback port. */
export async function startPgInstance(opts: { prefix?: string } = {}): Promise<PgInstance> {
  const bin = findPgBinDir();
  if (!bin) throw new Error('no PostgreSQL binaries found');
  const root = isRoot();
  const ids = root ? postgresIds() : null;
  if (root && !ids) throw new Error('no postgres user');
  const dir = mkdtempSync(path.join(tmpdir(), opts.prefix ?? 'phananh-pg-'));
  if (ids) chownSync(dir, ids.uid, ids.gid);
  const data = path.join(dir, 'data');
  const exec = (tool: string, args: string[], timeout = 60_000) => {
    const file = path.join(bin, tool);
    return root ? run('runuser', ['-u', 'postgres', '--', file, ...args], { timeout }) : run(file, args, { timeout });
  };
  await exec('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8']).catch(async (err: unknown) => {
    // Older systems may lack the C.UTF-8 locale.
    if (!String((err as Error).message).includes('locale')) throw err;
    await exec('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
  });
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let up = false;
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  const instance: PgInstance = {
    url, port, dir,
    async start() {
      await exec('pg_ctl', ['-D', data, '-l', path.join(dir, 'server.log'), '-o', options, '-w', '-t', '60', 'start']);
      up = true;
    },
    async stop(mode = 'fast') {
      if (!up) return;
      await exec('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
      up = false;
    },
    async restart() {
      await instance.stop('fast');
      await instance.start();
    },
    running: () => up,
    async destroy() {
      await instance.stop('immediate').catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await instance.start();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return instance;
}

// `node --import tsx test/drills/pg-instance.ts`: a smoke check of this machine.
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const why = pgInstanceUnavailable();
  if (why) {
    console.log(`unavailable: ${why}`);
  } else {
    const t0 = Date.now();
    const pg = await startPgInstance();
    console.log(`started ${pg.url} in ${Date.now() - t0} ms (${pg.dir})`);
    const t1 = Date.now();
    await pg.stop('immediate');
    await pg.start();
    console.log(`crash + start in ${Date.now() - t1} ms`);
    await pg.destroy();
    console.log('destroyed');
  }
}
