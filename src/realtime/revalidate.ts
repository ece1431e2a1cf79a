import type { Db } from '../db/schema.ts';
import type { SessionEndedMessage } from '../wire/realtime.ts';
import type { RealtimeServer, RealtimeSocket } from './rooms.ts';

/**
 * A socket outlives the request that opened it: sign-out, expiry, a disabled account or a
 * change of role or units must close it, or a moved ward officer would keep hearing their
 * old ward. Checks the sessions behind this process's sockets and closes those that ended or
 * changed. Read-only, so an open tab does not keep an idle session alive.
 */
export async function revalidateSockets(io: RealtimeServer, db: Db, sessionOf: WeakMap<RealtimeSocket, string>): Promise<void> {
  const sockets = [...io.of('/').sockets.values()];
  const ids = [...new Set(sockets.map((s) => sessionOf.get(s)).filter((id): id is string => id !== undefined))];
  const rows = new Map<string, { role: string; areaCodes: string[]; live: boolean }>();
  const now = new Date();
  for (let i = 0; i < ids.length; i += 500) {
    const found = await db.selectFrom('sessions').innerJoin('users', 'users.id', 'sessions.user_id')
      .select(['sessions.id', 'sessions.expires_at', 'users.role', 'users.area_codes', 'users.disabled'])
      .where('sessions.id', 'in', ids.slice(i, i + 500)).execute();
    for (const r of found) {
      rows.set(r.id, {
        role: r.role, areaCodes: Array.isArray(r.area_codes) ? r.area_codes : [],
        live: !r.disabled && new Date(r.expires_at).getTime() > now.getTime(),
      });
    }
  }
  const sameSet = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
  for (const s of sockets) {
    const id = sessionOf.get(s);
    const row = id ? rows.get(id) : undefined;
    let reason: SessionEndedMessage['reason'] | null = null;
    if (!row || !row.live) reason = 'session_expired';
    else if (row.role !== s.data.role || !sameSet(row.areaCodes, s.data.areaCodes)) reason = 'session_changed';
    if (reason) {
      s.emit('session.ended', { reason });
      s.disconnect(true);
    }
  }
}
