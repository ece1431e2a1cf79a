// The socket.io wire format between the server (src/realtime/server.ts) and the browser
// (web/lib/realtime.ts). Types only, with no imports, so browser code can import it too.

/** `ticket.event`: one domain event as a console receives it. */
export interface TicketEventMessage {
  /** ticket_events.id: grows with every event, usable as a resume point. */
  seq: number;
  type: string;
  /** The ticket's public code (`TK-…`). */
  ticket: string;
  area: string | null;
  actor: string;
  data: Record<string, unknown>;
  /** ISO 8601. */
  at: string;
}

/** Someone who has a ticket open. */
export interface Viewer {
  username: string;
  displayName: string;
}

/** `ticket.presence`: everyone watching a ticket now, on every process. */
export interface PresenceMessage {
  code: string;
  viewers: Viewer[];
}

/** The optional acknowledgement of `ticket.watch` / `ticket.unwatch`. */
export type WatchReply = { ok: true; code: string } | { ok: false; error: { code: string; message: string } };

/** Why a connected socket is being closed by the server (sent just before it is). */
export interface SessionEndedMessage {
  reason: 'session_expired' | 'session_changed';
}

/**
 * Sent instead of a replay when more than the replay cap of events happened after the client's
 * `lastSeq`: refetch everything, then resume from `latestSeq`.
 */
export interface ResyncMessage {
  latestSeq: number;
}

/**
 * `console.signal`: something live that is not a ticket's history, for the agents' consoles only
 * (not stored, not replayed). `call.incoming`: a call rings or waits for an agent (data:
 * IncomingCall).
 */
export interface SignalMessage {
  type: string;
  data: Record<string, unknown>;
}

/** The screen pop of a call: who calls, and what they reported before. */
export interface IncomingCall {
  call: string;
  /** The caller's number (E.164), or null when withheld. */
  from: string | null;
  state: 'ringing' | 'queued' | 'recording' | 'ended';
  /** Whether the carrier attested the number (caller ID is easy to forge: an unverified caller is who they say only once they prove it). */
  verified?: boolean;
  citizen: {
    id: number;
    name: string | null;
    reports: { code: string; ticketCode: string; status: string; statusLabel: string; title: string; channel: string; receivedAt: string }[];
    openTickets: { code: string; status: string; title: string }[];
  } | null;
  at: string;
}

export interface ServerToClientEvents {
  'ticket.event': (e: TicketEventMessage) => void;
  'console.signal': (s: SignalMessage) => void;
  'ticket.presence': (p: PresenceMessage) => void;
  'session.ended': (m: SessionEndedMessage) => void;
  resync: (m: ResyncMessage) => void;
}

export interface ClientToServerEvents {
  'ticket.watch': (p: { code: string }, ack?: (r: WatchReply) => void) => void;
  'ticket.unwatch': (p: { code: string }, ack?: (r: WatchReply) => void) => void;
}
