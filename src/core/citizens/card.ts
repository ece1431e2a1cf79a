import type { DbOrTx } from '../../db/schema.ts';
import { OPEN_STATUSES, STATUS_VI } from '../tickets/statuses.ts';
import { identitiesOf, type CitizenContact } from './identity.ts';

/** Tickets a caller may still ask about: open ones, and resolved ones not yet closed. */
const NOT_CLOSED = [...OPEN_STATUSES, 'resolved'];

/** The citizen behind a contact with their last reports and open tickets (a screen pop, a status by phone). */
export interface CitizenSummary {
  citizenId: number;
  name: string | null;
  reports: { code: string; ticketCode: string; status: string; statusLabel: string; title: string; channel: string; receivedAt: string }[];
  openTickets: { code: string; status: string; title: string }[];
}

/** Finds the citizen a contact identifies (its first identifier known), or null. */
export async function citizenSummary(db: DbOrTx, contact: CitizenContact): Promise<CitizenSummary | null> {
  const { identities } = identitiesOf(contact);
  if (identities.length === 0) return null;
  const hit = await db.selectFrom('citizen_identities').innerJoin('citizens', 'citizens.id', 'citizen_identities.citizen_id')
    .select(['citizens.id', 'citizens.display_name'])
    .where((eb) => eb.or(identities.map((i) => eb.and([eb('citizen_identities.kind', '=', i.kind), eb('citizen_identities.value', '=', i.value)]))))
    .orderBy('citizen_identities.id').limit(1).executeTakeFirst();
  if (!hit) return null;
  const reports = await db.selectFrom('reports').innerJoin('tickets', 'tickets.id', 'reports.ticket_id')
    .select(['reports.code', 'tickets.code as ticket_code', 'tickets.status', 'tickets.title', 'reports.channel', 'reports.received_at'])
    .where('reports.citizen_id', '=', hit.id).orderBy('reports.received_at', 'desc').limit(5).execute();
  const open = await db.selectFrom('tickets').select(['code', 'status', 'title'])
    .where('id', 'in', (eb) => eb.selectFrom('reports').select('ticket_id').where('citizen_id', '=', hit.id))
    .where('status', 'in', NOT_CLOSED).where('merged_into', 'is', null)
    .orderBy('received_at', 'desc').limit(10).execute();
  return {
    citizenId: hit.id, name: hit.display_name,
    reports: reports.map((r) => ({
      code: r.code, ticketCode: r.ticket_code, status: r.status, statusLabel: STATUS_VI[r.status as keyof typeof STATUS_VI] ?? r.status,
      title: r.title, channel: r.channel, receivedAt: new Date(r.received_at).toISOString(),
    })),
    openTickets: open.map((t) => ({ code: t.code, status: t.status, title: t.title })),
  };
}
