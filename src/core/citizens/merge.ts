import { recountTickets } from '../tickets/event-log.ts';
import type { Db, DbOrTx } from '../../db/schema.ts';
import { jsonParam } from '../../db/records.ts';
import { AppError } from '../errors.ts';
import { identitiesOf, type CitizenContact } from './identity.ts';
import { staffText } from '../staff/staff-text.ts';
import { assertCan } from '../staff/authorize.ts';
import { actorName, type Actor } from '../staff/policy.ts';

/**
 * Merges citizens into one (the oldest keeps its id): identities and reports move to it, the
 * others point at it, and each merge is recorded with its reason.
 */
export async function mergeCitizens(db: DbOrTx, into: number, others: number[], actor: string, reason: string): Promise<void> {
  if (others.length === 0) return;
  await db.updateTable('citizen_identities').set({ citizen_id: into }).where('citizen_id', 'in', others).execute();
  await db.updateTable('reports').set({ citizen_id: into }).where('citizen_id', 'in', others).execute();
  await db.updateTable('citizens').set({ merged_into: into }).where('id', 'in', others).execute();
  // Citizens merged earlier into one of these follow them.
  await db.updateTable('citizens').set({ merged_into: into }).where('merged_into', 'in', others).execute();
  await db.insertInto('citizen_events').values([
    { citizen_id: into, type: 'citizen.merged', actor, reason, data: jsonParam({ merged: others }) },
    ...others.map((o) => ({ citizen_id: o, type: 'citizen.merged_into', actor, reason, data: jsonParam({ into }) })),
  ]).execute();
}

/**
 * Undoes a wrong link: the identity moves to a new citizen, with the reports that came with it
 * (and with none of the citizen's other identities). Returns the new citizen's id. One
 * transaction, its checks first: a refusal or a failure changes nothing.
 */
export async function unlinkIdentity(db: Db, identityId: number, by: Actor, why: string): Promise<{ citizenId: number; movedReports: number[] }> {
  const reason = staffText('reason', why, true);
  assertCan(by, 'identity.unlink');
  const actor = actorName(by);
  return db.transaction().execute(async (tx) => {
    const identity = await tx.selectFrom('citizen_identities').selectAll().where('id', '=', identityId).forUpdate().executeTakeFirst();
    if (!identity) throw new AppError('identity_not_found', 404, `identity ${identityId} not found`, 'Không tìm thấy định danh này.');
    // Every identity of the citizen, locked: a concurrent unlink of another one waits here.
    const all = await tx.selectFrom('citizen_identities').select('id').where('citizen_id', '=', identity.citizen_id).forUpdate().execute();
    if (all.length < 2) throw new AppError('identity_last', 409, 'the citizen has no other identity to keep', 'Công dân chỉ còn một định danh, không thể tách.');
    const reports = await tx.selectFrom('reports').innerJoin('inbound_messages', 'inbound_messages.id', 'reports.inbound_id')
      .select(['reports.id', 'inbound_messages.report']).where('reports.citizen_id', '=', identity.citizen_id).execute();
    const moved: number[] = [];
    for (const r of reports) {
      const contact = ((r.report as { citizen?: CitizenContact } | null)?.citizen) ?? {};
      const ids = identitiesOf(contact).identities;
      const withIt = ids.some((i) => i.kind === identity.kind && i.value === identity.value);
      const withOthers = ids.some((i) => !(i.kind === identity.kind && i.value === identity.value));
      if (withIt && !withOthers) moved.push(r.id);
    }
    const fresh = await tx.insertInto('citizens').values({ display_name: null, merged_into: null }).returning('id').executeTakeFirstOrThrow();
    await tx.updateTable('citizen_identities').set({ citizen_id: fresh.id }).where('id', '=', identityId).execute();
    if (moved.length) await tx.updateTable('reports').set({ citizen_id: fresh.id }).where('id', 'in', moved).execute();
    await tx.insertInto('citizen_events').values([
      { citizen_id: identity.citizen_id, type: 'citizen.unlinked', actor, reason, data: jsonParam({ identity: { kind: identity.kind }, to: fresh.id, reports: moved }) },
      { citizen_id: fresh.id, type: 'citizen.split_from', actor, reason, data: jsonParam({ from: identity.citizen_id, reports: moved }) },
    ]).execute();
    return { citizenId: fresh.id, movedReports: moved };
  });
}

/** The kinds of identifier an agent may link to a citizen. */
export const LINKABLE_KINDS = ['phone', 'email', 'facebook', 'zalo', 'national_id'] as const;
export type LinkableKind = (typeof LINKABLE_KINDS)[number];

const CONTACT_FIELD: Record<LinkableKind, keyof CitizenContact> = { phone: 'phone', email: 'email', facebook: 'facebook_id', zalo: 'zalo_id', national_id: 'national_id' };

/**
 * An agent says an identifier is this citizen's (a caller gives the phone their Messenger
 * reports lacked): added to the citizen, or, when another citizen is known by it, the two are
 * merged (the older keeps its id). The identifier is normalised as the pipeline does; one
 * invalid is refused. One transaction, checks first; recorded with its reason.
 */
export async function linkIdentity(db: Db, citizenId: number, kind: LinkableKind, raw: string, by: Actor, why: string): Promise<{ citizenId: number; merged: number[] }> {
  try {
    return await linkOnce(db, citizenId, kind, raw, by, why);
  } catch (err) {
    // Two agents linking the same new identifier at once: the second finds it taken (unique
    // kind+value) and, tried again, merges with the first's citizen.
    if ((err as { code?: string }).code !== '23505') throw err;
    return linkOnce(db, citizenId, kind, raw, by, why);
  }
}

async function linkOnce(db: Db, citizenId: number, kind: LinkableKind, raw: string, by: Actor, why: string): Promise<{ citizenId: number; merged: number[] }> {
  const reason = staffText('reason', why, true);
  assertCan(by, 'identity.link');
  const { identities } = identitiesOf({ [CONTACT_FIELD[kind]]: raw });
  const identity = identities.find((i) => i.kind === kind);
  if (!identity) throw new AppError('identity_invalid', 422, `not a valid ${kind}`, 'Định danh không hợp lệ.', { field: 'value' });
  const actor = actorName(by);
  return db.transaction().execute(async (tx) => {
    const citizen = await tx.selectFrom('citizens').select(['id', 'merged_into']).where('id', '=', citizenId).forUpdate().executeTakeFirst();
    if (!citizen) throw new AppError('citizen_not_found', 404, `citizen ${citizenId} not found`, 'Không tìm thấy người phản ánh.');
    const target = citizen.merged_into ?? citizen.id;
    const owner = await tx.selectFrom('citizen_identities').select('citizen_id').where('kind', '=', identity.kind).where('value', '=', identity.value).forUpdate().executeTakeFirst();
    if (owner?.citizen_id === target) return { citizenId: target, merged: [] };
    if (owner) {
      const [into, other] = owner.citizen_id < target ? [owner.citizen_id, target] : [target, owner.citizen_id];
      await mergeCitizens(tx, into, [other], actor, reason);
      // Their tickets now count one reporter where they counted two.
      const tickets = await tx.selectFrom('reports').select('ticket_id').distinct().where('citizen_id', '=', into).execute();
      await recountTickets(tx, tickets.map((t) => t.ticket_id));
      return { citizenId: into, merged: [other] };
    }
    await tx.insertInto('citizen_identities').values({ citizen_id: target, kind: identity.kind, value: identity.value }).execute();
    await tx.insertInto('citizen_events').values({ citizen_id: target, type: 'citizen.linked', actor, reason, data: jsonParam({ identity: { kind: identity.kind } }) }).execute();
    return { citizenId: target, merged: [] };
  });
}
