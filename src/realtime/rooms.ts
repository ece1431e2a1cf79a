import type { Server, Socket } from 'socket.io';
import type { DomainEvent } from '../core/events.ts';
import type { Role } from '../wire/staff-api.ts';
import type { ClientToServerEvents, ServerToClientEvents, TicketEventMessage } from '../wire/realtime.ts';

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
export type RealtimeSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** Staff who see every unit (`can(user, 'units.all')`) hear every event. */
export const STAFF_ROOM = 'staff';
/** A ward officer's socket is in one of these per unit they serve, and in nothing wider. */
export const wardRoom = (areaCode: string) => `ward:${areaCode}`;
/** The sockets that have a ticket open (presence). */
export const ticketRoom = (code: string) => `ticket:${code}`;

/** socket.io protocol packet type of an event (PacketType.EVENT of socket.io-parser). */
export const EVENT_PACKET = 2;

/** The wire form of a domain event. `seq` comes first: a replay's filter reads it from the encoded packet. */
export function toTicketEventMessage(e: DomainEvent): TicketEventMessage {
  return {
    seq: e.seq, type: e.type, ticket: e.ticketCode, area: e.areaCode, actor: e.actor, data: e.data,
    at: (e.at instanceof Date ? e.at : new Date(e.at)).toISOString(),
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for `p`, or `ms` at most. */
export async function settledWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([p.catch(() => {}), new Promise((r) => { timer = setTimeout(r, ms); })]);
  clearTimeout(timer);
}

/** Promises in flight (announcements, replays) that close() lets finish. */
export class InFlight {
  readonly #pending = new Set<Promise<void>>();
  add(p: Promise<void>): void {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }
  all(): Promise<unknown> {
    return Promise.all(this.#pending);
  }
}
