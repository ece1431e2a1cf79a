import { sql, type Kysely } from 'kysely';

// Frozen: once landed, never edit this file; add a new numbered migration instead.
// A resident confirms a resolution or reopens the ticket (issue 16, residents 4):
// - tickets.reopened_at: when it was last reopened; the SLA clock runs from it (null: from
//   received_at), so a reopened ticket is due again rather than breached by its old clock;
// - tickets.reopen_count: how many times it was reopened, the SLA round its alerts belong to;
// - sla_alerts.round: a warning or breach fires once per stage, kind and round (it fired once per
//   stage and kind before), so the stages of a reopened ticket can warn and breach again.
// Confirmations and reopenings themselves are ticket events (`ticket.confirmed`,
// `ticket.reopened`), counted per ticket by the dashboard through ticket_events_reopened (0020).

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table tickets add column reopened_at timestamptz, add column reopen_count integer not null default 0`.execute(db);
  await sql`alter table sla_alerts add column round integer not null default 0`.execute(db);
  await sql`alter table sla_alerts drop constraint sla_alerts_ticket_stage_kind`.execute(db);
  await sql`alter table sla_alerts add constraint sla_alerts_ticket_round_stage_kind unique (ticket_id, round, stage, kind)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`delete from sla_alerts where round > 0`.execute(db);
  await sql`alter table sla_alerts drop constraint sla_alerts_ticket_round_stage_kind`.execute(db);
  await sql`alter table sla_alerts add constraint sla_alerts_ticket_stage_kind unique (ticket_id, stage, kind)`.execute(db);
  await sql`alter table sla_alerts drop column round`.execute(db);
  await sql`alter table tickets drop column reopened_at, drop column reopen_count`.execute(db);
}
