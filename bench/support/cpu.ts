// CPU time spent by this process (all threads) and by the local PostgreSQL server, so a
// benchmark can say where a phase's time went. PostgreSQL's share is read from /proc (Linux,
// server on this machine); elsewhere it is reported as unknown.
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU milliseconds used so far by process `pid` (from /proc), or null when it cannot be read. */
export function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return null;
  }
}

/** CPU milliseconds used so far by every process named `postgres`, or null without /proc. */
function postgresCpuMs(): number | null {
  let total = 0;
  try {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const close = stat.lastIndexOf(')');
        if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
        const fields = stat.slice(close + 2).split(' ');
        // utime and stime are fields 14 and 15 of stat; fields[] starts at field 3.
        total += (Number(fields[11]) + Number(fields[12])) * TICK_MS;
      } catch {
        // the process ended while we read
      }
    }
  } catch {
    return null;
  }
  return total;
}

export interface CpuSpent {
  /** This process, all threads. */
  nodeMs: number;
  /** The PostgreSQL server's processes (backends that ended during the phase are missed). */
  postgresMs: number | null;
}

/** Starts a CPU meter; calling the result returns what was spent since. */
export function cpuMeter(): () => CpuSpent {
  const node = process.cpuUsage();
  const pg = postgresCpuMs();
  return () => {
    const used = process.cpuUsage(node);
    const pgNow = postgresCpuMs();
    return { nodeMs: (used.user + used.system) / 1000, postgresMs: pg === null || pgNow === null ? null : pgNow - pg };
  };
}

/**
 * A CPU meter for the server processes of one database (`pids` lists them now, e.g. from
 * pg_stat_activity): unlike cpuMeter's PostgreSQL share, other databases' work on a shared server
 * is left out. Processes that started meanwhile count from zero; those that ended are missed.
 * Resolves null without /proc.
 */
export async function databaseCpuMeter(pids: () => Promise<number[]>): Promise<() => Promise<number | null>> {
  const start = new Map<number, number>();
  for (const pid of await pids()) {
    const ms = processCpuMs(pid);
    if (ms !== null) start.set(pid, ms);
  }
  return async () => {
    const now = new Set([...start.keys(), ...await pids()]);
    let total = 0;
    let read = 0;
    for (const pid of now) {
      const ms = processCpuMs(pid);
      if (ms === null) continue;
      read++;
      total += ms - (start.get(pid) ?? 0);
    }
    return read === 0 ? null : total;
  };
}
