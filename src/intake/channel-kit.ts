// The channel kit: everything a channel (one folder under channels/) may use of src/, and the
// contract it fulfils. A channel imports this module (and hono, zod, its provider's SDK), never
// anything else of src/, so the rest can change without touching a channel.
import type { Hono } from 'hono';
import type { z } from 'zod';
import type { Config } from '../config.ts';
import type { CityWording } from '../city/profile.ts';
import type { CitizenContact } from '../core/citizens/identity.ts';
import type { CategoryInfo } from '../core/engine/catalog.ts';
import type { InboundReport } from '../core/report-input.ts';
import type { PublicStatus } from '../core/tickets/tracking.ts';
import type { Logger } from '../log.ts';
import type { FileStore } from './file-store.ts';
import type { IntakeService } from './intake-service.ts';

export type { CategoryInfo, CityWording, InboundReport, PublicStatus };
export { AppError, isAppError } from '../core/errors.ts';
export { REPORT_LIMITS } from '../core/report-input.ts';
export { cleanText } from '../core/engine/text.ts';
export { bodyLimit } from './body-limit.ts';
export { sizeLabel } from './file-store.ts';
export { isSameOrigin, issueFormToken, verifyFormToken } from './form-token.ts';
export { payloadHash } from './intake-service.ts';
export { layout, serveStaticFile, staticFile, type Html, type SiteWording, type StaticFile } from './page-layout.ts';
export { storePhotos, validateReportFields, type RawReportFields } from './report-validation.ts';
export { formFiles, formText, readForm, readJsonObject } from './request-body.ts';

/** What a channel may use: intake to store reports, read-only lookups, files, its settings. */
export interface ChannelContext<S = Record<string, never>> {
  /** The app's settings (PUBLIC_URL, UPLOAD_MAX_BYTES...). */
  config: Config;
  /** The channel's own settings, parsed by its `settings` schema. */
  settings: S;
  log: Logger;
  intake: IntakeService;
  files: FileStore;
  categories: () => Promise<CategoryInfo[]>;
  publicStatus: (code: string) => Promise<PublicStatus | null>;
  /** A secret for signing form tokens; stable across restarts. */
  secret: string;
  /** The city's words (its profile): the service's name, the portal's title. */
  city: CityWording;
}

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
  /** The contact the citizen gave with the report this answers. */
  contact: CitizenContact;
}

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
   * How answers reach the citizen: `tracking_page` (the portal and the app show replies and
   * results on the report's page), or `send` through the channel (`send` below).
   */
  readonly replies: 'tracking_page' | 'send';
  send?(message: OutboundMessage, ctx: ChannelContext<S>): Promise<void>;
  /** Work run by the leader alone, every `everyMs`, while the channel is on (an IMAP mailbox poll). */
  readonly poll?: { everyMs: number; run(ctx: ChannelContext<S>): Promise<void> };
}

/** A channel whatever its settings (the registry's element type). */
export type AnyChannel = ChannelAdapter<Record<string, unknown>>;

/** Declares a channel (checks its shape where it is written). */
export const defineChannel = <S extends Record<string, unknown> = Record<string, never>>(c: ChannelAdapter<S>): ChannelAdapter<S> => c;
