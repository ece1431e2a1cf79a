import { randomBytes } from 'node:crypto';
import type { ServerType } from '@hono/node-server';
import { createAdapter } from '@socket.io/postgres-adapter';
import pg from 'pg';
import { Server } from 'socket.io';
import type { EventBus } from '../core/events.ts';
import { can } from '../core/staff/policy.ts';
import type { Db } from '../db/schema.ts';
import type { Logger } from '../log.ts';
import { authenticate, lastSeqOf, originAllowed } from './handshake.ts';
import { presence } from './presence.ts';
import { holdWrites, replay, REPLAY_LIMIT } from './replay.ts';
import { revalidateSockets } from './revalidate.ts';
import {
  EVENT_PACKET, InFlight, settledWithin, sleep, STAFF_ROOM, toTicketEventMessage, wardRoom, type RealtimeServer, type RealtimeSocket,
} from './rooms.ts';

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

/** How long attaching waits for the adapter's LISTEN connection before going on without it. */
const LISTEN_WAIT_MS = 10_000;
/** How long the next event waits for the previous one's broadcast (a NOTIFY) before going anyway. */
const EMIT_WAIT_MS = 2_000;

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

/** The adapter's own pool (one connection LISTENing, the others NOTIFYing), apart from the app's queries. */
function adapterPool(databaseUrl: string, log: Logger): { pool: pg.Pool; appName: string } {
  const appName = `phananh-realtime-${randomBytes(6).toString('hex')}`;
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4, application_name: appName, connectionTimeoutMillis: 5_000 });
  pool.on('error', (err) => log.warn({ err }, 'realtime: an idle adapter connection failed'));
  // The adapter keeps one client checked out for LISTEN and adds no 'error' listener to it:
  // a database restart (57P01, then "Connection terminated") would be an uncaught exception
  // and end the process. Listen on every client; the adapter reconnects on its 'end'.
  pool.on('connect', (client) => client.on('error', (err) => log.warn({ err: err.message }, 'realtime: adapter connection lost')));
  return { pool, appName };
}

/**
 * Attaches socket.io to the HTTP server: authenticates the handshake with the session cookie
 * (handshake.ts), puts each socket in its rooms ('staff', or `ward:<code>` per unit of a ward
 * officer), replays what a reconnecting socket missed before its live events (replay.ts),
 * pushes every core event (`ticket.event`) to the rooms allowed to see it, tracks who watches
 * which ticket (presence.ts) and closes sockets whose session ended or changed (revalidate.ts).
 * Core events are published on the bus of the process where they happened; with a database
 * URL that process's broadcast reaches the sockets of every process through the PostgreSQL
 * adapter, so each event is emitted exactly once. Resolves once cross-process delivery is live.
 */
export async function attachRealtime(opts: RealtimeOptions): Promise<Realtime> {
  const { db, events, log } = opts;
  const sessionOf = new WeakMap<RealtimeSocket, string>();
  const adapter = opts.databaseUrl ? adapterPool(opts.databaseUrl, log) : null;

  const io: RealtimeServer = new Server(opts.httpServer, {
    path: '/socket.io',
    allowRequest: (req, done) => {
      const allowed = originAllowed(req, opts.publicUrl);
      done(allowed ? null : 'origin_mismatch', allowed);
    },
    ...(adapter ? { adapter: createAdapter(adapter.pool, { errorHandler: (err) => log.warn({ err }, 'realtime: adapter error') }) } : {}),
  });
  io.use(authenticate(db, log, sessionOf));

  // Replays and presence announcements in flight, so that close() lets them finish first.
  const inFlight = new InFlight();
  const watchers = presence(io, db, log, inFlight);
  const replayLimit = opts.replayLimit ?? REPLAY_LIMIT;

  io.on('connection', (socket) => {
    const user = socket.data;
    // A client resuming after `lastSeq`: live events wait until the replay has gone out.
    const after = lastSeqOf(socket.handshake.auth);
    const hold = after === null ? null : holdWrites(socket);
    if (can(user, 'units.all')) void socket.join(STAFF_ROOM);
    else if (user.areaCodes.length > 0) void socket.join(user.areaCodes.map(wardRoom));
    if (hold && after !== null) inFlight.add(replay(db, log, socket, after, hold, replayLimit));
    watchers(socket);
  });

  // The process where an event happened emits it, once; the adapter carries it to the others.
  // One at a time: the cluster adapter delivers an emit, even to local sockets, only once its
  // NOTIFY has gone out, so emits in flight together could overtake one another and a console
  // would see report.received before its ticket.created. Awaiting needs the adapter's own
  // broadcast (emit() drops its promise), fed the packet emit() would build.
  let emitting: Promise<void> = Promise.resolve();
  const broadcastInOrder = (rooms: Set<string>, data: unknown[]): void => {
    const packet = { type: EVENT_PACKET, data };
    emitting = emitting.then(async () => {
      const sent = Promise.resolve(io.of('/').adapter.broadcast(packet, { rooms, except: new Set(), flags: {} }) as unknown);
      // A database that stops answering must not hold every later event back forever.
      await settledWithin(sent, EMIT_WAIT_MS);
    }).catch((err: unknown) => log.warn({ err }, 'realtime: broadcast failed'));
  };
  const unsubscribe = events.on('*', (e) => {
    broadcastInOrder(new Set([STAFF_ROOM, ...(e.areaCode ? [wardRoom(e.areaCode)] : [])]), ['ticket.event', toTicketEventMessage(e)]);
  });

  // Live signals (an incoming call) go to the agents of every process, and are not kept; in the
  // same queue, so that a call's "ended" never overtakes its "ringing".
  const unsignal = events.onSignal((s) => broadcastInOrder(new Set([STAFF_ROOM]), ['console.signal', s]));

  let revalidating = false;
  const revalidateTimer = setInterval(() => {
    if (revalidating) return;
    revalidating = true;
    revalidateSockets(io, db, sessionOf).catch((err: unknown) => log.warn({ err }, 'realtime: session check failed'))
      .finally(() => { revalidating = false; });
  }, opts.revalidateMs ?? 60_000);
  revalidateTimer.unref();

  if (adapter) {
    if (await waitForListener(adapter.pool, adapter.appName, LISTEN_WAIT_MS)) {
      // The first hello went out before this process listened, so the answers were missed;
      // say it again so that fetchSockets (presence) knows every process from now on.
      await io.of('/').adapter.init();
    } else {
      log.warn('realtime: the adapter is not listening yet; events of other processes may be missed for a while');
    }
  }
  log.info({ adapter: adapter ? 'postgres' : 'memory' }, 'realtime attached');

  let closing: Promise<void> | null = null;
  return {
    io,
    close() {
      closing ??= (async () => {
        clearInterval(revalidateTimer);
        unsubscribe();
        unsignal();
        io.local.disconnectSockets(true);
        // Events already published still go out, and watchers on other processes hear that
        // this process's viewers left.
        await settledWithin(Promise.all([emitting, inFlight.all()]), 2_000);
        // Tells the other processes this one is gone (so their fetchSockets stop waiting for it).
        await io.of('/').adapter.close();
        io.engine.close();
        if (adapter) {
          const p = adapter.pool;
          // Let the goodbye NOTIFY go out before the pool ends.
          for (let i = 0; i < 100 && (p.waitingCount > 0 || p.idleCount < p.totalCount); i++) await sleep(10);
          await settledWithin(p.end(), 3_000);
        }
      })();
      return closing;
    },
  };
}
