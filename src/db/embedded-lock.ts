import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';

/** Another live process has the embedded database open (stable code `database_in_use`). */
export class DatabaseInUseError extends Error {
  readonly code = 'database_in_use';
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseInUseError';
  }
}

/** Whether a process with this id runs (one we may not signal runs too). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The process id a lock file names, or null when it names none (a partial write). */
function holderOf(lockPath: string): number | null {
  try {
    const pid = Number((JSON.parse(readFileSync(lockPath, 'utf8')) as { pid?: unknown }).pid);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** The lock files this process holds: one naming this process id but not held here was left by an earlier process of the same id (a container restarted, its one process always pid 1). */
const held = new Set<string>();

/**
 * One process at a time on an embedded database folder: PGlite keeps the database in the memory
 * of the process that opened it, so a second process (a CLI command beside `npm start`) would
 * write to the files behind the first one's back: its writes are lost to the running server, or
 * the files are damaged. Creates `<dataDir>.lock` naming this process, refuses with
 * `database_in_use` while a live process holds it, or this one does (a lock left by a process
 * that died is taken over, one naming this process's id too), and returns the release, which
 * also runs when the process exits.
 */
export function lockEmbeddedDatabase(dataDir: string): () => void {
  const lockPath = `${dataDir}.lock`;
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(lockPath, JSON.stringify({ pid: process.pid, since: new Date().toISOString(), command: process.argv.slice(1).join(' ').slice(0, 200) }), { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      const holder = holderOf(lockPath);
      if (holder !== null && (holder === process.pid ? held.has(lockPath) : alive(holder))) {
        throw new DatabaseInUseError(`the embedded database in ${dataDir} is open in process ${holder}${holder === process.pid ? ' (this one)' : ''}: stop that process first (an embedded database belongs to one process), or set DATABASE_URL to a PostgreSQL server that several processes share; if no such process runs, delete ${lockPath}`);
      }
      // Left by a process that has died: taken over.
      unlinkSync(lockPath);
    }
  }
  held.add(lockPath);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    held.delete(lockPath);
    if (holderOf(lockPath) === process.pid) unlinkSync(lockPath);
  };
  process.on('exit', release);
  return release;
}
