import type { Context } from 'hono';
import type { CategoryInfo } from '../../core/engine/catalog.ts';
import { AppError } from '../../core/errors.ts';
import type { DomainEvent, EventBus } from '../../core/events.ts';
import { canonicalCode } from '../../core/tickets/codes.ts';
import type { ResolvedNotice, StatusHook } from '../../core/tickets/workflow.ts';
import type { Notices } from '../../core/tickets/outbound.ts';
import type { Actor } from '../../core/staff/policy.ts';
import type { Db } from '../../db/schema.ts';
import type { AreaIndex } from '../../core/places/area-index.ts';
import type { Gazetteer } from '../../core/places/gazetteer.ts';
import type { FileStore } from '../../intake/file-store.ts';
import type { IntakeService } from '../../intake/intake-service.ts';
import type { QuarantinedMessage } from '../../intake/channel-kit.ts';
import type { ChannelInfo, MessageView } from '../../wire/staff-api.ts';
import type { AuthEnv } from '../auth.ts';
import type { TicketSearch } from '../../search/search.ts';
import { presentAction } from './presenters.ts';

export interface ConsoleApiDeps {
  db: Db;
  channels: ChannelInfo[];
  events: EventBus;
  /** Ticket search behind the queue's `q` (src/search). */
  search: TicketSearch;
  files: FileStore;
  uploadMaxBytes: number;
  /** Called inside the transaction of every status change (SLA timers). */
  onStatus?: StatusHook;
  /** The city's wording of the notice a reporter gets when their report is resolved. */
  notice?: ResolvedNotice;
  /** Notices to reporters on channels that write back (dispatch); its `sends` says which channels a reply may go `via`. */
  notices?: Notices;
  /** Where the reports agents log for callers go: the same intake as every channel's. */
  intake: Pick<IntakeService, 'accept'>;
  /** The categories in force (the runtime's cached list), for validating a logged report. */
  categories: () => Promise<CategoryInfo[]>;
  /** The city's units and gazetteer, as the pipeline reads places (where an address lies). */
  places: { areas: AreaIndex; gazetteer: Gazetteer };
  /** How a channel's stored message reads as its sender wrote it (the channels' `read`); absent: reports show their text only. */
  messages?: MessageReader;
  /** Runs a quarantined message through its channel again (the channel's `retry`). */
  retryQuarantined?: (channel: string, held: QuarantinedMessage) => Promise<{ outcome: string; code?: string }>;
}

/** The channels' readers of stored messages (ChannelAdapter.read), by channel name. */
export interface MessageReader {
  /** Whether a channel can show its messages as written (its payloads are worth loading). */
  reads(channel: string): boolean;
  read(channel: string, payload: unknown): Omit<MessageView, 'code' | 'received_at'> | null;
}

/** What every resource's routes share: the deps, who is asking, finding a ticket, answering an action. */
export interface ConsoleKit {
  deps: ConsoleApiDeps;
  actor(c: Context<AuthEnv>): Actor;
  /** The id of the ticket a path names (a tracking code, any case and spacing), else 404 ticket_not_found. */
  ticketId(raw: string): Promise<number>;
  /** Publishes an action's events (after its commit) and answers them. */
  done(c: Context, events: DomainEvent[]): Response;
}

export function consoleKit(deps: ConsoleApiDeps): ConsoleKit {
  return {
    deps,
    actor: (c) => c.get('user'),
    async ticketId(raw) {
      const code = canonicalCode(raw);
      const t = code ? await deps.db.selectFrom('tickets').select('id').where('code', '=', code).executeTakeFirst() : undefined;
      if (!t) throw new AppError('ticket_not_found', 404, `no ticket ${raw.slice(0, 40)}`, 'Không tìm thấy hồ sơ.');
      return t.id;
    },
    done(c, events) {
      deps.events.publish(events);
      return c.json(presentAction(events));
    },
  };
}
