import type { Hono } from 'hono';
import type { Config } from '../config.ts';
import type { PublicStatus } from '../core/tickets/tracking.ts';
import type { CategoryInfo } from '../core/engine/catalog.ts';
import type { InboundReport } from '../core/report-input.ts';
import type { Logger } from '../log.ts';
import type { FileStore } from './file-store.ts';
import type { IntakeService } from './intake-service.ts';
import type { OutboundMessage } from '../workers/outbound.ts';

/** What a channel may use: intake to store reports, read-only lookups, files and config. */
export interface ChannelContext {
  config: Config;
  log: Logger;
  intake: IntakeService;
  files: FileStore;
  categories: () => Promise<CategoryInfo[]>;
  publicStatus: (code: string) => Promise<PublicStatus | null>;
  /** A secret for signing form tokens; stable across restarts. */
  secret: string;
}

/**
 * One channel (web form, mobile app, Twilio, Facebook, email): it turns its provider's
 * payloads into the report model and hands them to intake; it never touches core directly.
 * A channel lives in one folder under channels/ and is registered by one line.
 */
export interface ChannelAdapter {
  /** Stored in inbound_messages.channel and reports.channel. */
  readonly name: string;
  /** Off when its configuration is absent; the app still starts. */
  enabled(config: Config): boolean;
  /** HTTP routes (forms, APIs, webhooks), mounted at the root of the app. */
  routes(ctx: ChannelContext): Hono;
  /** Parses a raw payload stored before acknowledgement into the report model. */
  parse?(payload: unknown): InboundReport;
  /** Sends a reply or notification back to a citizen on this channel (absent: answered on the tracking page). */
  send?(message: OutboundMessage): Promise<void>;
}
