import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newCode } from '../src/core/tickets/codes.ts';
import { recountTicket } from '../src/core/tickets/event-log.ts';
import { AppError } from '../src/core/errors.ts';
import type { DomainEvent } from '../src/core/events.ts';
import { PIPELINE, type PipelineStep } from '../src/core/engine/pipeline.ts';
import { processInbound, processInboundBatch, type Engine, type ProcessDeps } from '../src/core/engine/process-report.ts';
import type { InboundReport } from '../src/core/report-input.ts';
import type { DbHandle } from '../src/db/connect.ts';
import type { Db } from '../src/db/schema.ts';
import { IntakeService, payloadHash, PROCESS_INBOUND_JOB } from '../src/intake/intake-service.ts';
import { createLogger } from '../src/log.ts';
import { loadConfig } from '../src/config.ts';
import { createRuntime, loadEngine, type Runtime } from '../src/runtime.ts';
import { backoffMs, claim, complete, fail, type Job } from '../src/workers/queue.ts';
import { enqueue } from '../src/db/jobs.ts';
import { Worker } from '../src/workers/worker.ts';
import { freshDb, TEST_DB } from './support/db.ts';
import { PLACES } from './support/factories.ts';
import { testRuntime } from './support/runtime.ts';
import { sleep, waitFor } from './support/wait.ts';

// One database for the file. Tests that group reports use places and citizens of their own
// (Sài Gòn for the same citizen, Bến Thành for duplicates); the others send anonymous text
// without a topic, which the pipeline never groups.

let handle: DbHandle;
let db: Db;
let engine: Engine;
let intake: IntakeService;
let enqueuedCalls = 0;
const log = createLogger('silent');

beforeAll(async () => {
  handle = await freshDb();
  db = handle.db;
  engine = await loadEngine(db);
  intake = new IntakeService(db, { onEnqueued: () => enqueuedCalls++ });
});
afterAll(async () => {
  await handle?.close();
});

/** Like the runtime's parse: no channel in these tests stores payloads it cannot parse later. */
const parse = (channel: string): InboundReport => {
  throw new AppError('channel_parse_unavailable', 500, `channel ${channel} cannot parse stored payloads`);
};
const deps = (over: Partial<ProcessDeps> = {}): ProcessDeps => ({ db, engine, parse, ...over });

/** A report with no topic and no place: never grouped with anything. */
const plain = (over: Partial<InboundReport> = {}): InboundReport => ({
  text: 'Đề nghị cơ quan chức năng xem xét giúp người dân', citizen: {}, attachments: [], ...over,
});

const count = async (table: 'inbound_messages' | 'jobs' | 'reports' | 'tickets' | 'citizens' | 'ticket_events') =>
  Number((await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

const jobRow = (id: number) => db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const jobByKey = (kind: string, key: string) =>
  db.selectFrom('jobs').selectAll().where('kind', '=', kind).where('key', '=', key).executeTakeFirstOrThrow();
const inboundRow = (id: number) => db.selectFrom('inbound_messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
/** Makes a job due now, as if its backoff had elapsed. */
const makeDue = (id: number) => db.updateTable('jobs').set({ run_at: sql<Date>`now()` }).where('id', '=', id).execute();

describe('IntakeService.accept', () => {
  it('stores a delivery once, enqueues one job, and answers a second delivery with the first code', async () => {
    const before = { inbound: await count('inbound_messages'), jobs: await count('jobs'), calls: enqueuedCalls };
    const input = { channel: 'app', externalId: 'delivery-1', payload: { text: 'Đèn đường tắt', lat: 10.1 }, report: plain() };
    const first = await intake.accept(input);
    const second = await intake.accept({ ...input, payload: { text: 'Đèn đường tắt', lat: 10.1 } });

    expect(first.replay).toBe(false);
    expect(first.code).toMatch(/^PA-[0-9A-HJKMNP-TV-Z]{8}$/);
    expect(second).toEqual({ ...first, replay: true });
    expect(await count('inbound_messages')).toBe(before.inbound + 1);
    expect(await count('jobs')).toBe(before.jobs + 1);
    expect(enqueuedCalls).toBe(before.calls + 1); // the worker is woken for the new message only

    const row = await inboundRow(first.inboundId);
    expect(row).toMatchObject({ channel: 'app', external_id: 'delivery-1', code: first.code, request_hash: payloadHash(input.payload), processed_at: null });
    expect(row.payload).toEqual(input.payload);
    const job = await jobByKey(PROCESS_INBOUND_JOB, `inbound:${first.inboundId}`);
    expect(job).toMatchObject({ payload: { inboundId: first.inboundId }, attempts: 0, done_at: null, failed_at: null });
  });

  it('refuses the same key with a different payload (idempotency_key_conflict) and writes nothing', async () => {
    const first = await intake.accept({ channel: 'app', externalId: 'delivery-2', payload: { text: 'Rác ở đầu hẻm' }, report: plain() });
    const before = { inbound: await count('inbound_messages'), jobs: await count('jobs') };
    const again = intake.accept({ channel: 'app', externalId: 'delivery-2', payload: { text: 'Một nội dung khác' }, report: plain() });
    await expect(again).rejects.toBeInstanceOf(AppError);
    await expect(intake.accept({ channel: 'app', externalId: 'delivery-2', payload: { text: 'Một nội dung khác' } }))
      .rejects.toMatchObject({ code: 'idempotency_key_conflict', status: 409 });
    expect({ inbound: await count('inbound_messages'), jobs: await count('jobs') }).toEqual(before);
    expect((await inboundRow(first.inboundId)).payload).toEqual({ text: 'Rác ở đầu hẻm' });
  });

  it('treats the same fields in another key order as the same request, but not a reordered list', async () => {
    const payload = { text: 'Cây đổ', citizen: { phone: '0903 000 001', name: 'A' }, photos: ['a.png:10', 'b.png:20'] };
    const first = await intake.accept({ channel: 'app', externalId: 'delivery-3', payload });
    const reordered = { photos: ['a.png:10', 'b.png:20'], citizen: { name: 'A', phone: '0903 000 001' }, text: 'Cây đổ' };
    expect(await intake.accept({ channel: 'app', externalId: 'delivery-3', payload: reordered })).toEqual({ ...first, replay: true });
    const otherList = { ...payload, photos: ['b.png:20', 'a.png:10'] };
    await expect(intake.accept({ channel: 'app', externalId: 'delivery-3', payload: otherList })).rejects.toMatchObject({ code: 'idempotency_key_conflict' });
  });

  it('keys by channel and external id: the same id on another channel is another message', async () => {
    const payload = { body: 'Ngập' };
    const a = await intake.accept({ channel: 'sms', externalId: 'SM123', payload });
    const b = await intake.accept({ channel: 'facebook', externalId: 'SM123', payload });
    expect(b.replay).toBe(false);
    expect(b.inboundId).not.toBe(a.inboundId);
    expect(b.code).not.toBe(a.code);
  });

  it('two deliveries racing store one row; one of them is the replay', async () => {
    const before = await count('inbound_messages');
    const input = { channel: 'app', externalId: 'delivery-race', payload: { text: 'race' }, report: plain() };
    const results = await Promise.all([intake.accept(input), intake.accept(input), intake.accept(input)]);
    expect(results.filter((r) => !r.replay)).toHaveLength(1);
    expect(new Set(results.map((r) => r.code)).size).toBe(1);
    expect(await count('inbound_messages')).toBe(before + 1);
    expect((await db.selectFrom('jobs').select('id').where('key', '=', `inbound:${results[0]!.inboundId}`).execute())).toHaveLength(1);
  });

  it('stores messages that arrive together in one go, each with its own code and job', async () => {
    const before = { inbound: await count('inbound_messages'), jobs: await count('jobs') };
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) =>
      intake.accept({ channel: 'app', externalId: `together-${i}`, payload: { i }, report: plain() })));
    expect(results.every((r) => !r.replay && r.inboundId > 0)).toBe(true);
    expect(new Set(results.map((r) => r.code)).size).toBe(5);
    expect(await count('inbound_messages')).toBe(before.inbound + 5);
    expect(await count('jobs')).toBe(before.jobs + 5);
    const rows = await db.selectFrom('inbound_messages').select(['id', 'code', 'external_id']).where('id', 'in', results.map((r) => r.inboundId)).orderBy('id').execute();
    expect(rows.map((r) => [r.external_id, r.code])).toEqual(results.map((r, i) => [`together-${i}`, r.code]));
  });

  it('a message the database refuses fails alone; the others that arrived with it are stored', async () => {
    const before = await count('inbound_messages');
    // A NUL in a payload is stored now (jsonParam); a constraint stands for anything else the
    // database could refuse in one message of a group.
    await sql`alter table inbound_messages add constraint test_refuse_one check (external_id <> 'group-bad')`.execute(db);
    try {
      const outcomes = await Promise.allSettled([
        intake.accept({ channel: 'app', externalId: 'group-ok-1', payload: { t: 'ok' }, report: plain() }),
        intake.accept({ channel: 'app', externalId: 'group-bad', payload: { t: 'a\u0000b' }, report: plain() }),
        intake.accept({ channel: 'app', externalId: 'group-ok-2', payload: { t: 'a\u0000b' }, report: plain() }),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    } finally {
      await sql`alter table inbound_messages drop constraint test_refuse_one`.execute(db);
    }
    expect(await count('inbound_messages')).toBe(before + 2);
    const stored = await db.selectFrom('inbound_messages').select(['external_id', 'payload']).where('external_id', 'like', 'group-%').orderBy('external_id').execute();
    expect(stored).toEqual([{ external_id: 'group-ok-1', payload: { t: 'ok' } }, { external_id: 'group-ok-2', payload: { t: 'a\ufffdb' } }]);
  });
});

describe('processInbound', () => {
  it('is idempotent: processing one message twice gives one report on the same ticket', async () => {
    const accepted = await intake.accept({
      channel: 'app', externalId: 'process-twice', payload: { n: 1 },
      report: { text: 'Rác thải đổ bừa bãi trước chợ', lat: PLACES.binhTay.lat, lng: PLACES.binhTay.lng, citizen: {}, attachments: [] },
    });
    const first = await processInbound(deps(), accepted.inboundId);
    const eventsAfterFirst = await count('ticket_events');
    const second = await processInbound(deps(), accepted.inboundId);

    expect(first.state).not.toBeNull();
    expect(first.events.map((e) => e.type)).toContain('ticket.created');
    expect(second).toEqual({ inboundId: accepted.inboundId, reportId: first.reportId, ticketId: first.ticketId, state: null, events: [] });
    const reports = await db.selectFrom('reports').select(['id', 'code', 'ticket_id']).where('inbound_id', '=', accepted.inboundId).execute();
    expect(reports).toEqual([{ id: first.reportId, code: accepted.code, ticket_id: first.ticketId }]);
    expect(await count('ticket_events')).toBe(eventsAfterFirst);
    const ticket = await db.selectFrom('tickets').select(['report_count', 'reporter_count']).where('id', '=', first.ticketId).executeTakeFirstOrThrow();
    expect(ticket).toEqual({ report_count: 1, reporter_count: 1 });
    const inbound = await inboundRow(accepted.inboundId);
    expect(inbound.report_id).toBe(first.reportId);
    expect(inbound.processed_at).toBeInstanceOf(Date);
  });

  it('two workers processing one message at once still make one report', async () => {
    const accepted = await intake.accept({ channel: 'app', externalId: 'process-race', payload: { n: 2 }, report: plain() });
    const [a, b] = await Promise.all([processInbound(deps(), accepted.inboundId), processInbound(deps(), accepted.inboundId)]);
    expect(a.reportId).toBe(b.reportId);
    expect(a.ticketId).toBe(b.ticketId);
    expect([a.state, b.state].filter((s) => s !== null)).toHaveLength(1);
    expect(await db.selectFrom('reports').select('id').where('inbound_id', '=', accepted.inboundId).execute()).toHaveLength(1);
  });

  it('a failing step writes nothing: no report, ticket, citizen or identity', async () => {
    const accepted = await intake.accept({
      channel: 'app', externalId: 'process-fails', payload: { n: 3 }, report: plain({ citizen: { phone: '0912 000 333' } }),
    });
    const before = { reports: await count('reports'), tickets: await count('tickets'), citizens: await count('citizens') };
    const boom: PipelineStep = { name: 'boom', run: () => { throw new Error('geocoder down'); } };
    await expect(processInbound(deps({ steps: [...PIPELINE, boom] }), accepted.inboundId)).rejects.toThrow('geocoder down');
    expect({ reports: await count('reports'), tickets: await count('tickets'), citizens: await count('citizens') }).toEqual(before);
    expect(await db.selectFrom('citizen_identities').select('id').where('value', '=', '+84912000333').execute()).toEqual([]);
    expect((await inboundRow(accepted.inboundId)).processed_at).toBeNull();
  });

  it('refuses an unknown inbound id with inbound_not_found', async () => {
    await expect(processInbound(deps(), 987_654)).rejects.toMatchObject({ code: 'inbound_not_found' });
  });
});

describe('job queue', () => {
  it('enqueues a keyed job once', async () => {
    await enqueue(db, 'test.keyed', { n: 1 }, { key: 'k1' });
    await enqueue(db, 'test.keyed', { n: 2 }, { key: 'k1' });
    await enqueue(db, 'test.keyed', { n: 3 }); // no key: never deduplicated
    await enqueue(db, 'test.keyed', { n: 4 });
    const rows = await db.selectFrom('jobs').select(['key', 'payload']).where('kind', '=', 'test.keyed').orderBy('id').execute();
    expect(rows).toEqual([{ key: 'k1', payload: { n: 1 } }, { key: null, payload: { n: 3 } }, { key: null, payload: { n: 4 } }]);
  });

  it('backoffMs doubles from about 1 s, with jitter, up to about 10 minutes', () => {
    for (let attempt = 1; attempt <= 14; attempt++) {
      const base = Math.min(600_000, 1000 * 2 ** (attempt - 1));
      for (let i = 0; i < 50; i++) {
        const ms = backoffMs(attempt);
        expect(ms).toBeGreaterThanOrEqual(base * 0.8);
        expect(ms).toBeLessThanOrEqual(base * 1.2);
      }
    }
    // Up to the cap, the longest wait of one attempt is shorter than the shortest of the next.
    for (let attempt = 1; attempt < 10; attempt++) {
      expect(1.2 * 1000 * 2 ** (attempt - 1)).toBeLessThan(0.8 * 1000 * 2 ** attempt);
    }
    expect(backoffMs(50)).toBeLessThanOrEqual(720_000);
  });

  it('claims only due jobs of the asked kinds, oldest first, up to the limit', async () => {
    await enqueue(db, 'test.due', { n: 'later' }, { runAt: new Date(Date.now() + 3_600_000) });
    await enqueue(db, 'test.due', { n: 'second' }, { runAt: new Date(Date.now() - 1_000) });
    await enqueue(db, 'test.due', { n: 'first' }, { runAt: new Date(Date.now() - 60_000) });
    await enqueue(db, 'test.other', { n: 'other kind' });
    const one = await claim(db, 'w1', 1, ['test.due']);
    expect(one.map((j) => j.payload)).toEqual([{ n: 'first' }]);
    const rest = await claim(db, 'w1', 10, ['test.due']);
    expect(rest.map((j) => j.payload)).toEqual([{ n: 'second' }]);
    expect(rest[0]).toMatchObject({ kind: 'test.due', attempts: 1, max_attempts: 10 });
    expect(await claim(db, 'w1', 10, ['test.due'])).toEqual([]);
  });

  it('claims nothing for an empty list of kinds', async () => {
    await enqueue(db, 'test.nokind', {});
    await expect(claim(db, 'w1', 10, [])).resolves.toEqual([]);
  });

  it('never hands one job to two claimers at once (FOR UPDATE SKIP LOCKED)', async () => {
    const total = 40;
    for (let i = 0; i < total; i++) await enqueue(db, 'test.claim', { i });
    const ids = (await db.selectFrom('jobs').select('id').where('kind', '=', 'test.claim').execute()).map((r) => r.id);
    const seen: number[] = [];
    const byWorker = new Map<number, string>();
    for (let round = 0; round < total; round++) {
      const claimers = ['a', 'b', 'c', 'd'];
      const batches = await Promise.all(claimers.map((w) => claim(db, w, 3, ['test.claim'])));
      batches.forEach((jobs, i) => jobs.forEach((j) => { seen.push(j.id); byWorker.set(j.id, claimers[i]!); }));
      if (batches.every((b) => b.length === 0)) break;
    }
    expect(seen.length).toBe(new Set(seen).size); // no job twice
    expect([...seen].sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b)); // every job once
    const locks = await db.selectFrom('jobs').select(['id', 'locked_by', 'attempts']).where('kind', '=', 'test.claim').execute();
    for (const l of locks) {
      expect(l.locked_by).toBe(byWorker.get(l.id));
      expect(l.attempts).toBe(1);
    }
  });

  it('leases a claimed job: nobody else gets it until the lease runs out', async () => {
    await enqueue(db, 'test.lease', {}, { key: 'lease' });
    const [job] = await claim(db, 'w-dead', 1, ['test.lease']);
    expect(job).toBeDefined();
    expect(await claim(db, 'w-other', 1, ['test.lease'])).toEqual([]);
    await db.updateTable('jobs').set({ locked_until: sql<Date>`now() - interval '1 second'` }).where('id', '=', job!.id).execute();
    const [again] = await claim(db, 'w-other', 1, ['test.lease']);
    expect(again).toMatchObject({ id: job!.id, attempts: 2 });
    expect((await jobRow(job!.id)).locked_by).toBe('w-other');
  });

  it('fail() keeps the error and pushes the job back; complete() marks it done', async () => {
    await enqueue(db, 'test.fail', {}, { key: 'fail', maxAttempts: 2 });
    const [j1] = await claim(db, 'w', 1, ['test.fail']);
    const long = `Error: ${'x'.repeat(5000)}`;
    const t0 = Date.now();
    expect(await fail(db, j1!, long)).toBe('retry');
    let row = await jobRow(j1!.id);
    expect(row.last_error).toBe(long.slice(0, 2000));
    expect(row).toMatchObject({ locked_by: null, locked_until: null, failed_at: null, done_at: null, attempts: 1 });
    expect(row.run_at.getTime() - t0).toBeGreaterThanOrEqual(800);
    expect(await claim(db, 'w', 1, ['test.fail'])).toEqual([]); // not due during its backoff

    await makeDue(j1!.id);
    const [j2] = await claim(db, 'w', 1, ['test.fail']);
    expect(j2!.attempts).toBe(2);
    expect(await fail(db, j2!, 'Error: still broken')).toBe('failed');
    row = await jobRow(j1!.id);
    expect(row.failed_at).toBeInstanceOf(Date);
    expect(row.last_error).toBe('Error: still broken');

    await enqueue(db, 'test.complete', {}, { key: 'complete' });
    const [c] = await claim(db, 'w', 1, ['test.complete']);
    await complete(db, c!.id);
    expect(await jobRow(c!.id)).toMatchObject({ locked_by: null, last_error: null, failed_at: null, done_at: expect.any(Date) });
  });
});

describe('Worker', () => {
  it('retries a message whose processing fails, with growing backoff, until it becomes a ticket', async () => {
    const accepted = await intake.accept({
      channel: 'app', externalId: 'worker-flaky', payload: { n: 4 }, report: plain({ citizen: { phone: '0912 000 444' } }),
    });
    // A step that fails twice (a geocoder or classifier that is down), then works.
    let calls = 0;
    const flaky: PipelineStep = { name: 'flaky', run: () => { calls++; if (calls <= 2) throw new Error(`flaky step failed (${calls})`); } };
    const kind = 'test.inbound-flaky';
    await enqueue(db, kind, { inboundId: accepted.inboundId }, { key: `inbound:${accepted.inboundId}` });
    const job = await jobByKey(kind, `inbound:${accepted.inboundId}`);
    const worker = new Worker({
      db, log, concurrency: 2, pollMs: 10,
      handlers: { [kind]: async (j: Job) => { await processInbound(deps({ steps: [...PIPELINE, flaky] }), Number(j.payload.inboundId)); } },
    });
    const settled = (attempts: number) => waitFor(`attempt ${attempts}`, async () => {
      const r = await jobRow(job.id);
      return r.attempts === attempts && r.locked_by === null && (r.last_error !== null || r.done_at !== null) && r;
    });
    // A failure at time t sets run_at = t + backoff; bracketing t between two clock readings
    // bounds the backoff whatever the machine's speed.
    const backoffOf = (runAt: Date, before: number, after: number) => ({ atLeast: runAt.getTime() - after, atMost: runAt.getTime() - before });
    let before = Date.now();
    worker.start();
    try {
      const after1 = await settled(1);
      const b1 = backoffOf(after1.run_at, before, Date.now());
      expect(after1.last_error).toBe('Error: flaky step failed (1)');
      expect(after1).toMatchObject({ done_at: null, failed_at: null, locked_until: null });
      expect(b1.atMost).toBeGreaterThanOrEqual(800); // about 1 s for the first retry
      expect(b1.atLeast).toBeLessThanOrEqual(1200);
      // Nothing of the failed attempt remains, and the message waits for the retry.
      expect(await db.selectFrom('reports').select('id').where('inbound_id', '=', accepted.inboundId).execute()).toEqual([]);
      expect(await db.selectFrom('citizen_identities').select('id').where('value', '=', '+84912000444').execute()).toEqual([]);
      await sleep(50);
      expect((await jobRow(job.id)).attempts).toBe(1); // not retried before its time

      before = Date.now();
      await makeDue(job.id);
      const after2 = await settled(2);
      const b2 = backoffOf(after2.run_at, before, Date.now());
      expect(after2.last_error).toBe('Error: flaky step failed (2)');
      expect(b2.atMost).toBeGreaterThanOrEqual(1600); // about 2 s for the second
      expect(b2.atLeast).toBeLessThanOrEqual(2400);
      expect(b2.atLeast).toBeGreaterThan(b1.atMost); // the wait grew (by at least 400 ms, more than any latency here)

      await makeDue(job.id);
      const done = await waitFor('the job to finish', async () => (await jobRow(job.id)).done_at !== null && jobRow(job.id));
      expect(done).toMatchObject({ attempts: 3, last_error: null, failed_at: null, locked_by: null });
    } finally {
      await worker.stop();
    }
    expect(calls).toBe(3);
    const report = await db.selectFrom('reports').select(['code', 'ticket_id', 'citizen_id']).where('inbound_id', '=', accepted.inboundId).executeTakeFirstOrThrow();
    expect(report.code).toBe(accepted.code);
    expect(await db.selectFrom('tickets').select('id').where('id', '=', report.ticket_id).execute()).toHaveLength(1);
    expect(await db.selectFrom('citizen_identities').select('citizen_id').where('value', '=', '+84912000444').execute()).toEqual([{ citizen_id: report.citizen_id }]);
  });

  it('parks a job that reaches max_attempts as failed, and keeps it', async () => {
    const kind = 'test.always-fails';
    await enqueue(db, kind, { to: 'provider' }, { key: 'park', maxAttempts: 2 });
    const job = await jobByKey(kind, 'park');
    let calls = 0;
    const worker = new Worker({ db, log, pollMs: 10, handlers: { [kind]: async () => { calls++; throw new Error('provider down'); } } });
    worker.start();
    try {
      await waitFor('first failure', async () => (await jobRow(job.id)).last_error !== null);
      await makeDue(job.id);
      const parked = await waitFor('the job to be parked', async () => { const r = await jobRow(job.id); return r.failed_at !== null && r; });
      expect(parked).toMatchObject({ attempts: 2, max_attempts: 2, last_error: 'Error: provider down', done_at: null, locked_by: null });
      // Parked for good: even when due again, no worker takes it.
      await db.updateTable('jobs').set({ run_at: sql<Date>`now() - interval '1 hour'` }).where('id', '=', job.id).execute();
      await sleep(100);
      expect(calls).toBe(2);
      expect(await claim(db, 'w-x', 10, [kind])).toEqual([]);
    } finally {
      await worker.stop();
    }
    expect(await jobRow(job.id)).toMatchObject({ id: job.id, failed_at: expect.any(Date) });
  });

  it('keeps extending the lease of a job that runs longer than it, so no other worker takes it meanwhile', async () => {
    const kind = 'test.long-job';
    await enqueue(db, kind, {}, { key: 'long' });
    const job = await jobByKey(kind, 'long');
    let runs = 0;
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    // A 1 s lease, extended every 250 ms by the heartbeat, under a job that takes 3 s.
    const worker = new Worker({ db, log, pollMs: 10, leaseSeconds: 1, handlers: { [kind]: async () => { runs++; await held; } } });
    worker.start();
    try {
      await waitFor('the job to start', async () => runs === 1);
      const stolen: number[] = [];
      for (let i = 0; i < 12; i++) {
        await sleep(250);
        stolen.push(...(await claim(db, 'w-other', 1, [kind], 1)).map((j) => j.id));
      }
      expect(stolen).toEqual([]);
      expect((await jobRow(job.id)).locked_by).toBe(worker.id);
      release();
      await waitFor('the job to finish', async () => (await jobRow(job.id)).done_at !== null);
    } finally {
      release();
      await worker.stop();
    }
    expect(runs).toBe(1);
  });

  it('takes over, within the lease, a job whose worker died while running it', async () => {
    const kind = 'test.orphan';
    await enqueue(db, kind, {}, { key: 'orphan' });
    const [dead] = await claim(db, 'w-killed', 1, [kind], 1); // claimed, then its process was killed: no heartbeat
    expect(dead).toBeDefined();
    let ranAt = 0;
    const claimedAt = Date.now();
    const worker = new Worker({ db, log, pollMs: 50, leaseSeconds: 1, handlers: { [kind]: async () => { ranAt = Date.now(); } } });
    worker.start();
    try {
      const done = await waitFor('the orphaned job to be done', async () => { const r = await jobRow(dead!.id); return r.done_at !== null && r; }, 10_000);
      expect(done).toMatchObject({ attempts: 2, locked_by: null });
      expect(ranAt - claimedAt).toBeGreaterThanOrEqual(900); // not before its lease ended
    } finally {
      await worker.stop();
    }
  });

  it('two workers on one queue run every job exactly once', async () => {
    const kind = 'test.fanout';
    for (let i = 0; i < 30; i++) await enqueue(db, kind, { i });
    const runs: number[] = [];
    const handler = async (j: Job) => { runs.push(Number(j.payload.i)); await sleep(2); };
    const w1 = new Worker({ db, log, concurrency: 3, pollMs: 10, handlers: { [kind]: handler } });
    const w2 = new Worker({ db, log, concurrency: 3, pollMs: 10, handlers: { [kind]: handler } });
    w1.start();
    w2.start();
    try {
      await waitFor('all jobs done', async () => {
        const left = await db.selectFrom('jobs').select('id').where('kind', '=', kind).where('done_at', 'is', null).execute();
        return left.length === 0;
      });
    } finally {
      await Promise.all([w1.stop(), w2.stop()]);
    }
    expect([...runs].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it('runs a batched kind in full batches, and after a failed batch runs its jobs alone so only the bad one fails', async () => {
    const kind = 'test.batched';
    for (let i = 0; i < 7; i++) await enqueue(db, kind, { i, poison: i === 4 });
    const batches: number[][] = [];
    const alone: number[] = [];
    const worker = new Worker({
      db, log, concurrency: 1, pollMs: 10,
      batches: {
        [kind]: {
          size: 3,
          run: async (jobs) => {
            batches.push(jobs.map((j) => Number(j.payload.i)));
            if (jobs.some((j) => j.payload.poison)) throw new Error('one bad job in the batch');
          },
        },
      },
      handlers: {
        [kind]: async (j: Job) => {
          alone.push(Number(j.payload.i));
          if (j.payload.poison) throw new Error('poison');
        },
      },
    });
    worker.start();
    try {
      await waitFor('every job settled', async () => {
        const rows = await db.selectFrom('jobs').select(['done_at', 'last_error']).where('kind', '=', kind).execute();
        return rows.every((r) => r.done_at !== null || r.last_error !== null);
      });
    } finally {
      await worker.stop();
    }
    // 7 jobs in batches of at most 3, in order: [0 1 2] [3 4 5] [6] (the last alone: a batch of one).
    expect(batches).toEqual([[0, 1, 2], [3, 4, 5]]);
    expect(alone).toEqual([3, 4, 5, 6]);
    const rows = await db.selectFrom('jobs').select(['payload', 'done_at', 'last_error', 'attempts']).where('kind', '=', kind).orderBy('id').execute();
    expect(rows.map((r) => [r.payload.i, r.done_at !== null, r.last_error])).toEqual([
      [0, true, null], [1, true, null], [2, true, null], [3, true, null], [4, false, 'Error: poison'], [5, true, null], [6, true, null],
    ]);
    expect(rows[4]!.attempts).toBe(1);
  });
});

describe('the runtime inbound handler', () => {
  // Built before the test, under the hook timeout: on a busy machine a runtime's start (a fresh
  // database, the topic model) took most of the test's own 30 s, and the test timed out.
  let rt: Runtime;
  beforeAll(async () => {
    rt = await testRuntime();
  });
  afterAll(async () => {
    await rt?.close();
  });

  it('keeps the error on a message it cannot process, retries its job, and makes a ticket once it can', async () => {
    {
      const rdb = rt.handle.db;
      const published: DomainEvent[] = [];
      rt.events.on('*', (e) => published.push(e));
      // A message stored raw by a channel that is not (or no longer) installed: parse throws.
      const inbound = await rdb.insertInto('inbound_messages').values({
        channel: 'nochannel', external_id: 'nc-1', code: newCode('PA'), payload: JSON.stringify({ raw: 'Ngập nước' }),
        report: null, request_hash: null, received_at: new Date(),
      }).returning(['id', 'code']).executeTakeFirstOrThrow();
      await enqueue(rdb, PROCESS_INBOUND_JOB, { inboundId: inbound.id }, { key: `inbound:${inbound.id}` });
      const job = await rdb.selectFrom('jobs').select('id').where('key', '=', `inbound:${inbound.id}`).executeTakeFirstOrThrow();
      const state = async () => ({
        inbound: await rdb.selectFrom('inbound_messages').select(['error', 'attempts', 'processed_at', 'report_id']).where('id', '=', inbound.id).executeTakeFirstOrThrow(),
        job: await rdb.selectFrom('jobs').selectAll().where('id', '=', job.id).executeTakeFirstOrThrow(),
      });

      rt.worker.wake();
      await rt.worker.idle();
      let s = await state();
      expect(s.inbound).toEqual({ error: 'channel nochannel cannot parse stored payloads', attempts: 1, processed_at: null, report_id: null });
      expect(s.job).toMatchObject({ attempts: 1, done_at: null, failed_at: null });
      expect(s.job.last_error).toContain('channel nochannel cannot parse stored payloads');
      expect(s.job.run_at.getTime()).toBeGreaterThan(Date.now());

      await rdb.updateTable('jobs').set({ run_at: sql<Date>`now()` }).where('id', '=', job.id).execute();
      rt.worker.wake();
      await rt.worker.idle();
      s = await state();
      expect(s.inbound).toMatchObject({ error: 'channel nochannel cannot parse stored payloads', attempts: 2, processed_at: null });
      expect(s.job).toMatchObject({ attempts: 2, failed_at: null, done_at: null });
      expect(published).toEqual([]);

      // An operator supplies the normalised report (as a channel that validates up front would).
      const report: InboundReport = { text: 'Nước ngập sâu trước chợ Bến Thành', lat: PLACES.benThanh.lat, lng: PLACES.benThanh.lng, citizen: {}, attachments: [] };
      await rdb.updateTable('inbound_messages').set({ report: JSON.stringify(report) }).where('id', '=', inbound.id).execute();
      await rdb.updateTable('jobs').set({ run_at: sql<Date>`now()` }).where('id', '=', job.id).execute();
      rt.worker.wake();
      await rt.worker.idle();
      s = await state();
      expect(s.inbound.error).toBeNull();
      expect(s.inbound.processed_at).toBeInstanceOf(Date);
      expect(s.job).toMatchObject({ attempts: 3, last_error: null, failed_at: null, done_at: expect.any(Date) });
      const stored = await rdb.selectFrom('reports').innerJoin('tickets', 'tickets.id', 'reports.ticket_id')
        .select(['reports.id', 'reports.code', 'reports.channel', 'tickets.area_code']).where('reports.inbound_id', '=', inbound.id).executeTakeFirstOrThrow();
      expect(stored).toMatchObject({ id: s.inbound.report_id, code: inbound.code, channel: 'nochannel', area_code: PLACES.benThanh.code });
      expect(published.map((e) => e.type)).toContain('ticket.created');
      const status = await rt.app.request(`/api/v1/reports/${inbound.code}`);
      expect(status.status).toBe(200);
    }
  });
});

describe('grouping across channels and citizens', () => {
  it('one citizen writing the same phone two ways, by app and by email, is one citizen on one ticket', async () => {
    const app = await intake.accept({
      channel: 'app', externalId: 'sc-app-1', payload: { text: 'app' },
      report: {
        text: 'Nước ngập sâu trước nhà, xe máy chết máy', category: 'ngap_nuoc', lat: PLACES.saiGon.lat, lng: PLACES.saiGon.lng,
        citizen: { phone: '0903 123 456', name: 'Trần Văn Một' }, attachments: [],
      },
    });
    const first = await processInbound(deps(), app.inboundId);
    const email = await intake.accept({
      channel: 'email', externalId: '<a1b2@mail.example.vn>', payload: { from: 'tran.mot@example.vn', subject: 'Ngập' },
      report: {
        text: 'Lại ngập nước sâu trước nhà tôi, đề nghị xử lý', address: 'số 5 đường Lê Lợi, Phường Sài Gòn',
        citizen: { phone: '+84903123456', email: 'Tran.Mot@Example.vn', name: 'Trần Văn Một' }, attachments: [],
      },
    });
    const second = await processInbound(deps(), email.inboundId);

    expect(second.ticketId).toBe(first.ticketId);
    expect(second.state?.group.relation).toBe('same_citizen');
    expect(second.state?.reasons.map((r) => r.code)).toEqual(expect.arrayContaining(['citizen_known', 'same_citizen']));
    expect(second.events.map((e) => e.type)).toEqual(['report.grouped']);
    const reports = await db.selectFrom('reports').select(['channel', 'citizen_id', 'relation', 'area_code'])
      .where('inbound_id', 'in', [app.inboundId, email.inboundId]).orderBy('id').execute();
    expect(reports.map((r) => [r.channel, r.relation, r.area_code])).toEqual([['app', 'new', PLACES.saiGon.code], ['email', 'same_citizen', PLACES.saiGon.code]]);
    const citizenId = reports[0]!.citizen_id;
    expect(citizenId).not.toBeNull();
    expect(reports[1]!.citizen_id).toBe(citizenId);
    const phoneRows = await db.selectFrom('citizen_identities').select('citizen_id').where('kind', '=', 'phone').where('value', '=', '+84903123456').execute();
    expect(phoneRows).toEqual([{ citizen_id: citizenId }]);
    const identities = await db.selectFrom('citizen_identities').select(['kind', 'value']).where('citizen_id', '=', citizenId!).orderBy('kind').execute();
    expect(identities).toEqual([{ kind: 'email', value: 'tran.mot@example.vn' }, { kind: 'phone', value: '+84903123456' }]);
    const ticket = await db.selectFrom('tickets').select(['report_count', 'reporter_count']).where('id', '=', first.ticketId).executeTakeFirstOrThrow();
    expect(ticket).toEqual({ report_count: 2, reporter_count: 1 });
  });

  it('a ticket whose words named no unit for sure is found by its street, and takes the unit of the next report that is sure of one', async () => {
    const sms = await intake.accept({
      channel: 'sms', externalId: 'street-only-1', payload: { id: 1 },
      // A street the city's list lacks: no unit, not even candidates.
      report: { text: 'Cây ngã chắn ngang đường Kỳ Lân Mới, xe không qua được', citizen: { phone: '0905 111 222' }, attachments: [] },
    });
    const first = await processInbound(deps(), sms.inboundId);
    expect(first.state?.area).toMatchObject({ code: null, candidates: [] });
    const app = await intake.accept({
      channel: 'app', externalId: 'street-only-2', payload: { id: 2 },
      report: { text: 'Cây đổ chắn đường', category: 'cay_xanh', address: 'đường Kỳ Lân Mới', lat: PLACES.saiGon.lat, lng: PLACES.saiGon.lng, citizen: { phone: '0905 333 444' }, attachments: [] },
    });
    const second = await processInbound(deps(), app.inboundId);
    expect(second.ticketId).toBe(first.ticketId);
    expect(second.state?.reasons.find((r) => r.code === 'duplicate')?.message).toContain('its unit unknown');
    const ticket = await db.selectFrom('tickets').select(['area_code', 'lat']).where('id', '=', first.ticketId).executeTakeFirstOrThrow();
    expect(ticket).toEqual({ area_code: PLACES.saiGon.code, lat: PLACES.saiGon.lat });
    // The first report is routed with its ticket now, and says why.
    const opener = await db.selectFrom('reports').select(['area_code', 'area_source', 'reasons']).where('id', '=', first.reportId).executeTakeFirstOrThrow();
    expect(opener).toMatchObject({ area_code: PLACES.saiGon.code, area_source: 'ticket' });
    expect(opener.reasons.at(-1)).toEqual({ step: 'group', code: 'area_from_ticket_later', message: `unit its ticket got from a later report: ${PLACES.saiGon.code}` });
  });

  it('a ticket whose words left several units keeps them, and a report in one of them on the same street days later finds it', async () => {
    const sms = await intake.accept({
      channel: 'sms', externalId: 'candidates-1', payload: { id: 1 },
      // Tô Ký runs through two of the former district's units (the city's street table).
      report: { text: 'Rac do thanh dong tren duong To Ky Q12, boc mui hoi', citizen: { phone: '0905 555 666' }, attachments: [] },
    });
    const first = await processInbound(deps(), sms.inboundId);
    expect(first.state?.area.code).toBeNull();
    const stored = await db.selectFrom('tickets').select(['area_code', 'area_candidates']).where('id', '=', first.ticketId).executeTakeFirstOrThrow();
    expect(stored.area_code).toBeNull();
    expect(stored.area_candidates).toEqual(first.state?.area.candidates);
    expect(stored.area_candidates).toEqual(expect.arrayContaining(['26791', '26785']));
    expect(stored.area_candidates).toHaveLength(2);
    const at = new Date(Date.now() + 3 * 24 * 3_600_000);
    const app = await intake.accept({
      channel: 'app', externalId: 'candidates-2', payload: { id: 2 }, receivedAt: at,
      report: { text: 'Rác chất đống chưa ai dọn', category: 'rac_thai', address: 'Tô Ký', lat: 10.846, lng: 106.632, citizen: { phone: '0905 777 888' }, attachments: [] },
    });
    const second = await processInbound(deps(), app.inboundId);
    expect(second.ticketId).toBe(first.ticketId);
    expect(second.state?.reasons.find((r) => r.code === 'duplicate')?.message).toContain('one of its units');
    const after = await db.selectFrom('tickets').select(['area_code', 'area_candidates']).where('id', '=', first.ticketId).executeTakeFirstOrThrow();
    expect(after).toEqual({ area_code: '26791', area_candidates: null });
    const opener = await db.selectFrom('reports').select('area_code').where('id', '=', first.reportId).executeTakeFirstOrThrow();
    expect(opener.area_code).toBe('26791');
  });

  it('in one batch, a report that places the ticket routes the reports before it', async () => {
    const at = (min: number) => new Date(Date.UTC(2026, 10, 2, 1, min));
    // A street the city's list lacks: the words give no unit, not even candidates.
    const reports: InboundReport[] = [
      { text: 'Cây ngã chắn ngang đường Kỳ Lân Cũ, xe không qua được', category: 'cay_xanh', citizen: { phone: '0906 100 001' }, attachments: [] },
      { text: 'Cay do chan duong Ky Lan Cu', category: 'cay_xanh', citizen: { phone: '0906 100 002' }, attachments: [] },
      { text: 'Cây đổ chắn đường', category: 'cay_xanh', address: 'đường Kỳ Lân Cũ', lat: PLACES.saiGon.lat, lng: PLACES.saiGon.lng, citizen: { phone: '0906 100 003' }, attachments: [] },
    ];
    const ids: number[] = [];
    for (const [k, report] of reports.entries()) {
      ids.push((await intake.accept({ channel: 'sms', externalId: `placed-later-${k}`, payload: { k }, receivedAt: at(k * 5), report })).inboundId);
    }
    const { results } = await processInboundBatch(deps(), ids);
    expect(new Set(results.map((r) => r.ticketId)).size).toBe(1);
    const rows = await db.selectFrom('reports').select(['area_code', 'reasons']).where('id', 'in', results.map((r) => r.reportId)).orderBy('id').execute();
    expect(rows.map((r) => r.area_code)).toEqual(Array(3).fill(PLACES.saiGon.code));
    const codes = rows.map((r) => r.reasons.map((x) => x.code).filter((c) => c.startsWith('area_from_ticket')));
    expect(codes).toEqual([['area_from_ticket_later'], ['area_from_ticket_later'], []]);
    const ticket = await db.selectFrom('tickets').select('area_code').where('id', '=', results[0]!.ticketId).executeTakeFirstOrThrow();
    expect(ticket.area_code).toBe(PLACES.saiGon.code);
  });

  it('routes no earlier report when the ticket took another unit first (another session, an agent, a guess)', async () => {
    const sms = await intake.accept({
      channel: 'sms', externalId: 'raced-1', payload: { id: 1 },
      report: { text: 'Cột đèn đường Kỳ Lân Giữa không sáng, tối om', category: 'chieu_sang', citizen: { phone: '0906 200 001' }, attachments: [] },
    });
    const first = await processInbound(deps(), sms.inboundId);
    expect(first.state?.area.code).toBeNull();
    // Between this batch's grouping and its writes, the ticket gets Bến Thành elsewhere.
    const elsewhere: PipelineStep = {
      name: 'elsewhere',
      async run(_batch, d) {
        await d.db.updateTable('tickets').set({ area_code: PLACES.benThanh.code }).where('id', '=', first.ticketId).execute();
      },
    };
    const app = await intake.accept({
      channel: 'app', externalId: 'raced-2', payload: { id: 2 },
      report: { text: 'Đèn đường không sáng', category: 'chieu_sang', address: 'đường Kỳ Lân Giữa', lat: PLACES.saiGon.lat, lng: PLACES.saiGon.lng, citizen: { phone: '0906 200 002' }, attachments: [] },
    });
    const second = await processInbound(deps({ steps: [...PIPELINE, elsewhere] }), app.inboundId);
    expect(second.ticketId).toBe(first.ticketId);
    expect(second.state?.group.placesTicket).toBe(true);
    const ticket = await db.selectFrom('tickets').select('area_code').where('id', '=', first.ticketId).executeTakeFirstOrThrow();
    expect(ticket.area_code).toBe(PLACES.benThanh.code);
    const opener = await db.selectFrom('reports').select(['area_code', 'reasons']).where('id', '=', first.reportId).executeTakeFirstOrThrow();
    expect(opener.area_code).toBeNull();
    expect(opener.reasons.map((r) => r.code)).not.toContain('area_from_ticket_later');
  });

  it.runIf(TEST_DB === 'postgres')('skips, without waiting, an earlier report another session holds (an agent moving it), and routes the others', async () => {
    const at = (min: number) => new Date(Date.UTC(2026, 10, 3, 1, min));
    const ids: number[] = [];
    for (const [k, text] of ['Công trình xây dựng không phép trên đường Kỳ Lân Dưới', 'Xay dung trai phep tren duong Ky Lan Duoi'].entries()) {
      ids.push((await intake.accept({ channel: 'sms', externalId: `held-${k}`, payload: { k }, receivedAt: at(k), report: { text, category: 'xay_dung', citizen: { phone: `0906 300 00${k}` }, attachments: [] } })).inboundId);
    }
    const earlier = (await processInboundBatch(deps(), ids)).results;
    expect(new Set(earlier.map((r) => r.ticketId)).size).toBe(1);
    const other = new pg.Client({ connectionString: (handle as { url?: string }).url });
    await other.connect();
    try {
      await other.query('begin');
      await other.query('select id from reports where id = $1 for update', [earlier[0]!.reportId]);
      const app = await intake.accept({
        channel: 'app', externalId: 'held-2', payload: { k: 2 }, receivedAt: at(5),
        report: { text: 'Công trình xây không phép', category: 'xay_dung', address: 'đường Kỳ Lân Dưới', lat: PLACES.saiGon.lat, lng: PLACES.saiGon.lng, citizen: { phone: '0906 300 009' }, attachments: [] },
      });
      const placing = await processInbound(deps(), app.inboundId);
      expect(placing.ticketId).toBe(earlier[0]!.ticketId);
    } finally {
      await other.query('rollback');
      await other.end();
    }
    const rows = await db.selectFrom('reports').select(['id', 'area_code']).where('id', 'in', earlier.map((r) => r.reportId)).orderBy('id').execute();
    expect(rows.map((r) => r.area_code)).toEqual([null, PLACES.saiGon.code]);
  });

  it('joins nearby reports from different citizens on one incident, and keeps other topics and far places apart', async () => {
    const metresNorth = (m: number) => m / 111_195;
    const metresEast = (m: number) => m / (111_195 * Math.cos((PLACES.benThanh.lat * Math.PI) / 180));
    const send = async (id: string, text: string, lat: number, lng: number, phone: string) => {
      const a = await intake.accept({ channel: 'app', externalId: id, payload: { id }, report: { text, lat, lng, citizen: { phone }, attachments: [] } });
      return processInbound(deps(), a.inboundId);
    };
    const { lat, lng } = PLACES.benThanh;
    const flood = 'Nước ngập sâu trước chợ Bến Thành, xe máy chết máy';
    const a = await send('dup-a', flood, lat, lng, '0987 111 222');
    const b = await send('dup-b', 'Ngập nước sâu ở đây sau cơn mưa', lat + metresNorth(100), lng, '0987 333 444');
    expect(a.state?.category.code).toBe('ngap_nuoc');
    expect(b.state?.category.code).toBe('ngap_nuoc');
    expect(b.ticketId).toBe(a.ticketId);
    expect(b.state?.group.relation).toBe('duplicate');
    expect(b.state?.group.score).toBeGreaterThan(0.5);
    expect(b.state?.reasons.map((r) => r.code)).toContain('duplicate');

    const noise = await send('dup-noise', 'Quán karaoke hát ồn ào đến 2 giờ sáng', lat, lng + metresEast(500), '0987 555 666');
    expect(noise.state?.category.code).toBe('tieng_on');
    expect(noise.ticketId).not.toBe(a.ticketId);
    expect(noise.state?.group.relation).toBe('new');
    const farFlood = await send('dup-far', flood, lat - metresNorth(500), lng, '0987 777 888');
    expect(farFlood.ticketId).not.toBe(a.ticketId); // beyond the 300 m flood radius
    expect(farFlood.state?.group.relation).toBe('new');

    const ticket = await db.selectFrom('tickets').select(['report_count', 'reporter_count']).where('id', '=', a.ticketId).executeTakeFirstOrThrow();
    expect(ticket).toEqual({ report_count: 2, reporter_count: 2 });
    const relations = await db.selectFrom('reports').select('relation').where('ticket_id', '=', a.ticketId).orderBy('id').execute();
    expect(relations.map((r) => r.relation)).toEqual(['new', 'duplicate']);
  });

  it('in one batch, later reports join the ticket an earlier one opened, with its counts and a single ticket.created', async () => {
    // Vũng Tàu: no other test of this file reports rubbish there.
    const { lat, lng } = PLACES.vungTau;
    const north = (m: number) => lat + m / 111_195;
    const items = [
      { id: 'b-1', text: 'Rác thải chất đống bốc mùi trước chợ Bình Tây', lat, phone: '0977 100 001' },
      { id: 'b-2', text: 'Đống rác lớn trước chợ Bình Tây chưa ai dọn', lat: north(30), phone: '0977 100 002' },
      { id: 'b-3', text: 'Rác đổ bừa bãi trước chợ hôi quá', lat: north(40), phone: undefined },
      { id: 'b-4', text: 'Rác thải chất đống bốc mùi trước chợ Bình Tây, nhắc lại lần nữa', lat: north(10), phone: '0977 100 001' },
    ];
    const accepted = [];
    for (const x of items) {
      accepted.push(await intake.accept({ channel: 'app', externalId: x.id, payload: { id: x.id }, report: plain({ text: x.text, lat: x.lat, lng, citizen: x.phone ? { phone: x.phone } : {} }) }));
    }
    const { results, events } = await processInboundBatch(deps(), accepted.map((a) => a.inboundId));
    const ticketId = results[0]!.ticketId;
    expect(results.map((r) => r.ticketId)).toEqual([ticketId, ticketId, ticketId, ticketId]);
    expect(results.map((r) => r.state?.group.relation)).toEqual(['new', 'duplicate', 'duplicate', 'same_citizen']);
    const ticket = await db.selectFrom('tickets').select(['report_count', 'reporter_count']).where('id', '=', ticketId).executeTakeFirstOrThrow();
    expect(ticket).toEqual({ report_count: 4, reporter_count: 3 }); // two phones and one anonymous
    expect(events.filter((e) => e.type === 'ticket.created').map((e) => e.ticketId)).toEqual([ticketId]);
    expect(events.filter((e) => e.type.startsWith('report.')).map((e) => e.type)).toEqual(['report.received', 'report.grouped', 'report.grouped', 'report.grouped']);
    const inbound = await db.selectFrom('inbound_messages').select(['report_id', 'processed_at']).where('id', 'in', accepted.map((a) => a.inboundId)).orderBy('id').execute();
    expect(inbound.map((r) => r.report_id)).toEqual(results.map((r) => r.reportId));
    expect(inbound.every((r) => r.processed_at instanceof Date)).toBe(true);
  });

  it('counts a batch joining an existing ticket from the counts it holds, as a recount of its reports would', async () => {
    // Bình Tây: no other test of this file reports a fallen tree there.
    const { lat, lng } = PLACES.binhTay;
    const north = (m: number) => lat + m / 111_195;
    const send = async (id: string, text: string, m: number, phone?: string) => intake.accept({
      channel: 'app', externalId: id, payload: { id }, report: plain({ text, lat: north(m), lng, citizen: phone ? { phone } : {} }),
    });
    const first = await processInbound(deps(), (await send('cnt-1', 'Cây xanh ngã đè lên lề đường', 0, '0966 200 001')).inboundId);
    // Joining it in one batch: its first reporter again, a new reporter twice, two anonymous reports.
    const batch = [
      await send('cnt-2', 'Cây ngã chắn lối đi, chưa ai dọn', 20, '0966 200 001'),
      await send('cnt-3', 'Cây xanh ngã đè lề đường, nguy hiểm', 30, '0966 200 002'),
      await send('cnt-4', 'Cây ngã đè lề đường vẫn chưa dọn', 25, '0966 200 002'),
      await send('cnt-5', 'Cây xanh ngã trên lề đường', 15),
      await send('cnt-6', 'Cây ngã trên vỉa hè', 10),
    ];
    const { results } = await processInboundBatch(deps(), batch.map((a) => a.inboundId));
    expect(results.map((r) => r.ticketId)).toEqual(batch.map(() => first.ticketId));
    const ticket = await db.selectFrom('tickets').select(['report_count', 'reporter_count']).where('id', '=', first.ticketId).executeTakeFirstOrThrow();
    expect(ticket).toEqual({ report_count: 6, reporter_count: 4 }); // two phones and two anonymous
    await recountTicket(db, first.ticketId);
    expect(await db.selectFrom('tickets').select(['report_count', 'reporter_count']).where('id', '=', first.ticketId).executeTakeFirstOrThrow()).toEqual(ticket);
  });
});

describe.runIf(TEST_DB === 'pglite')('a restart on the embedded database', () => {
  // It builds a runtime itself (that is the point): its start counts in the test's time.
  it('runs at once the jobs this process held when it was killed (on PGlite every lease is its own)', { timeout: 120_000 }, async () => {
    const h = await freshDb();
    const dir = mkdtempSync(path.join(tmpdir(), 'phananh-restart-'));
    let rt: Runtime | null = null;
    try {
      // What a kill -9 leaves: a stored message whose job was claimed, under a lease that has not ended.
      const stored = await new IntakeService(h.db).accept({ channel: 'app', externalId: 'killed-1', payload: {}, report: plain() });
      await h.db.updateTable('jobs').set({ locked_by: 'w-killed', locked_until: sql<Date>`now() + interval '5 minutes'`, attempts: 1 })
        .where('key', '=', `inbound:${stored.inboundId}`).execute();
      const config = loadConfig({ DATA_DIR: dir, SESSION_SECRET: 'test-secret-0123456789abcdef' });
      const started = Date.now();
      rt = await createRuntime(config, { log, handle: h, skipSetup: true });
      await rt.worker.idle();
      expect((await rt.handle.db.selectFrom('inbound_messages').select('report_id').where('id', '=', stored.inboundId).executeTakeFirstOrThrow()).report_id).not.toBeNull();
      expect(Date.now() - started).toBeLessThan(60_000); // not the lease: minutes (the runtime's own start is the rest)
    } finally {
      if (rt) await rt.close();
      else await h.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
