import { io, type Socket } from 'socket.io-client';
import { goToLogin, session } from './api.ts';

// socket.io to the same origin (path /socket.io), authenticated by the session cookie. The
// connection state is always visible in #conn-state. Each (re)connection sends the highest
// `seq` seen as `auth.lastSeq`: the server first replays the events missed meanwhile, or sends
// `resync` when too many were; after a reconnect or a resync the views also refetch.

export type { IncomingCall, PresenceMessage as Presence, SignalMessage, TicketEventMessage as TicketEvent, Viewer } from '../../src/wire/realtime.ts';
import type { PresenceMessage as Presence, ResyncMessage, SignalMessage, TicketEventMessage as TicketEvent } from '../../src/wire/realtime.ts';

export type ConnState = 'connecting' | 'online' | 'offline';

const STATE_VI: Record<ConnState, string> = {
  connecting: 'Đang kết nối…',
  online: 'Trực tuyến',
  offline: 'Mất kết nối – đang kết nối lại',
};

export interface RealtimeOptions {
  onEvent(e: TicketEvent): void;
  onPresence?(p: Presence): void;
  /** A live signal for the agents (`console.signal`: an incoming call), not kept nor replayed. */
  onSignal?(s: SignalMessage): void;
  /**
   * After every reconnect (not the first connect), and on `resync` (more was missed than the
   * server replays): refetch what may have changed meanwhile.
   */
  onReconnect?(): void;
}

export interface Realtime {
  /** Tells the server this user has `code` open (presence); null closes it. */
  watch(code: string | null): void;
  state(): ConnState;
}

function showState(state: ConnState): void {
  const el = document.getElementById('conn-state');
  if (!el) return;
  el.dataset.state = state;
  el.textContent = STATE_VI[state];
}

/** Connects and keeps #conn-state current. */
export function connectRealtime(opts: RealtimeOptions): Realtime {
  let state: ConnState = 'connecting';
  let watching: string | null = null;
  let connectedOnce = false;
  let lastSessionCheck = 0;
  const set = (s: ConnState) => {
    state = s;
    showState(s);
  };
  set('connecting');

  // The highest seq seen: where a reconnection resumes (auth is read at every attempt).
  let lastSeq: number | null = null;
  const socket: Socket = io({
    path: '/socket.io', withCredentials: true,
    auth: (cb: (data: object) => void) => cb(lastSeq === null ? {} : { lastSeq }),
  });
  socket.on('connect', () => {
    set('online');
    if (watching) socket.emit('ticket.watch', { code: watching });
    if (connectedOnce) opts.onReconnect?.();
    connectedOnce = true;
  });
  socket.on('disconnect', (reason) => {
    set('offline');
    // The server closing the socket on purpose (signed out elsewhere) is not retried by socket.io.
    if (reason === 'io server disconnect') setTimeout(() => socket.connect(), 2000);
  });
  socket.on('connect_error', (err: Error) => {
    if (err.message === 'session_required') return goToLogin();
    set(connectedOnce ? 'offline' : 'connecting');
    // A refused handshake may mean the session ended: check now and then (session() redirects on 401).
    if (Date.now() - lastSessionCheck > 30_000) {
      lastSessionCheck = Date.now();
      session(true).catch(() => {});
    }
    if (!connectedOnce) setTimeout(() => { if (!socket.connected) set('offline'); }, 4000);
  });
  // Signed out elsewhere, expired or disabled: sign in again. New role or units: load the page
  // again (its rooms, and whether this page is still allowed, have changed).
  socket.on('session.ended', (m: { reason?: string }) => {
    if (m?.reason === 'session_changed') location.reload();
    else goToLogin();
  });
  socket.on('ticket.event', (e: TicketEvent) => {
    if (typeof e?.seq === 'number' && (lastSeq === null || e.seq > lastSeq)) lastSeq = e.seq;
    opts.onEvent(e);
  });
  socket.on('resync', (m: Partial<ResyncMessage>) => {
    if (typeof m?.latestSeq === 'number' && (lastSeq === null || m.latestSeq > lastSeq)) lastSeq = m.latestSeq;
    opts.onReconnect?.();
  });
  socket.on('ticket.presence', (p: Presence) => opts.onPresence?.(p));
  socket.on('console.signal', (s: SignalMessage) => {
    if (s && typeof s.type === 'string' && s.data && typeof s.data === 'object') opts.onSignal?.(s);
  });

  return {
    watch(code) {
      if (code === watching) return;
      if (watching && socket.connected) socket.emit('ticket.unwatch', { code: watching });
      watching = code;
      if (code && socket.connected) socket.emit('ticket.watch', { code });
    },
    state: () => state,
  };
}
