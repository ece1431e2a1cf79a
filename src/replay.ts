import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { AppError, isAppError } from './core/errors.ts';
import { processInbound, processInboundBatch, type ProcessResult } from './core/engine/process-report.ts';
import { loadCategories } from './core/engine/catalog.ts';
import type { InboundReport } from './core/report-input.ts';
import { importAreasFile } from './core/places/area-import.ts';
import { connect } from './db/connect.ts';
import { migrateToLatest } from './db/migrate.ts';
import { seedReferenceData } from './city/seed.ts';
import { IntakeService } from './intake/intake-service.ts';
import { loadEngine } from './runtime.ts';

export interface ReplayOptions {
  input: Readable;
  output: Writable;
  progress?: Writable;
  areasFile?: string;
  areaCodeProp?: string;
  areaNameProp?: string;
  /**
   * Reports processed together, as the worker does under load (default 32); 1 processes them
   * one at a time. The decisions are the same either way.
   */
  batchSize?: number;
  /**
   * A migrated and seeded embedded database to start from (PGlite's dump), instead of migrating
   * and seeding a new one: the tests' shortcut. Not with `areasFile` (another city's units).
   */
  template?: Blob;
}

interface ReplayLine {
  line: number;
  id: string;
  receivedAt: Date;
  channel: string;
  report: InboundReport;
}

const optionalString = (v: unknown, field: string): string | undefined => {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string' && typeof v !== 'number') throw new AppError('replay_field_invalid', 400, `${field} must be a string`);
  return String(v);
};

const optionalNumber = (v: unknown, field: string, min: number, max: number): number | undefined => {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) throw new AppError('coordinates_invalid', 400, `${field} must be a number in [${min}, ${max}]`);
  return n;
};

/** Validates one input line of the replay format; only id and received_at are required. */
export function parseReplayLine(text: string, line: number): ReplayLine {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new AppError('invalid_json', 400, 'not valid JSON');
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new AppError('invalid_json', 400, 'a line must be a JSON object');
  const id = optionalString(raw.id, 'id');
  if (!id) throw new AppError('replay_id_missing', 400, 'id is required');
  const receivedAt = typeof raw.received_at === 'string' || typeof raw.received_at === 'number' ? new Date(raw.received_at) : null;
  if (!receivedAt || Number.isNaN(receivedAt.getTime())) throw new AppError('replay_received_at_invalid', 400, 'received_at is required (ISO 8601)');
  const c = (raw.citizen && typeof raw.citizen === 'object' ? raw.citizen : {}) as Record<string, unknown>;
  const lat = optionalNumber(raw.lat, 'lat', -90, 90);
  const lng = optionalNumber(raw.lng, 'lng', -180, 180);
  if ((lat === undefined) !== (lng === undefined)) throw new AppError('coordinates_invalid', 400, 'lat and lng must be given together');
  return {
    line, id, receivedAt,
    channel: optionalString(raw.channel, 'channel') ?? 'replay',
    report: {
      text: optionalString(raw.text, 'text') ?? '',
      category: optionalString(raw.category, 'category'),
      lat, lng,
      address: optionalString(raw.address, 'address'),
      citizen: {
        name: optionalString(c.name, 'citizen.name'), phone: optionalString(c.phone, 'citizen.phone'), email: optionalString(c.email, 'citizen.email'),
        facebook_id: optionalString(c.facebook_id, 'citizen.facebook_id'), zalo_id: optionalString(c.zalo_id, 'citizen.zalo_id'),
        national_id: optionalString(c.national_id, 'citizen.national_id'),
      },
      attachments: [],
    },
  };
}

/**
 * `phananh replay`: runs JSON-lines reports in received_at order through identity, text,
 * topic, location and grouping on a fresh in-memory database and writes one decision per line,
 * in received order, once the run is over (a report's unit may come from a later report); lines
 * that are not valid input are reported first, as they are read.
 */
export async function runReplay(opts: ReplayOptions): Promise<{ processed: number; errors: number; pipelineSeconds: number }> {
  const write = (o: unknown) => new Promise<void>((resolve) => {
    if (opts.output.write(`${typeof o === 'string' ? o : JSON.stringify(o)}\n`)) resolve();
    else opts.output.once('drain', () => resolve());
  });
  const progress = (msg: string) => opts.progress?.write(`${msg}\n`);
  const lines: ReplayLine[] = [];
  let n = 0;
  let errors = 0;
  for await (const text of createInterface({ input: opts.input, crlfDelay: Infinity })) {
    n++;
    if (!text.trim()) continue;
    try {
      lines.push(parseReplayLine(text, n));
    } catch (e) {
      errors++;
      const err = isAppError(e) ? e : new AppError('replay_line_invalid', 400, String(e));
      let id: unknown;
      try { id = (JSON.parse(text) as { id?: unknown }).id; } catch { /* not JSON */ }
      await write({ line: n, ...(id !== undefined ? { id } : {}), error: { code: err.code, message: `line ${n}: ${err.message}` } });
    }
  }
  lines.sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime() || a.line - b.line);
  progress(`replay: ${lines.length} reports to run (${errors} bad lines)`);

  const fromTemplate = opts.template !== undefined && !opts.areasFile;
  const handle = await connect({ inMemory: true, ...(fromTemplate ? { loadDataDir: opts.template } : {}) });
  try {
    const { db } = handle;
    if (!fromTemplate) await migrateToLatest(db);
    if (opts.areasFile) {
      const count = await importAreasFile(db, opts.areasFile, { codeProp: opts.areaCodeProp ?? 'code', nameProp: opts.areaNameProp });
      progress(`replay: imported ${count} areas from ${opts.areasFile}`);
    }
    if (!fromTemplate) await seedReferenceData(db);
    // Another city's categories are opaque keys: known to the run, never guessed by the model.
    const wanted = [...new Set(lines.map((l) => l.report.category).filter((c): c is string => !!c))];
    if (wanted.length) {
      await db.insertInto('categories').values(wanted.map((code) => ({ code, name: code, department_code: null, keywords: '[]' })))
        .onConflict((oc) => oc.column('code').doNothing()).execute();
    }
    const engine = await loadEngine(db);
    const categoryList = await loadCategories(db);
    const categories = async () => categoryList;
    const intake = new IntakeService(db);
    const parse = () => { throw new AppError('replay_parse', 500, 'replay reports are always normalised'); };
    const openers = new Map<number, { key: string; id: string }>();
    const started = Date.now();
    let done = 0;
    const deps = { db, engine, parse, categories };
    // Written once the run is over: a report read without a unit is routed with its ticket
    // when a later report gives the ticket one (area_from_ticket_later), and its line says so.
    // Lines already final are kept as their text; those without a unit as objects, read again at the end.
    const decisions: (string | Record<string, unknown>)[] = [];
    const unplaced = new Map<number, Record<string, unknown>>();
    const fail = (l: ReplayLine, e: unknown) => {
      errors++;
      const err = isAppError(e) ? e : new AppError('replay_failed', 500, (e as Error).message);
      decisions.push(JSON.stringify({ line: l.line, id: l.id, error: { code: err.code, message: `line ${l.line}: ${err.message}` } }));
    };
    const size = Math.max(1, opts.batchSize ?? 32);
    for (let from = 0; from < lines.length; from += size) {
      const chunk = lines.slice(from, from + size);
      const stored: { l: ReplayLine; inboundId: number }[] = [];
      const failed = new Map<ReplayLine, unknown>();
      for (const l of chunk) {
        try {
          const accepted = await intake.accept({ channel: l.channel, externalId: l.id, payload: { id: l.id, ...l.report }, report: l.report, receivedAt: l.receivedAt });
          if (accepted.replay) throw new AppError('replay_id_duplicate', 400, `id ${l.id} appeared before`);
          stored.push({ l, inboundId: accepted.inboundId });
        } catch (e) {
          failed.set(l, e);
        }
      }
      // The whole chunk at once; if that fails, one by one, so a bad report errs alone.
      const results = new Map<number, ProcessResult>();
      try {
        for (const r of (await processInboundBatch(deps, stored.map((x) => x.inboundId))).results) results.set(r.inboundId, r);
      } catch {
        for (const x of stored) {
          try {
            results.set(x.inboundId, await processInbound(deps, x.inboundId));
          } catch (e) {
            failed.set(x.l, e);
          }
        }
      }
      const reportIds = [...results.values()].map((r) => r.reportId);
      const reports = new Map((reportIds.length === 0 ? [] : await db.selectFrom('reports')
        .select(['id', 'relation', 'area_code', 'category_code', 'score', 'reasons']).where('id', 'in', reportIds).execute()).map((r) => [r.id, r]));
      const inboundOf = new Map(stored.map((x) => [x.l, x.inboundId]));
      for (const l of chunk) {
        const result = results.get(inboundOf.get(l) ?? -1);
        if (!result) {
          fail(l, failed.get(l));
          done++;
          continue;
        }
        const report = reports.get(result.reportId)!;
        let opener = openers.get(result.ticketId);
        if (!opener) {
          opener = { key: `T${openers.size + 1}`, id: l.id };
          openers.set(result.ticketId, opener);
        }
        const decision = {
          id: l.id, ticket: opener.key, relation: report.relation, parent_id: opener.id,
          area_code: report.area_code, category: report.category_code, score: Math.round(report.score * 1000) / 1000, reasons: report.reasons,
        };
        if (report.area_code === null) unplaced.set(report.id, decision);
        decisions.push(report.area_code === null ? decision : JSON.stringify(decision));
        done++;
        if (done % 1000 === 0) progress(`replay: ${done}/${lines.length} (${Math.round(done / ((Date.now() - started) / 1000))} reports/s)`);
      }
    }
    const ids = [...unplaced.keys()];
    for (let from = 0; from < ids.length; from += 1000) {
      const routed = await db.selectFrom('reports').select(['id', 'area_code', 'reasons'])
        .where('id', 'in', ids.slice(from, from + 1000)).where('area_code', 'is not', null).execute();
      for (const r of routed) Object.assign(unplaced.get(r.id)!, { area_code: r.area_code, reasons: r.reasons });
    }
    const pipelineSeconds = (Date.now() - started) / 1000;
    for (const d of decisions) await write(d);
    progress(`replay: done, ${done} reports in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { processed: done, errors, pipelineSeconds };
  } finally {
    await handle.close();
  }
}
