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
} as const;
