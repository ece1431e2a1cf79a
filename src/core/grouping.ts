import type { DbOrTx, Reason } from '../db/schema.ts';
import { cellsAround, distanceMetres } from './geo.ts';
import { normaliseAddress } from './gazetteer.ts';
import { placeKeys, similarity } from './text.ts';

export type Relation = 'new' | 'same_citizen' | 'duplicate';

/** Statuses in which a ticket still takes new reports. */
export const OPEN_STATUSES = ['new', 'triaged', 'dispatched', 'acknowledged', 'in_progress'] as const;

/** Same-incident radius per category, in metres: a flood spans a street, a lamp is one post. */
export const DUPLICATE_RADIUS_M: Record<string, number> = {
  ngap_nuoc: 300, rac_thai: 100, tieng_on: 100, chieu_sang: 50, lan_chiem: 80, xay_dung: 50,
  giao_thong: 100, cay_xanh: 50, cap_nuoc: 200, an_ninh: 150, khac: 50,
};
/** Radius for a category the project does not know (another city's list). */
export const DEFAULT_RADIUS_M = 100;

export const GROUPING = {
  /** A citizen's repeat on the same topic joins their ticket within this many hours of their last report. */
  sameCitizenHours: 72,
  /** A citizen's repeat about the same house joins across topics when the topic is this unsure... */
  vagueTopicMax: 0.6,
  /** ...and within this many hours. */
  vagueSameCitizenHours: 12,
  /** Beyond this distance a citizen's second report is a different place, hence a different problem. */
  sameCitizenMaxMetres: 1000,
  /** A closed ticket still takes the same citizen's repeat for this many days. */
  closedGraceDays: 3,
  /** Different citizens: same incident only within this many hours of the ticket's first report. */
  duplicateHours: 24,
  /** Reports without a point: same unit, same topic and this much text/address similarity... */
  textMatchMin: 0.35,
  /** ...or this much when they name the same street. */
  streetTextMin: 0.15,
  /** A place with this many tickets closed in the lookback becomes a hotspot. */
  hotspotMin: 2,
  hotspotLookbackDays: 60,
};

export interface GroupInput {
  citizenId: number | null;
  category: string | null;
  /** How sure the classifier was (1 when the reporter chose). */
  categoryConfidence?: number;
  areaCode: string | null;
  lat?: number | undefined;
  lng?: number | undefined;
  text: string;
  address?: string | undefined;
  receivedAt: Date;
}

export interface GroupDecision {
  ticketId: number | null;
  relation: Relation;
  score: number;
  reasons: Reason[];
}

const hours = (d: Date, h: number) => new Date(d.getTime() - h * 3_600_000);
const place = (address: string | null | undefined, text: string) => normaliseAddress(`${address ?? ''} ${text}`);

/**
 * Finds the ticket a report belongs to: (a) the same citizen's ticket on the topic, whatever
 * the channel; (b) another citizen's ticket on the same incident nearby and recent. Every
 * lookup is indexed (citizen, category + geo cell + time, category + unit + time).
 */
export async function findGroup(db: DbOrTx, g: GroupInput): Promise<GroupDecision> {
  if (!g.category) return { ticketId: null, relation: 'new', score: 0, reasons: [{ step: 'group', code: 'group_skipped', message: 'no category: not grouped' }] };
  const hasPoint = g.lat !== undefined && g.lng !== undefined;

  if (g.citizenId !== null) {
    const rows = await db.selectFrom('reports').innerJoin('tickets', 'tickets.id', 'reports.ticket_id')
      .select(['tickets.id', 'tickets.code', 'tickets.area_code', 'tickets.lat', 'tickets.lng', 'tickets.category_code', 'reports.received_at', 'reports.text', 'reports.address'])
      .where('reports.citizen_id', '=', g.citizenId)
      .where('reports.received_at', '>=', hours(g.receivedAt, GROUPING.sameCitizenHours))
      .where('reports.received_at', '<=', g.receivedAt)
      .where('tickets.merged_into', 'is', null)
      .where((eb) => eb.or([
        eb('tickets.status', 'in', [...OPEN_STATUSES]),
        eb('tickets.closed_at', '>=', hours(g.receivedAt, GROUPING.closedGraceDays * 24)),
        eb('tickets.resolved_at', '>=', hours(g.receivedAt, GROUPING.closedGraceDays * 24)),
      ]))
      .orderBy('reports.received_at', 'desc')
      .limit(20)
      .execute();
    const hereKeys = placeKeys(`${g.address ?? ''} ${g.text}`);
    for (const t of rows) {
      if (g.areaCode && t.area_code && t.area_code !== g.areaCode) continue;
      if (hasPoint && t.lat !== null && t.lng !== null && distanceMetres(g.lat!, g.lng!, t.lat, t.lng) > GROUPING.sameCitizenMaxMetres) continue;
      if (t.category_code !== g.category) {
        // The same person about the same house within hours, where the topic model was unsure
        // or said "other": one complaint worded two ways, not two problems.
        const vague = g.category === 'khac' || t.category_code === 'khac' || t.category_code === null || (g.categoryConfidence ?? 1) < GROUPING.vagueTopicMax;
        const theirs = placeKeys(`${t.address ?? ''} ${t.text}`);
        const sameHouse = [...hereKeys].some((k) => !k.startsWith('street|') && theirs.has(k));
        if (!vague || !sameHouse || g.receivedAt.getTime() - t.received_at.getTime() > GROUPING.vagueSameCitizenHours * 3_600_000) continue;
      }
      return {
        ticketId: t.id, relation: 'same_citizen', score: t.category_code === g.category ? 1 : 0.8,
        reasons: [{ step: 'group', code: 'same_citizen', message: `same citizen, ${t.category_code === g.category ? 'same topic' : 'same house, topic unclear'} as ticket ${t.code}`, score: 1 }],
      };
    }
  }

  const radius = DUPLICATE_RADIUS_M[g.category] ?? DEFAULT_RADIUS_M;
  const since = hours(g.receivedAt, GROUPING.duplicateHours);
  const base = db.selectFrom('tickets')
    .select(['id', 'code', 'lat', 'lng', 'area_code'])
    .where('category_code', '=', g.category)
    .where('status', 'in', [...OPEN_STATUSES])
    .where('merged_into', 'is', null)
    .where('last_report_at', '>=', since)
    .where('received_at', '>=', since)
    .where('received_at', '<=', g.receivedAt);
  const byCell = hasPoint ? await base.where('cell', 'in', cellsAround(g.lat!, g.lng!)).limit(200).execute() : [];
  const byArea = g.areaCode ? await base.where('area_code', '=', g.areaCode).limit(200).execute() : [];
  const candidates = [...new Map([...byCell, ...byArea].map((c) => [c.id, c])).values()];
  if (candidates.length === 0) return { ticketId: null, relation: 'new', score: 0, reasons: [{ step: 'group', code: 'group_new', message: 'no open ticket on this topic nearby' }] };

  // What each candidate's reports say about the place, to compare with this report's words.
  const words = await db.selectFrom('reports').select(['ticket_id', 'text', 'address'])
    .where('ticket_id', 'in', candidates.map((c) => c.id)).execute();
  const placeText = new Map<number, string>();
  for (const w of words) placeText.set(w.ticket_id, `${placeText.get(w.ticket_id) ?? ''} ${w.address ?? ''} ${w.text}`);
  const here = place(g.address, g.text);
  const hereKeys = placeKeys(`${g.address ?? ''} ${g.text}`);
  let best: { id: number; code: string; score: number; why: string } | null = null;
  for (const c of candidates) {
    const theirs = placeText.get(c.id) ?? '';
    const keys = placeKeys(theirs);
    const sameHouse = [...hereKeys].some((k) => !k.startsWith('street|') && keys.has(k));
    const sameStreet = [...hereKeys].some((k) => k.startsWith('street|') && keys.has(k));
    let score = 0;
    let why = '';
    if (hasPoint && c.lat !== null && c.lng !== null) {
      const d = distanceMetres(g.lat!, g.lng!, c.lat, c.lng);
      if (d <= radius) {
        score = 0.6 + 0.4 * (1 - d / radius);
        why = `${Math.round(d)} m from ticket ${c.code} (radius ${radius} m)`;
      } else if (sameHouse && d <= 3 * radius) {
        score = 0.6;
        why = `same house number and street as ticket ${c.code}, ${Math.round(d)} m apart`;
      }
    } else if (g.areaCode && c.area_code === g.areaCode) {
      const sim = similarity(here, place(null, theirs));
      if (sameHouse) {
        score = 0.9;
        why = `same unit, same house number and street as ticket ${c.code}`;
      } else if (sameStreet && sim >= GROUPING.streetTextMin) {
        score = 0.5 + sim / 2;
        why = `same unit and street, text ${Math.round(sim * 100)}% alike ticket ${c.code}`;
      } else if (sim >= GROUPING.textMatchMin) {
        score = sim;
        why = `same unit, text/address ${Math.round(sim * 100)}% alike ticket ${c.code}`;
      }
    }
    if (score > 0 && (!best || score > best.score)) best = { id: c.id, code: c.code, score, why };
  }
  if (best) {
    return {
      ticketId: best.id, relation: 'duplicate', score: best.score,
      reasons: [{ step: 'group', code: 'duplicate', message: `same incident: ${best.why}, same topic, within ${GROUPING.duplicateHours} h`, score: best.score }],
    };
  }
  return { ticketId: null, relation: 'new', score: 0, reasons: [{ step: 'group', code: 'group_new', message: 'no open ticket on this incident' }] };
}

/** Counts tickets on the same topic at the same place closed recently: a problem that keeps coming back. */
export async function hotspotCount(db: DbOrTx, category: string, lat: number, lng: number, at: Date): Promise<number> {
  const radius = DUPLICATE_RADIUS_M[category] ?? DEFAULT_RADIUS_M;
  const rows = await db.selectFrom('tickets').select(['lat', 'lng'])
    .where('category_code', '=', category)
    .where('cell', 'in', cellsAround(lat, lng))
    .where('status', 'in', ['resolved', 'closed'])
    .where('last_report_at', '>=', hours(at, GROUPING.hotspotLookbackDays * 24))
    .limit(500)
    .execute();
  return rows.filter((r) => r.lat !== null && r.lng !== null && distanceMetres(lat, lng, r.lat, r.lng) <= radius).length;
}
