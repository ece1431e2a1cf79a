import type { Attachment } from '../wire/staff-api.ts';
import type { CitizenContact } from './citizens/identity.ts';

/**
 * The one report model every channel adapter produces from its provider's payload.
 * Only `text` is required; everything else helps identify, locate or classify.
 */
export interface InboundReport {
  text: string;
  category?: string | undefined;
  lat?: number | undefined;
  lng?: number | undefined;
  address?: string | undefined;
  citizen: CitizenContact;
  attachments: Attachment[];
  /** Photos still on the provider's servers (an MMS, a Messenger image): fetched by a job after the report is stored. */
  media?: RemoteMedia[] | undefined;
  /**
   * A conversation (an SMS number, a Messenger sender): its next message within `withinMinutes`
   * continues this report (text and photos added) instead of opening another.
   */
  thread?: { key: string; withinMinutes: number } | undefined;
  /**
   * The ticket (`TK-…`) the reporter says this is about ("this is my problem too", chosen from
   * the nearby list): grouping joins it while it is open and agrees on topic and place.
   */
  ticket?: string | undefined;
}

/** A file a provider holds for a message, as its payload names it. */
export interface RemoteMedia {
  url: string;
  /** As the provider declared it; the file's own bytes decide in the end. */
  contentType?: string | undefined;
}

/** Limits shared by every channel, so a report means the same whatever it came through. */
export const REPORT_LIMITS = {
  textMax: 5000,
  addressMax: 500,
  nameMax: 120,
  photosMax: 5,
  /** A category code, and a latitude or longitude written as text. */
  categoryMax: 64,
  coordinateMax: 32,
  /** Provider media per message, and the length of a media URL. */
  mediaMax: 10,
  /** Files a report keeps in all (a conversation's follow-ups add theirs). */
  attachmentsMax: 20,
  mediaUrlMax: 2048,
  /** A ticket code as written (`TK-…`, spaces and dashes allowed). */
  ticketMax: 40,
} as const;
