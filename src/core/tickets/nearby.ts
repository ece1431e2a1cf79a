// The open tickets near a point on one topic, as a resident sees them before filing (the
// duplicate cut: "this is my problem too" instead of a second ticket). Only what the public
// record already shows of a ticket: its code, topic, unit, status in words, how many residents
// reported it and when last; never a reporter's words, address, name or contact (a ticket's
// title is its first reporter's words, so it is not shown either).

import { sql } from 'kysely';
import type { DbOrTx } from '../../db/schema.ts';
import { boxAround, cellsAround, distanceMetres } from '../places/geo.ts';
import { DEFAULT_RADIUS_M } from '../engine/grouping.ts';
import { canonicalCode } from './codes.ts';
import type { NearbyTicket } from '../../wire/public-api.ts';
import { OPEN_STATUSES, STATUS_VI, isOpen, type TicketStatus } from './statuses.ts';

export type { NearbyTicket } from '../../wire/public-api.ts';

/** Most tickets one lookup lists: nearest first. */
export const NEARBY_MAX = 10;

const OPEN_SQL = sql.join([...OPEN_STATUSES]);
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * The open tickets of `category` whose point lies within `radiusM` of the point (the category's
 * same-incident radius: the distance at which the engine itself would group two reports),
 * nearest first, at most NEARBY_MAX. One indexed lookup: the nine geo cells around the point on
 * (category_code, cell), then a box, then the exact distance.
 */
export async function nearbyOpenTickets(db: DbOrTx, q: { lat: number; lng: number; category: string; radiusM?: number | undefined }): Promise<NearbyTicket[]> {
  const radius = q.radiusM ?? DEFAULT_RADIUS_M;
  const box = boxAround(q.lat, q.lng, radius * 1.01);
  const rows = await db.selectFrom('tickets')
    .innerJoin('categories', 'categories.code', 'tickets.category_code')
    .leftJoin('areas', 'areas.code', 'tickets.area_code')
    .select([
      'tickets.code', 'tickets.status', 'tickets.category_code', 'categories.name as category_name', 'tickets.area_code', 'areas.name as area_name',
      'tickets.reporter_count', 'tickets.received_at', 'tickets.last_report_at', 'tickets.lat', 'tickets.lng',
    ])
    .where('tickets.category_code', '=', q.category)
    .where('tickets.cell', 'in', cellsAround(q.lat, q.lng))
    .where(sql<boolean>`tickets.status in (${OPEN_SQL})`)
    .where('tickets.merged_into', 'is', null)
    .where('tickets.lat', '>=', box.lat_min).where('tickets.lat', '<=', box.lat_max)
    .where('tickets.lng', '>=', box.lng_min).where('tickets.lng', '<=', box.lng_max)
    .limit(200)
    .execute();
  return rows
    .map((r) => ({ r, d: distanceMetres(q.lat, q.lng, r.lat!, r.lng!) }))
    .filter(({ d }) => d <= radius)
    .sort((a, b) => a.d - b.d || b.r.received_at.getTime() - a.r.received_at.getTime())
    .slice(0, NEARBY_MAX)
    .map(({ r, d }) => ({
      code: r.code,
      status: r.status,
      status_label: STATUS_VI[r.status as TicketStatus] ?? r.status,
      category: { code: r.category_code!, name: r.category_name },
      area: r.area_code ? { code: r.area_code, name: r.area_name ?? r.area_code } : null,
      distance_m: Math.round(d),
      reporters: r.reporter_count,
      received_at: r.received_at.toISOString(),
      last_reported_at: (r.last_report_at ?? r.received_at).toISOString(),
      lat: round(r.lat!, 4),
      lng: round(r.lng!, 4),
    }));
}

/** A ticket a resident names to join (`"ticket":"TK-…"`): its canonical code and whether it still takes reports; null when unknown. */
export async function ticketToJoin(db: DbOrTx, rawCode: string): Promise<{ code: string; open: boolean } | null> {
  const code = canonicalCode(rawCode);
  if (!code?.startsWith('TK-')) return null;
  const t = await db.selectFrom('tickets').select(['code', 'status', 'merged_into']).where('code', '=', code).executeTakeFirst();
  return t ? { code: t.code, open: isOpen(t.status) && t.merged_into === null } : null;
}
