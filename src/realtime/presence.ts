import { canonicalCode } from '../core/tickets/codes.ts';
import { can } from '../core/staff/policy.ts';
import type { Db } from '../db/schema.ts';
import type { Logger } from '../log.ts';
import type { Viewer, WatchReply } from '../wire/realtime.ts';
import { ticketRoom, type InFlight, type RealtimeServer, type RealtimeSocket, type SocketData } from './rooms.ts';

/** One socket can watch this many tickets at once (a console shows one or two). */
const MAX_WATCHED = 20;

const reply = (ack: unknown, r: WatchReply) => {
  if (typeof ack === 'function') (ack as (r: WatchReply) => void)(r);
};
const failed = (code: string, message: string): WatchReply => ({ ok: false, error: { code, message } });
const codeOf = (payload: unknown): string | null => {
  const raw = payload && typeof payload === 'object' ? (payload as { code?: unknown }).code : undefined;
  const code = typeof raw === 'string' && raw.length <= 32 ? canonicalCode(raw) : null;
  return code?.startsWith('TK-') ? code : null;
};

/**
 * Who has which ticket open: `ticket.watch` / `ticket.unwatch` (checked against the policy)
 * put a socket in a ticket's room, and every change tells the room, on every process, who is
 * in it (`ticket.presence`). Returns what to do for each new socket.
 */
export function presence(io: RealtimeServer, db: Db, log: Logger, inFlight: InFlight): (socket: RealtimeSocket) => void {
  /** Tells everyone watching a ticket (on any process) who is watching it now. */
  async function announcePresence(code: string): Promise<void> {
    const room = ticketRoom(code);
    let sockets: { data: SocketData }[];
    try {
      sockets = await io.in(room).fetchSockets();
    } catch (err) {
      // A process that died without saying so does not answer until its heartbeat times out.
      log.warn({ err }, 'realtime: presence from this process only');
      sockets = await io.local.in(room).fetchSockets();
    }
    const viewers = new Map<string, Viewer>();
    for (const s of sockets) {
      if (s.data?.username) viewers.set(s.data.username, { username: s.data.username, displayName: s.data.displayName });
    }
    io.to(room).emit('ticket.presence', { code, viewers: [...viewers.values()].sort((a, b) => a.username.localeCompare(b.username)) });
  }
  const announce = (code: string) =>
    inFlight.add(announcePresence(code).catch((err: unknown) => log.warn({ err }, 'realtime: presence update failed')));

  return (socket) => {
    const user = socket.data;
    socket.on('ticket.watch', (payload, ack) => {
      const code = codeOf(payload);
      if (!code) return reply(ack, failed('ticket_code_invalid', 'send {code: "TK-…"}'));
      if (socket.rooms.has(ticketRoom(code))) return reply(ack, { ok: true, code });
      const tooMany = () => [...socket.rooms].filter((r) => r.startsWith('ticket:')).length >= MAX_WATCHED;
      const refuseTooMany = () => reply(ack, failed('too_many_watched', `watch at most ${MAX_WATCHED} tickets at once`));
      if (tooMany()) return refuseTooMany();
      db.selectFrom('tickets').select(['status', 'area_code', 'dispatched_area']).where('code', '=', code).executeTakeFirst().then((t) => {
        if (!t) return reply(ack, failed('ticket_not_found', `no ticket ${code}`));
        if (!can(user, 'ticket.read', t)) return reply(ack, failed('ticket_forbidden', 'this ticket is outside your units'));
        if (!socket.connected) return;
        if (tooMany()) return refuseTooMany();
        void socket.join(ticketRoom(code));
        reply(ack, { ok: true, code });
        announce(code);
      }, (err: unknown) => {
        log.error({ err }, 'realtime: ticket lookup failed');
        reply(ack, failed('internal_error', 'try again'));
      });
    });

    socket.on('ticket.unwatch', (payload, ack) => {
      const code = codeOf(payload);
      if (!code) return reply(ack, failed('ticket_code_invalid', 'send {code: "TK-…"}'));
      reply(ack, { ok: true, code });
      if (!socket.rooms.has(ticketRoom(code))) return;
      void socket.leave(ticketRoom(code));
      announce(code);
    });

    // Rooms are already left when 'disconnect' fires: note them just before.
    let watching: string[] = [];
    socket.on('disconnecting', () => {
      watching = [...socket.rooms].filter((r) => r.startsWith('ticket:')).map((r) => r.slice('ticket:'.length));
    });
    socket.on('disconnect', () => {
      for (const code of watching) announce(code);
    });
  };
}
