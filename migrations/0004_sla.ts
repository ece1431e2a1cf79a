import { sql, type Kysely } from 'kysely';

// Frozen: once landed, never edit this file; add a new numbered migration instead.
// SLA: targets per category and priority (minutes from receipt to each stage), and the alerts
// fired for each ticket. The unique key on sla_alerts is what makes a warning or a breach fire
// once, however many times (and on however many processes) a check runs.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('sla_policies')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    // null: any category (the default policy); null priority: any priority
    .addColumn('category_code', 'text', (c) => c.references('categories.code').onDelete('cascade'))
    .addColumn('priority', 'text')
    .addColumn('triage_minutes', 'integer', (c) => c.notNull().defaultTo(15))
    .addColumn('dispatch_minutes', 'integer', (c) => c.notNull().defaultTo(30))
    .addColumn('acknowledge_minutes', 'integer', (c) => c.notNull().defaultTo(60))
    .addColumn('resolve_minutes', 'integer', (c) => c.notNull().defaultTo(120))
    .addColumn('updated_by', 'text')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // nulls not distinct: there is one default row (null, null), not as many as get inserted
    .addUniqueConstraint('sla_policies_category_priority', ['category_code', 'priority'], (u) => u.nullsNotDistinct())
    .addCheckConstraint('sla_policies_minutes_ordered', sql`triage_minutes > 0 and triage_minutes <= dispatch_minutes
      and dispatch_minutes <= acknowledge_minutes and acknowledge_minutes <= resolve_minutes`)
    .execute();
  await sql`insert into sla_policies (category_code, priority) values (null, null)`.execute(db);
  // A database that already had categories with their own resolution target keeps it.
  await sql`insert into sla_policies (category_code, priority, triage_minutes, dispatch_minutes, acknowledge_minutes, resolve_minutes)
    select code, null, least(15, sla_minutes), least(30, sla_minutes), least(60, sla_minutes), sla_minutes
    from categories where sla_minutes <> 120 and sla_minutes > 0`.execute(db);

  await db.schema
    .createTable('sla_alerts')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('ticket_id', 'integer', (c) => c.notNull().references('tickets.id'))
    .addColumn('stage', 'text', (c) => c.notNull().check(sql`stage in ('triage', 'dispatch', 'acknowledge', 'resolve')`))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('warning', 'breach')`))
    .addColumn('due_at', 'timestamptz', (c) => c.notNull())
    .addColumn('fired_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('sla_alerts_ticket_stage_kind', ['ticket_id', 'stage', 'kind'])
    .execute();
  await db.schema.createIndex('sla_alerts_fired').on('sla_alerts').columns(['kind', 'fired_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('sla_alerts').ifExists().execute();
  await db.schema.dropTable('sla_policies').ifExists().execute();
}
