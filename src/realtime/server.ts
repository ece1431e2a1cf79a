import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ServerType } from '@hono/node-server';
import { createAdapter } from '@socket.io/postgres-adapter';
import pg from 'pg';
import { Server, type ExtendedError, type Socket } from 'socket.io';
import { canonicalCode } from '../core/tickets/codes.ts';
import type { DomainEvent, EventBus } from '../core/events.ts';
import { resolveSession, sessionId, sessionTokenFromCookies } from '../core/staff/sessions.ts';
import { unitSql } from '../core/tickets/event-log.ts';
import { can } from '../core/staff/policy.ts';
import type { Role } from '../wire/staff-api.ts';
import type { Db } from '../db/schema.ts';
import type { Logger } from '../log.ts';
import type { ClientToServerEvents, ServerToClientEvents, SessionEndedMessage, TicketEventMessage, Viewer, WatchReply } from '../wire/realtime.ts';


/**
 * What a socket carries about its user. The cluster adapter copies it to other processes
 * (fetchSockets), so it holds nothing secret.
 */
export interface SocketData {
  userId: number;
  username: string;
  displayName: string;
  role: Role;
  areaCodes: string[];
}

export type RealtimeServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type RealtimeSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export interface RealtimeOptions {
  /** The Node server that `serve()` of @hono/node-server returned; socket.io shares it (path /socket.io). */
  httpServer: ServerType;
  db: Db;
  events: EventBus;
  /**
   * A PostgreSQL URL: broadcasts and presence are shared with every process on that database
   * through @socket.io/postgres-adapter. Absent (embedded PGlite): this process alone.
   */
  databaseUrl?: string;
  log: Logger;
  /** PUBLIC_URL: a browser origin allowed besides the Host the request was sent to. */
  publicUrl?: string;
  /** How often the sessions behind connected sockets are checked again (default 60 s). */
  revalidateMs?: number;
  /** At most this many missed events are replayed to a reconnecting socket; more: `resync` (default 500). */
  replayLimit?: number;
}

export interface Realtime {
  io: RealtimeServer;
  /** Disconnects this process's sockets, leaves the cluster and closes the adapter's connections; the HTTP server stays up. */
  close(): Promise<void>;
}

/** Staff who see every unit (`can(user, 'units.all')`) hear every event. */
export const STAFF_ROOM = 'staff';
/** A ward officer's socket is in one of these per unit they serve, and in nothing wider. */
export const wardRoom = (areaCode: string) => `ward:${areaCode}`;
/** The sockets that have a ticket open (presence). */
export const ticketRoom = (code: string) => `ticket:${code}`;

/** One socket can watch this many tickets at once (a console shows one or two). */
const MAX_WATCHED = 20;
/** How long attaching waits for the adapter's LISTEN connection before going on without it. */
const LISTEN_WAIT_MS = 10_000;

/** How long the next event waits for the previous one's broadcast (a NOTIFY) before going anyway. */
const EMIT_WAIT_MS = 2_000;
/** socket.io protocol packet type of an event (PacketType.EVENT of socket.io-parser). */
const EVENT_PACKET = 2;

/** Default cap of a replay (see RealtimeOptions.replayLimit). */
export const REPLAY_LIMIT = 500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for `p`, or `ms` at most. */
async function settledWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([p.catch(() => {}), new Promise((r) => { timer = setTimeout(r, ms); })]);
  clearTimeout(timer);
}

/** The wire form of a domain event. `seq` comes first: a replay's filter reads it from the encoded packet. */
export function toTicketEventMessage(e: DomainEvent): TicketEventMessage {
  return {
    seq: e.seq, type: e.type, ticket: e.ticketCode, area: e.areaCode, actor: e.actor, data: e.data,
    at: (e.at instanceof Date ? e.at : new Date(e.at)).toISOString(),
  };
}

/** A connect_error the client can tell apart: `err.message` and `err.data.code` are the code. */
function refusal(code: string): ExtendedError {
  return Object.assign(new Error(code), { data: { code } });
}

/** The `lastSeq` a client sent in its handshake's `auth`, when it is a non-negative integer. */
export function lastSeqOf(auth: unknown): number | null {
  const v = auth && typeof auth === 'object' ? (auth as { lastSeq?: unknown }).lastSeq : undefined;
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null;
}

/** The seq of an encoded `ticket.event` packet (`2["ticket.event",{"seq":N,…`), or null for any other packet. */
const ENCODED_SEQ = new RegExp(`^${EVENT_PACKET}\\["ticket\\.event",\\{"seq":(\\d+)[,}]`);
function seqOfEncoded(p: unknown): number | null {
  const m = typeof p === 'string' ? ENCODED_SEQ.exec(p) : null;
  return m ? Number(m[1]) : null;
}

/** How long after a replay a late live copy of a replayed event is still looked for and dropped. */
const LATE_COPY_MS = 30_000;

type EngineWrite = (encodedPackets: unknown, opts: unknown) => void;

interface WriteHold {
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
 * hence the filter that stays a while after the release. Internal to socket.io 4
 * (test/realtime checks the replay/live boundary on both databases).
 */
function holdWrites(socket: RealtimeSocket): WriteHold {
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
 * Browsers send Origin on WebSocket and XHR handshakes; a page of another site must not ride
 * the session cookie (cross-site WebSocket hijacking). Clients that send no Origin (server-side
 * clients) are not browsers acting for someone else.
 */
function originAllowed(req: IncomingMessage, publicUrl: string | undefined): boolean {
  const origin = req.headers.origin;
  if (!origin) return true;
  try {
    const host = new URL(origin).host;
    if (req.headers.host && host === req.headers.host) return true;
    return publicUrl !== undefined && new URL(publicUrl).origin === origin;
  } catch {
    return false;
  }
}

/**
 * Waits until the adapter's connection is LISTENing, so that a broadcast from another process
 * published after this resolves reaches this one. The adapter does not say when; the
 * connection's own entry in pg_stat_activity (found by its application_name) does.
 */
async function waitForListener(pool: pg.Pool, appName: string, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await pool.query(
      "select 1 from pg_stat_activity where application_name = $1 and state = 'idle' and query like 'LISTEN %' limit 1", [appName],
    ).catch(() => null);
    if (r?.rowCount) return true;
    if (Date.now() > until) return false;
    await sleep(25);
  }
}

/**
 * Attaches socket.io to the HTTP server: authenticates the handshake with the session cookie,
 * puts each socket in its rooms ('staff', or `ward:<code>` per unit of a ward officer), pushes
 * every core event (`ticket.event`) to the rooms allowed to see it, and tracks who watches
 * which ticket (`ticket.presence`). Core events are published on the bus of the process where
 * they happened; with a database URL that process's broadcast reaches the sockets of every
 * process through the PostgreSQL adapter, so each event is emitted exactly once.
 * Resolves once cross-process delivery is live.
 */
export async function attachRealtime(opts: RealtimeOptions): Promise<Realtime> {
  const { db, events, log } = opts;
  const sessionOf = new WeakMap<RealtimeSocket, string>();

  let pool: pg.Pool | null = null;
  let appName = '';
  if (opts.databaseUrl) {
    appName = `phananh-realtime-${randomBytes(6).toString('hex')}`;
    // One connection stays LISTENing; the others send NOTIFYs. Its own pool, so that realtime
    // traffic never waits behind the app's queries and vice versa.
    pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 4, application_name: appName, connectionTimeoutMillis: 5_000 });
    pool.on('error', (err) => log.warn({ err }, 'realtime: an idle adapter connection failed'));
    // The adapter keeps one client checked out for LISTEN and adds no 'error' listener to it:
    // a database restart (57P01, then "Connection terminated") would be an uncaught exception
    // and end the process. Listen on every client; the adapter reconnects on its 'end'.
    pool.on('connect', (client) => client.on('error', (err) => log.warn({ err: err.message }, 'realtime: adapter connection lost')));
  }

  const io: RealtimeServer = new Server(opts.httpServer, {
    path: '/socket.io',
    allowRequest: (req, done) => {
      const allowed = originAllowed(req, opts.publicUrl);
      done(allowed ? null : 'origin_mismatch', allowed);
    },
    ...(pool ? { adapter: createAdapter(pool, { errorHandler: (err) => log.warn({ err }, 'realtime: adapter error') }) } : {}),
  });

  io.use((socket, next) => {
    const token = sessionTokenFromCookies(socket.handshake.headers.cookie);
    resolveSession(db, token).then((found) => {
      const user = found?.user;
      if (!user || !token) return next(refusal('session_required'));
      sessionOf.set(socket, sessionId(token));
      socket.data = { userId: user.id, username: user.username, displayName: user.displayName, role: user.role, areaCodes: [...user.areaCodes] };
      // fetchSockets ships the handshake to the other processes (through NOTIFY, and the
      // attachments table when large): the session token must not travel with it.
      const headers = { ...socket.handshake.headers };
      delete headers.cookie;
      socket.handshake.headers = headers;
      next();
    }, (err: unknown) => {
      log.error({ err }, 'realtime: session lookup failed');
      next(refusal('session_check_failed'));
    });
  });

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

  // Announcements in flight, so that close() lets them finish before the adapter goes.
  const pending = new Set<Promise<void>>();
  const announce = (code: string) => {
    const p = announcePresence(code).catch((err: unknown) => log.warn({ err }, 'realtime: presence update failed'));
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  const reply = (ack: unknown, r: WatchReply) => {
    if (typeof ack === 'function') (ack as (r: WatchReply) => void)(r);
  };
  const failed = (code: string, message: string): WatchReply => ({ ok: false, error: { code, message } });
  const codeOf = (payload: unknown): string | null => {
    const raw = payload && typeof payload === 'object' ? (payload as { code?: unknown }).code : undefined;
    const code = typeof raw === 'string' && raw.length <= 32 ? canonicalCode(raw) : null;
    return code?.startsWith('TK-') ? code : null;
  };

  const replayLimit = opts.replayLimit ?? REPLAY_LIMIT;

  /**
   * The events after `after` that `user` may see, as the live path routes them (staff: all; a
   * ward officer: those whose ticket is in one of their units; anyone else: none), oldest first;
   * null when there are more than replayLimit of them.
   */
  async function missedEvents(user: SocketData, after: number): Promise<TicketEventMessage[] | null> {
    const staff = can(user, 'units.all');
    if (!staff && user.areaCodes.length === 0) return [];
    let q = db.selectFrom('ticket_events').innerJoin('tickets', 'tickets.id', 'ticket_events.ticket_id')
      .select([
        'ticket_events.id', 'ticket_events.type', 'ticket_events.actor', 'ticket_events.data', 'ticket_events.created_at',
        'tickets.code', unitSql().as('unit'),
      ])
      .where('ticket_events.id', '>', after);
    if (!staff) q = q.where(unitSql(), 'in', user.areaCodes);
    const rows = await q.orderBy('ticket_events.id').limit(replayLimit + 1).execute();
    if (rows.length > replayLimit) return null;
    return rows.map((r) => toTicketEventMessage({
      seq: Number(r.id), type: r.type, ticketId: 0, ticketCode: r.code, areaCode: r.unit, actor: r.actor,
      data: r.data as Record<string, unknown>, at: r.created_at,
    }));
  }

  /**
   * Sends a reconnecting socket what it missed after `after`, then the live events held back
   * meanwhile (those already replayed dropped), or one `resync` when too much was missed.
   */
  async function replay(socket: RealtimeSocket, after: number, hold: WriteHold): Promise<void> {
    const sent = new Set<number>();
    try {
      const missed = await missedEvents(socket.data, after);
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

  io.on('connection', (socket) => {
    const user = socket.data;
    // A client resuming after `lastSeq`: live events wait until the replay has gone out.
    const after = lastSeqOf(socket.handshake.auth);
    const hold = after === null ? null : holdWrites(socket);
    if (can(user, 'units.all')) void socket.join(STAFF_ROOM);
    else if (user.areaCodes.length > 0) void socket.join(user.areaCodes.map(wardRoom));
    if (hold && after !== null) {
      const p = replay(socket, after, hold);
      pending.add(p);
      void p.finally(() => pending.delete(p));
    }

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
  });

  // The process where an event happened emits it, once; the adapter carries it to the others.
  // One at a time: the cluster adapter delivers an emit, even to local sockets, only once its
  // NOTIFY has gone out, so emits in flight together could overtake one another and a console
  // would see report.received before its ticket.created. Awaiting needs the adapter's own
  // broadcast (emit() drops its promise), fed the packet emit() would build.
  let emitting: Promise<void> = Promise.resolve();
  const unsubscribe = events.on('*', (e) => {
    const packet = { type: EVENT_PACKET, data: ['ticket.event', toTicketEventMessage(e)] };
    const rooms = new Set([STAFF_ROOM, ...(e.areaCode ? [wardRoom(e.areaCode)] : [])]);
    emitting = emitting.then(async () => {
      const sent = Promise.resolve(io.of('/').adapter.broadcast(packet, { rooms, except: new Set(), flags: {} }) as unknown);
      // A database that stops answering must not hold every later event back forever.
      await settledWithin(sent, EMIT_WAIT_MS);
    }).catch((err: unknown) => log.warn({ err }, 'realtime: broadcast failed'));
  });

  /**
   * A socket outlives the request that opened it: sign-out, expiry, a disabled account or a
   * change of role or units must close it, or a moved ward officer would keep hearing their
   * old ward. Read-only, so an open tab does not keep an idle session alive.
   */
  async function revalidate(): Promise<void> {
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
  let revalidating = false;
  const revalidateTimer = setInterval(() => {
    if (revalidating) return;
    revalidating = true;
    revalidate().catch((err: unknown) => log.warn({ err }, 'realtime: session check failed'))
      .finally(() => { revalidating = false; });
  }, opts.revalidateMs ?? 60_000);
  revalidateTimer.unref();

  if (pool) {
    if (await waitForListener(pool, appName, LISTEN_WAIT_MS)) {
      // The first hello went out before this process listened, so the answers were missed;
      // say it again so that fetchSockets (presence) knows every process from now on.
      await io.of('/').adapter.init();
    } else {
      log.warn('realtime: the adapter is not listening yet; events of other processes may be missed for a while');
    }
  }
  log.info({ adapter: pool ? 'postgres' : 'memory' }, 'realtime attached');

  let closing: Promise<void> | null = null;
  return {
    io,
    close() {
      closing ??= (async () => {
        clearInterval(revalidateTimer);
        unsubscribe();
        io.local.disconnectSockets(true);
        // Events already published still go out, and watchers on other processes hear that
        // this process's viewers left.
        await settledWithin(Promise.all([emitting, ...pending]), 2_000);
        // Tells the other processes this one is gone (so their fetchSockets stop waiting for it).
        await io.of('/').adapter.close();
        io.engine.close();
        if (pool) {
          const p = pool;
          // Let the goodbye NOTIFY go out before the pool ends.
          for (let i = 0; i < 100 && (p.waitingCount > 0 || p.idleCount < p.totalCount); i++) await sleep(10);
          await settledWithin(p.end(), 3_000);
        }
      })();
      return closing;
    },
  };
}
