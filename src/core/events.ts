import { EventEmitter } from 'node:events';

/** A domain event as stored in ticket_events and pushed to listeners after commit. */
export interface DomainEvent {
  /** ticket_events.id: grows with every event, usable as a resume point. */
  seq: number;
  type: string;
  ticketId: number;
  ticketCode: string;
  /** The unit the ticket belongs to (`unitOf`): its live events go to that ward. */
  areaCode: string | null;
  actor: string;
  data: Record<string, unknown>;
  at: Date;
}

const SIGNAL = Symbol('signal');

/**
 * In-process event bus. Core services publish after their transaction commits; realtime,
 * notifications and SLA listen. Core never calls a transport directly.
 */
export class EventBus {
  readonly #emitter = new EventEmitter();

  constructor() {
    this.#emitter.setMaxListeners(100);
  }

  publish(events: DomainEvent[]): void {
    for (const e of events) {
      this.#emitter.emit(e.type, e);
      this.#emitter.emit('*', e);
    }
  }

  /**
   * A live signal for the agents' consoles that is not part of any ticket's history (an incoming
   * call's screen pop): not stored, not replayed, gone if nobody is watching.
   */
  signal(type: string, data: Record<string, unknown>): void {
    this.#emitter.emit(SIGNAL, { type, data });
  }

  /** Subscribes to the live signals. Returns the unsubscribe function. */
  onSignal(fn: (s: { type: string; data: Record<string, unknown> }) => void): () => void {
    this.#emitter.on(SIGNAL, fn);
    return () => this.#emitter.off(SIGNAL, fn);
  }

  /** Subscribes to one event type, or '*' for all. Returns the unsubscribe function. */
  on(type: string, fn: (e: DomainEvent) => void): () => void {
    this.#emitter.on(type, fn);
    return () => this.#emitter.off(type, fn);
  }
}
