import { sql } from 'kysely';
import type { Db } from '../db/schema.ts';
import { unitSql } from '../core/tickets/event-log.ts';

/** A ticket as an external engine indexes it: the search document of 0018 plus what filters read. */
export interface TicketDocument {
  id: number;
  title: string;
  /** Codes, title, address, category and unit names, reports' words, as written. */
  body: string;
  /** `body` without diacritics, lower case (đ -> d). */
  folded: string;
  status: string;
  /** `unitOf`: where it was dispatched, else where it lies. */
  unit: string | null;
  area: string | null;
  category: string | null;
  channels: string[];
  /** Seconds since the epoch (filterable and sortable as a number). */
  received_at: number;
}

/**
 * The documents of these tickets, from the database; merged or deleted tickets are listed in
 * `gone` (they leave the index: their reports are found on the ticket they joined).
 */
export async function loadDocuments(db: Db, ticketIds: number[]): Promise<{ docs: TicketDocument[]; gone: number[] }> {
  if (ticketIds.length === 0) return { docs: [], gone: [] };
  const rows = (await sql<{ id: number; title: string; body: string; folded: string; status: string; unit: string | null; area: string | null;
    category: string | null; channels: string[] | null; received_at: Date }>`
    select t.id, t.title, s.body, s.folded, t.status, ${unitSql('t')} as unit, t.area_code as area, t.category_code as category,
      (select array_agg(distinct r.channel order by r.channel) from reports r where r.ticket_id = t.id) as channels, t.received_at
    from tickets t join ticket_search s on s.ticket_id = t.id and s.received_at = t.received_at
    where t.id in (${sql.join(ticketIds)}) and t.merged_into is null`.execute(db)).rows;
  const found = new Set(rows.map((r) => r.id));
  return {
    docs: rows.map((r) => ({ ...r, channels: r.channels ?? [], received_at: Math.floor(new Date(r.received_at).getTime() / 1000) })),
    gone: ticketIds.filter((id) => !found.has(id)),
  };
}
