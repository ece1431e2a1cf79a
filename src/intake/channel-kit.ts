// The channel kit: everything a channel (one folder under channels/) may use of src/, and the
// contract it fulfils. A channel imports this module (and hono, zod, its provider's SDK), never
// anything else of src/, so the rest can change without touching a channel.
import type { Hono } from 'hono';
import type { z } from 'zod';
import type { Config } from '../config.ts';
import type { CityWording } from '../city/profile.ts';
import type { CitizenContact } from '../core/citizens/identity.ts';
import type { CategoryInfo } from '../core/engine/catalog.ts';
import type { InboundReport, RemoteMedia } from '../core/report-input.ts';
import type { DeliveryReport } from '../core/tickets/outbound.ts';
import type { HoldInput } from '../core/inbound/quarantine.ts';
import type { MessageView } from '../wire/staff-api.ts';
import type { MediaPolicy } from './safe-fetch.ts';
import type { PublicPhoto, PublicStatus } from '../core/tickets/tracking.ts';
import type { FeedbackAnswer } from '../core/tickets/feedback.ts';
import type { Attachment } from '../wire/staff-api.ts';
import type { NearbyTicket } from '../core/tickets/nearby.ts';
import type { PlaceSuggestion } from '../core/places/suggest.ts';
import type { PublicReport, PublicReportQuery, PublicService } from '../core/tickets/public-records.ts';
import type { ApiClient } from '../core/staff/api-keys.ts';
import type { Logger } from '../log.ts';
import type { FileStore } from './file-store.ts';
import type { IntakeService } from './intake-service.ts';
import type { IntakeGate } from './intake-limits.ts';

export type { IntakeGate };
export type {
  ApiClient, CategoryInfo, CitizenContact, CityWording, DeliveryReport, FeedbackAnswer, InboundReport, MediaPolicy, NearbyTicket, PlaceSuggestion, PublicPhoto,
  PublicReport, PublicReportQuery,
  PublicService, PublicStatus, RemoteMedia,
};
export { AppError, isAppError } from '../core/errors.ts';
export { REPORT_LIMITS } from '../core/report-input.ts';
export { FEEDBACK_LIMITS } from '../core/tickets/feedback.ts';
export { REOPEN_WINDOW_DAYS } from '../core/tickets/statuses.ts';
export { SUGGEST_QUERY_MAX } from '../core/places/suggest.ts';
export { cleanText, fold } from '../core/engine/text.ts';
export { normalisePhone } from '../core/citizens/identity.ts';
export { canonicalCode } from '../core/tickets/codes.ts';
export { isOpen, OPEN_STATUSES, TICKET_STATUSES, type TicketStatus } from '../core/tickets/statuses.ts';
export { bodyLimit } from './body-limit.ts';
export { unavailableError } from './unavailable.ts';
export { sizeLabel } from './file-store.ts';
export { imageProblem } from './image-size.ts';
export { isSameOrigin, issueFormToken, verifyFormToken } from './form-token.ts';
export { payloadHash } from './intake-service.ts';
export { layout, pageCsp, serveStaticFile, staticFile, type Html, type SiteWording, type StaticFile } from './page-layout.ts';
export {
  readPoint, storeCheckedPhotos, storePhotos, validateFeedback, validateReport, validateReportFields, type CheckedPhoto, type FieldProblem, type RawReportFields,
} from './report-validation.ts';
export { formFiles, formText, readForm, readJsonObject } from './request-body.ts';

/** What a channel may use: intake to store reports, read-only lookups, files, its settings. */
export interface ChannelContext<S = Record<string, never>> {
  /** The app's settings (PUBLIC_URL, UPLOAD_MAX_BYTES...). */
  config: Config;
  /** The channel's own settings, parsed by its `settings` schema. */
  settings: S;
  log: Logger;
  intake: IntakeService;
  /**
   * The public intake limits (per client address without a contact, per contact with one):
   * the portal and the app API ask before storing anything; signed provider webhooks never do.
   */
  limits: IntakeGate;
  files: FileStore;
  categories: () => Promise<CategoryInfo[]>;
  /**
   * The city's places and nearby tickets as residents may see them (the portal's map, the app
   * API's /places and /nearby); absent where the engine's place data is not loaded (the edge).
   */
  places?: PublicPlaces;
  publicStatus: (code: string) => Promise<PublicStatus | null>;
  /** A secret for signing form tokens; stable across restarts. */
  secret: string;
  /** The city's words (its profile): the service's name, the portal's title. */
  city: CityWording;
  /** Records what a provider says became of a message it was given (its delivery callback). */
  delivery(report: DeliveryReport): Promise<void>;
  /** Opt-outs of this channel (STOP / HUY), by address: honoured before every send. */
  optOuts: {
    isOut(channel: string, address: string): Promise<boolean>;
    /** Returns whether this changed anything (a second STOP changes nothing). */
    set(channel: string, address: string, out: boolean, keyword: string): Promise<boolean>;
  };
  /** Keeps what a provider said about a message after it arrived (a call's status, a recording), beside its report. */
  note(channel: string, externalId: string, kind: string, data: Record<string, unknown>): Promise<void>;
  /**
   * Sets a message aside that cannot be read (kept raw in `files` first): held for admins with
   * its error, never a report, never blocking the messages after it. Held again (read again),
   * it counts an attempt; `first` says whether this is the first time.
   */
  quarantine(m: QuarantineInput): Promise<{ id: number; first: boolean }>;
  /**
   * Small values a channel keeps by key across runs and processes (a mailbox's cursor): read
   * and overwritten in place (channel_state), unlike notes, which are appended.
   */
  state: {
    get(channel: string, key: string): Promise<unknown>;
    set(channel: string, key: string, value: unknown): Promise<void>;
  };
  /** What was noted about a message: the newest 100, oldest first. */
  notes(channel: string, externalId: string): Promise<{ kind: string; data: Record<string, unknown>; at: Date }[]>;
  /** Pushes a live signal to the agents' consoles (an incoming call's screen pop). Fire and forget. */
  signal(type: string, data: Record<string, unknown>): void;
  /** What is known of the citizen behind a contact: their open tickets and last reports (a screen pop, a status by phone). */
  citizenCard(contact: CitizenContact): Promise<CitizenCard | null>;
  /** The client holding an API key an admin issued (`phananh apikey add`); null when unknown or revoked. */
  apiClient(key: string | undefined): Promise<ApiClient | null>;
  /**
   * The public record (open data interfaces): services with their departments, and reports with
   * their tickets' state, never personal data. `ownChannel` also gets the text and stored payload
   * of the reports that came through that channel.
   */
  publicRecords: {
    services(): Promise<PublicService[]>;
    list(query: PublicReportQuery, ownChannel?: string): Promise<PublicReport[]>;
    /** Reports by public id in the order asked (at most 200), unknown ones left out; still in intake: `received`. */
    byId(ids: readonly string[], ownChannel?: string): Promise<PublicReport[]>;
    /** The public id of the report a tracking code names; null while it waits in the spool. */
    idOfCode(code: string): Promise<string | null>;
  };
  /**
   * A resident's answer to the resolution of their report's ticket (core/tickets/feedback.ts):
   * the holder of a report's code confirms it is fixed or says it is not (which reopens it).
   */
  feedback: {
    /** Throws the refusal (stable code, Vietnamese message) of an answer not allowed now; true when already given. Writes nothing. */
    check(code: string, answer: FeedbackAnswer): Promise<boolean>;
    /** Records the answer (its photos stored already) and publishes its events; `already`: given before, nothing written. */
    answer(code: string, answer: FeedbackAnswer, opts?: { reason?: string; attachments?: Attachment[] }): Promise<{ already: boolean }>;
  };
}

/** What a resident may learn of places before filing: the engine's own lookups, nothing personal. */
export interface PublicPlaces {
  /** The unit in force a point lies in (the engine's point-in-polygon index); null outside every unit. */
  locate(lat: number, lng: number): { code: string; name: string } | null;
  /** Streets, units (former ones too) and landmarks whose words start with what was typed (at most 8). */
  suggest(q: string): PlaceSuggestion[];
  /** Open tickets of a category within its same-incident radius of a point, nearest first; null for an unknown category. */
  nearby(q: { lat: number; lng: number; category: string }): Promise<NearbyTicket[] | null>;
  /** A ticket a report may name to join it: its canonical code and whether it is open; null when unknown. */
  ticket(code: string): Promise<{ code: string; open: boolean } | null>;
  /** The map tiles the portal shows (MAP_TILE_URL, MAP_TILE_ATTRIBUTION), and where it opens; null when the map is off. */
  map: { tiles: string; attribution: string; centre: { lat: number; lng: number; zoom: number }; /** The tiles' origin, for the page's CSP. */ origin: string } | null;
  /**
   * The bundled map script and stylesheet: with their content hash once built, else their plain
   * paths (the first request builds them; the page never waits for a build).
   */
  mapAssets(): { js: string; css: string };
}

/** The citizen behind a contact, as an agent or an automated answer needs them. */
export interface CitizenCard {
  citizenId: number;
  name: string | null;
  /** Their reports, newest first (at most 5), with the ticket's status. */
  reports: { code: string; ticketCode: string; status: string; statusLabel: string; title: string; channel: string; receivedAt: string }[];
  /** Their tickets not yet closed (at most 10). */
  openTickets: { code: string; status: string; title: string }[];
}

/** What a channel's `send` learned from the provider: its id for the message (delivery callbacks find it by that). */
export interface SendResult {
  providerId?: string;
  /** Where it went (a number, a page-scoped id). */
  to?: string;
  /** SMS segments it took. */
  segments?: number;
}

/**
 * Error codes with which a channel's `send` says another try cannot succeed: the message is
 * marked undeliverable and the ticket shows it (with the citizen's other contacts).
 */
export const UNDELIVERABLE_CODES: ReadonlySet<string> = new Set(['recipient_opted_out', 'recipient_unreachable', 'recipient_invalid', 'recipient_missing']);

/** A reply or notification on its way to a citizen, through the channel and endpoint their report came in on. */
export interface OutboundMessage {
  id: number;
  channel: string;
  /** The hotline number, fanpage or mailbox the report came in on (null: the channel has one). */
  endpoint: string | null;
  kind: string;
  body: string;
  ticketCode: string;
  reportCode: string;
  /** The contact the citizen gave with the report this answers, completed with what else they are known by. */
  contact: CitizenContact;
  /** When the citizen last wrote on this channel (Messenger's 24-hour window counts from it). */
  lastInboundAt: Date | null;
  /** The report's message as the channel stored it (its external id and raw payload: the comment it answers). */
  source: { externalId: string; payload: unknown };
  /** 1 on the first try. */
  attempt: number;
}

/** A message a channel sets aside (`ChannelContext.quarantine`). */
export type QuarantineInput = HoldInput;

/** A held message as the channel's `retry` gets it back. */
export interface QuarantinedMessage {
  id: number;
  externalId: string;
  endpoint: string | null;
  place: Record<string, unknown>;
  rawKey: string;
  receivedAt: Date;
}

/** A stored message as an agent reads it (`ChannelAdapter.read`); the console adds its code and arrival. */
export type MessageReading = Omit<MessageView, 'code' | 'received_at'>;

/** How a channel is named and coloured where staff read it (the console's badges and filters). */
export interface ChannelLabel {
  vi: string;
  en: string;
  /** Badge colours (CSS colours), dark text on a light background. */
  background: string;
  text: string;
}

/**
 * One channel (web form, mobile app, Twilio, Facebook, email): it turns its provider's payloads
 * into the report model and hands them to intake, and answers the citizen the way it can. It
 * never touches core. It lives in one folder under channels/ and is registered by one line in
 * channels/index.ts; nothing else names it.
 */
export interface ChannelAdapter<S extends Record<string, unknown> = Record<string, never>> {
  /** Stored in inbound_messages.channel and reports.channel. */
  readonly name: string;
  readonly label: ChannelLabel;
  /**
   * Its own settings, read from the environment (a z.object of its keys): the channel is on
   * when they parse, off when every key is absent; some set and not valid stops the start with
   * the channel's name. A channel without settings is always on.
   */
  readonly settings?: z.ZodType<S> & { shape: Record<string, unknown> };
  /** Where its routes are mounted: `/channels/<name>` unless it says so (the portal and app API keep `/`). */
  readonly basePath?: string;
  /** HTTP routes (forms, APIs, webhooks). */
  routes?(ctx: ChannelContext<S>): Hono;
  /** Parses a raw payload stored before acknowledgement into the report model. */
  parse?(payload: unknown): InboundReport;
  /**
   * How an agent reads a stored payload as its sender wrote it (an email: its words, the quoted
   * history apart, its files by name); null when the payload holds no such message. Channels
   * whose report text is the message itself (SMS, forms) have none.
   */
  read?(payload: unknown): MessageReading | null;
  /**
   * How answers reach the citizen: `tracking_page` (the portal and the app show replies and
   * results on the report's page), or `send` through the channel (`send` below).
   */
  readonly replies: 'tracking_page' | 'send';
  /** Sends a message; an AppError with a code of UNDELIVERABLE_CODES says it never can be. */
  send?(message: OutboundMessage, ctx: ChannelContext<S>): Promise<SendResult | void>;
  /** Where the photos its reports name (`InboundReport.media`) may be fetched from, and with which credentials. */
  media?(settings: S): MediaPolicy;
  /**
   * Processes a quarantined message again (an admin's retry, after a fix or an upgrade): the same
   * idempotent path as when it arrived. `outcome` 'quarantine' means it was held again.
   */
  retry?(held: QuarantinedMessage, ctx: ChannelContext<S>): Promise<{ outcome: string; code?: string }>;
  /**
   * Work run by the leader alone, every `everyMs`, while the channel is on (an IMAP mailbox poll).
   * `signal` aborts when this process stops or stops being the leader: the run returns promptly.
   */
  readonly poll?: { everyMs: number; run(ctx: ChannelContext<S>, signal: AbortSignal): Promise<void> };
}

/** A channel whatever its settings (the registry's element type). */
export type AnyChannel = ChannelAdapter<Record<string, unknown>>;

/** Declares a channel (checks its shape where it is written). */
export const defineChannel = <S extends Record<string, unknown> = Record<string, never>>(c: ChannelAdapter<S>): ChannelAdapter<S> => c;
