// The shapes of the public place and nearby answers (GET /api/v1/places/*, /api/v1/nearby), as
// the server sends them and the portal's map script (web/report-map.ts) reads them. No imports.

/** What an address suggestion names, in the order they are offered when equally good. */
export const SUGGESTION_KINDS = ['unit', 'former_ward', 'landmark', 'street'] as const;
export type SuggestionKind = (typeof SUGGESTION_KINDS)[number];

/** One address suggestion: what the resident reads, what goes into the address box, and the unit when it decides one. */
export interface PlaceSuggestion {
  kind: SuggestionKind;
  /** As the resident reads it ("Phường 12, Quận 3 (cũ) – nay thuộc Phường Nhiêu Lộc"). */
  label: string;
  /** The words the address box takes ("Phường 12, Quận 3"). */
  value: string;
  /** The unit in force it lies in, when only one. */
  unit: { code: string; name: string } | null;
  /** Where it is, for a place with one point (a landmark): the map moves its pin there. */
  point?: { lat: number; lng: number };
}

/** GET /api/v1/places/locate: the unit in force a point lies in (null outside every unit). */
export interface LocateAnswer {
  lat: number;
  lng: number;
  unit: { code: string; name: string } | null;
}

/** An open ticket near a point, as anyone may see it (GET /api/v1/nearby). */
export interface NearbyTicket {
  code: string;
  status: string;
  status_label: string;
  category: { code: string; name: string };
  area: { code: string; name: string } | null;
  /** Metres from the point asked about, rounded. */
  distance_m: number;
  /** Residents who reported it (another report by one of them does not count twice). */
  reporters: number;
  received_at: string;
  last_reported_at: string;
  /** The ticket's point, to about 10 m (the public record gives points too). */
  lat: number;
  lng: number;
}
