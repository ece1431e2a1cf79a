import { unitSql } from '../core/tickets/event-log.ts';
import { can } from '../core/staff/policy.ts';
import type { Db } from '../db/schema.ts';
import type { Logger } from '../log.ts';
import type { TicketEventMessage } from '../wire/realtime.ts';
import { EVENT_PACKET, toTicketEventMessage, type RealtimeSocket, type SocketData } from './rooms.ts';

/** Default cap of a replay (see RealtimeOptions.replayLimit). */
export const REPLAY_LIMIT = 500;

/** How long after a replay a late live copy of a replayed event is still looked for and dropped. */
const LATE_COPY_MS = 30_000;

/** The seq of an encoded `ticket.event` packet (`2["ticket.event",{"seq":N,…`), or null for any other packet. */
const ENCODED_SEQ = new RegExp(`^${EVENT_PACKET}\\["ticket\\.event",\\{"seq":(\\d+)[,}]`);
function seqOfEncoded(p: unknown): number | null {
  const m = typeof p === 'string' ? ENCODED_SEQ.exec(p) : null;
  return m ? Number(m[1]) : null;
}

type EngineWrite = (encodedPackets: unknown, opts: unknown) => void;

export interface WriteHold {
  /** Runs `fn`, whose writes to the socket go out at once (the replay). */
  direct(fn: () => void): void;
  /**
   * Sends what was held, in order, minus the `ticket.event`s whose seq is in `skip`, and ends
   * the hold; live copies of those that come later still (for LATE_COPY_MS at most) are dropped.
   */
  release(skip: ReadonlySet<number>): void;
}

/**
 * Holds back everything written to a socket's connection until released. Room broadcasts
 * (every live event, whichever process published it) reach a local socket through its
 * client's writeToEngine, which socket.io-adapter calls directly, so that is where a live event
 * can wait while the replay of missed ones goes out. A live event can also arrive after the
 * replay that already carried it (the cluster adapter delivers only once its NOTIFY is out),
 * hence the filter that stays a while after the release.
 *
 * `Client#writeToEngine` is internal to socket.io 4: no public API can hold a socket's room
 * broadcasts (`onAnyOutgoing` only observes them). socket.io is pinned to one minor version
 * (`~` in package.json) and test/realtime.test.ts checks the replay/live boundary on both
 * databases, so an upgrade that changes it fails there first.
 */
export function holdWrites(socket: RealtimeSocket): WriteHold {
  const client = socket.client as unknown as { writeToEngine: EngineWrite };
  const original = client.writeToEngine;
  const held: [unknown, unknown][] = [];
  let bypass = false;
  let holding = true;
  let skip = new Set<number>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const restore = () => {
    clearTimeout(timer);
    client.writeToEngine = original;
  };
  /** The packets of a write that are not copies of replayed events. */
  const fresh = (packets: unknown): unknown[] => (Array.isArray(packets) ? packets : [packets]).filter((p) => {
    const seq = seqOfEncoded(p);
    return seq === null || !skip.delete(seq);
  });
  const write = (packets: unknown, opts: unknown) => {
    if (bypass) return original.call(client, packets, opts);
    if (holding) return void held.push([packets, opts]);
    const kept = fresh(packets);
    if (skip.size === 0) restore();
    if (kept.length) original.call(client, kept, opts);
  };
  client.writeToEngine = write;
  socket.once('disconnect', restore);
  return {
    direct(fn) {
      bypass = true;
      try { fn(); } finally { bypass = false; }
    },
    release(replayed) {
      if (!holding) return;
      holding = false;
      skip = new Set(replayed);
      for (const [packets, opts] of held.splice(0)) {
        const kept = fresh(packets);
        if (kept.length) original.call(client, kept, opts);
      }
      if (skip.size === 0) restore();
      else {
        timer = setTimeout(restore, LATE_COPY_MS);
        timer.unref();
      }
    },
  };
}

/**
 * The events after `after` that `user` may see, as the live path routes them (staff: all; a
 * ward officer: those whose ticket is in one of their units; anyone else: none), oldest first;
 * null when there are more than `limit` of them.
 */
export async function missedEvents(db: Db, user: SocketData, after: number, limit: number): Promise<TicketEventMessage[] | null> {
  const staff = can(user, 'units.all');
  if (!staff && user.areaCodes.length === 0) return [];
  let q = db.selectFrom('ticket_events').innerJoin('tickets', 'tickets.id', 'ticket_events.ticket_id')
    .select([
      'ticket_events.id', 'ticket_events.type', 'ticket_events.actor', 'ticket_events.data', 'ticket_events.created_at',
      'tickets.code', unitSql().as('unit'),
    ])
    .where('ticket_events.id', '>', after);
  if (!staff) q = q.where(unitSql(), 'in', user.areaCodes);
  const rows = await q.orderBy('ticket_events.id').limit(limit + 1).execute();
  if (rows.length > limit) return null;
  return rows.map((r) => toTicketEventMessage({
    seq: Number(r.id), type: r.type, ticketId: 0, ticketCode: r.code, areaCode: r.unit, actor: r.actor,
    data: r.data as Record<string, unknown>, at: r.created_at,
  }));
}

/**
 * Sends a reconnecting socket what it missed after `after`, then the live events held back
 * meanwhile (those already replayed dropped), or one `resync` when too much was missed.
 */
export async function replay(db: Db, log: Logger, socket: RealtimeSocket, after: number, hold: WriteHold, limit: number): Promise<void> {
  const sent = new Set<number>();
  try {
    const missed = await missedEvents(db, socket.data, after, limit);
    if (missed === null) {
      const latest = await db.selectFrom('ticket_events').select((eb) => eb.fn.max('id').as('max')).executeTakeFirst();
      hold.direct(() => socket.emit('resync', { latestSeq: Number(latest?.max ?? after) }));
      return;
    }
    hold.direct(() => {
      for (const m of missed) {
        socket.emit('ticket.event', m);
        sent.add(m.seq);
      }
    });
  } catch (err) {
    log.warn({ err }, 'realtime: replay failed');
    // The client cannot know what it missed: it refetches.
    hold.direct(() => socket.emit('resync', { latestSeq: after }));
  } finally {
    hold.release(sent);
  }
}
