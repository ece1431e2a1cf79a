import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Hono } from 'hono';
import type { Db } from './db/schema.ts';
import { allChannels } from '../channels/index.ts';
import { mapTiles, type Config } from './config.ts';
import type { AreaIndex } from './core/places/area-index.ts';
import { loadCategories, type CategoryInfo } from './core/engine/catalog.ts';
import { AppError } from './core/errors.ts';
import { EventBus } from './core/events.ts';
import { MEDIA_FETCH_JOB, processInbound, processInboundBatch, type Engine } from './core/engine/process-report.ts';
import { publicStatus } from './core/tickets/tracking.ts';
import { loadAreaIndex } from './core/places/area-import.ts';
import { connect, type DbHandle } from './db/connect.ts';
import { migrateToLatest } from './db/migrate.ts';
import { loadGazetteer, loadTopicExamples, seedReferenceData } from './city/seed.ts';
import { HCMC } from './city/hcmc.ts';
import type { CityProfile } from './city/profile.ts';
import { TopicModel } from './core/engine/topic.ts';
import { createApp } from './http/app.ts';
import { publicIntakeLimits } from './http/client-address.ts';
import { builtWebAssets, loadWebAssets } from './http/web-assets.ts';
import { publicPlaces } from './intake/public-places.ts';
import type { AnyChannel, ChannelContext } from './intake/channel-kit.ts';
import { resolveChannels, type ActiveChannel } from './intake/channels.ts';
import { ChannelPolls } from './workers/channel-polls.ts';
import { channelServices } from './intake/channel-services.ts';
import { fetchReportMedia } from './workers/media.ts';
import { MESSAGES_SIGNAL, type Notices } from './core/tickets/outbound.ts';
import { LocalFileStore } from './intake/file-store.ts';
import { IntakeService, PROCESS_INBOUND_JOB } from './intake/intake-service.ts';
import { Spool, SpoolDrainer, spooledStatus } from './intake/spool.ts';
import { sql } from 'kysely';
import type { Logger } from './log.ts';
import { collectProcessMetrics, metrics } from './metrics.ts';
import { Worker, type JobHandler } from './workers/worker.ts';
import { ensurePeriodic, releaseAllLeases } from './workers/queue.ts';
import { sendOutbound } from './workers/outbound.ts';
import { OUTBOUND_JOB } from './core/tickets/workflow.ts';
import { Leader } from './workers/leader.ts';
import { checkTicket, onStatusChanged, SLA_CHECK_JOB } from './core/sla/sla.ts';
import { EXPORT_CLEANUP_JOB, EXPORT_JOB } from './core/dashboard/exports.ts';
import { compactRollup, ROLLUP_COMPACT_EVERY_MS, ROLLUP_COMPACT_JOB } from './core/dashboard/rollup.ts';
import { partitionSearch, SEARCH_PARTITIONS_EVERY_MS, SEARCH_PARTITIONS_JOB, SEARCH_PARTITIONS_LOCK_TIMEOUT_MS } from './search/partitions.ts';
import { cleanupExport, runExport } from './workers/exports.ts';
import { createTicketSearch, type TicketSearch } from './search/index.ts';
import { followEvents, SEARCH_SYNC_JOB, syncSearch } from './search/index-job.ts';

export interface Runtime {
  config: Config;
  handle: DbHandle;
  app: Hono;
  worker: Worker;
  /** Cluster leadership (advisory lock): SLA timers run only on the leader. */
  leader: Leader;
  events: EventBus;
  areas: AreaIndex;
  intake: IntakeService;
  /** Inbound messages acknowledged while the database was unreachable (DATA_DIR/spool). */
  spool: Spool;
  /** Drains the spool into the database once it answers; runs with the worker. */
  drainer: SpoolDrainer;
  /** The channels that are on, with their settings. */
  channels: ActiveChannel[];
  /** Ticket search: PostgreSQL, or Meilisearch when MEILI_URL is set (fed by the search.sync job). */
  search: TicketSearch;
  /** Stops the worker (draining jobs in flight), then closes the database. */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  log: Logger;
  /** An already opened database (tests); otherwise one is opened from the config. */
  handle?: DbHandle;
  /** Skip migrations and seed data (the caller did them). */
  skipSetup?: boolean;
  startWorker?: boolean;
  /** The city (default: Ho Chi Minh City). */
  city?: CityProfile;
  /** Where channels read their settings (default: process.env). */
  env?: Record<string, string | undefined>;
  /** The channel registry (default: channels/index.ts; tests add a channel of their own). */
  channels?: AnyChannel[];
}

/** Reads SESSION_SECRET, or a random one kept under DATA_DIR so it survives restarts. */
async function resolveSecret(config: Config): Promise<string> {
  if (config.SESSION_SECRET) return config.SESSION_SECRET;
  const file = path.join(config.dataDir, 'secret');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    await mkdir(config.dataDir, { recursive: true });
    const secret = randomBytes(32).toString('base64url');
    await writeFile(file, secret, { mode: 0o600 });
    return secret;
  }
}

/** Loads what the pipeline needs: the spatial index, the gazetteer and the trained topic model. */
export async function loadEngine(db: Db, city: CityProfile = HCMC): Promise<Engine> {
  const areas = await loadAreaIndex(db);
  const examples = await loadTopicExamples(db, city);
  return { areas, gazetteer: await loadGazetteer(areas, city), topics: examples.length ? trainedOn(examples) : null };
}

/**
 * Training takes a second or two; a model only predicts once trained, so the same examples give
 * the same model, and a process that loads the engine again (a replay, a test) reuses it.
 */
const trained = new Map<string, TopicModel>();
const TRAINED_KEEP = 4;
function trainedOn(examples: Parameters<typeof TopicModel.train>[0]): TopicModel {
  const key = createHash('sha256').update(JSON.stringify(examples)).digest('hex');
  let model = trained.get(key);
  if (!model) {
    model = TopicModel.train(examples);
    if (trained.size >= TRAINED_KEEP) trained.delete(trained.keys().next().value!);
    trained.set(key, model);
  }
  return model;
}

/** Wiring: config -> db -> migrate -> seed -> app -> worker. */
export async function createRuntime(config: Config, opts: RuntimeOptions): Promise<Runtime> {
  collectProcessMetrics();
  const city = opts.city ?? HCMC;
  // A first start takes a while (opening the embedded database, migrating, importing the
  // city's units, training the topic model): each step says when it starts and how long it took.
  const since = (t: number) => Date.now() - t;
  let t = Date.now();
  if (!opts.handle) opts.log.info(config.DATABASE_URL ? 'connecting to PostgreSQL' : `opening the embedded database in ${config.dataDir}`);
  const handle = opts.handle ?? (await connect({ databaseUrl: config.DATABASE_URL, dataDir: config.dataDir, poolMax: config.DB_POOL_MAX }));
  if (!opts.handle) opts.log.info({ ms: since(t) }, 'database open');
  const { db } = handle;
  if (!opts.skipSetup) {
    t = Date.now();
    opts.log.info('migrating the database');
    const applied = (await migrateToLatest(db)).filter((m) => m.status === 'Success').length;
    opts.log.info({ ms: since(t), applied }, 'database migrated');
    t = Date.now();
    const firstStart = !(await db.selectFrom('areas').select('code').limit(1).executeTakeFirst());
    if (firstStart) opts.log.info({ city: city.id }, 'first start: importing the city\'s administrative units and categories');
    const seeded = await seedReferenceData(db, city);
    if (seeded.areas) opts.log.info({ areas: seeded.areas, city: city.id, ms: since(t) }, 'imported the city\'s administrative units');
  }
  // The embedded database belongs to this process alone: a lease on a job there is one this
  // process held before it crashed (kill -9, power), and its job must run now, not in seconds.
  if (handle.kind === 'pglite' && opts.startWorker !== false) {
    const released = await releaseAllLeases(db);
    if (released) opts.log.warn({ jobs: released }, 'released the jobs a previous run of this process held when it stopped');
  }
  t = Date.now();
  const engine = await loadEngine(db, city);
  opts.log.info({ ms: since(t) }, 'loaded the place reader and the topic model');
  const { areas } = engine;
  const events = new EventBus();
  const registry = opts.channels ?? allChannels;
  const channels = resolveChannels(registry, opts.env ?? process.env);
  const byName = new Map(channels.map((c) => [c.adapter.name, c]));
  // Reporters on a channel that writes back get an acknowledgement and a dispatch notice there.
  const notices: Notices = {
    sends: (name) => byName.get(name)?.adapter.replies === 'send',
    received: (code) => city.wording.receivedNotice(code),
    dispatched: (code, unit) => city.wording.dispatchedNotice(code, unit),
  };

  let categoryCache: { at: number; value: CategoryInfo[] } | null = null;
  const categories = async () => {
    if (!categoryCache || Date.now() - categoryCache.at > 30_000) {
      try {
        categoryCache = { at: Date.now(), value: await loadCategories(db) };
      } catch (err) {
        // During a database outage the form and validation keep the last list they saw.
        if (!categoryCache) throw err;
      }
    }
    return categoryCache.value;
  };
  await categories();

  // Set once the channels' shared context exists (below); jobs run only after that.
  let contextOf: (c: ActiveChannel) => ChannelContext<Record<string, unknown>> = () => { throw new Error('channels not ready'); };
  const senderOf = (name: string) => { const c = byName.get(name); return c && { adapter: c.adapter, ctx: contextOf(c) }; };
  const parse = (channel: string, payload: unknown) => {
    const adapter = byName.get(channel)?.adapter;
    if (!adapter?.parse) throw new AppError('channel_parse_unavailable', 500, `channel ${channel} cannot parse stored payloads`);
    return adapter.parse(payload);
  };

  // Embedded: one process, always leader. Server: whoever holds the advisory lock.
  const leaderUrl = handle.kind === 'postgres' ? (config.DATABASE_URL ?? handle.url) : undefined;
  if (handle.kind === 'postgres' && !leaderUrl) opts.log.warn('no database URL for the leader lock: this process leads alone');
  const leader = new Leader({ connectionString: leaderUrl, log: opts.log });
  const search = createTicketSearch(db, { meiliUrl: config.MEILI_URL, meiliKey: config.MEILI_KEY });
  // An external engine is fed from the event log by a durable job, never inline in a request.
  const searchHandlers: Record<string, JobHandler> = search.engine === 'postgres' ? {} : {
    [SEARCH_SYNC_JOB]: async () => { await syncSearch(db, search); },
  };
  const channelLabels = new Map(registry.map((c) => [c.name, c.label.vi]));
  const worker = new Worker({
    db, log: opts.log, concurrency: config.WORKER_CONCURRENCY,
    leaderOnlyKinds: [SLA_CHECK_JOB, ROLLUP_COMPACT_JOB, SEARCH_PARTITIONS_JOB], isLeader: () => leader.isLeader(),
    // The dashboard rollup's deltas (migration 0028) folded in every few seconds, by the leader;
    // the search documents' months (0030) made ready ahead of the clock every few hours.
    every: { [ROLLUP_COMPACT_JOB]: ROLLUP_COMPACT_EVERY_MS, [SEARCH_PARTITIONS_JOB]: SEARCH_PARTITIONS_EVERY_MS },
    batches: {
      // Under load, many reports in one transaction and a few statements per table.
      [PROCESS_INBOUND_JOB]: {
        size: config.WORKER_BATCH_SIZE,
        concurrency: config.WORKER_BATCH_CONCURRENCY,
        run: async (jobs) => {
          const { events: written } = await processInboundBatch({ db, engine, parse, categories, notices }, jobs.map((j) => Number(j.payload.inboundId)));
          events.publish(written);
        },
      },
    },
    handlers: {
      ...searchHandlers,
      [SLA_CHECK_JOB]: async (job) => {
        // The database found it due: with this process's clock a little behind, the check
        // would find the threshold still ahead, fire nothing and not chain the next timer.
        const now = new Date(Math.max(Date.now(), new Date(job.run_at).getTime()));
        events.publish(await checkTicket(db, Number(job.payload.ticketId), now));
      },
      [OUTBOUND_JOB]: async (job) => {
        const sent = await sendOutbound(db, senderOf, Number(job.payload.id));
        events.publish(sent.events);
        if (sent.ticketCode) events.signal(MESSAGES_SIGNAL, { ticket: sent.ticketCode });
      },
      [ROLLUP_COMPACT_JOB]: async () => { await compactRollup(db); },
      [SEARCH_PARTITIONS_JOB]: async () => {
        const added = await partitionSearch(db, { lockTimeoutMs: SEARCH_PARTITIONS_LOCK_TIMEOUT_MS });
        if (added > 0) opts.log.info({ added }, 'search: month partitions added');
      },
      [EXPORT_JOB]: (job) => runExport(db, config.dataDir, Number(job.payload.id), channelLabels),
      [EXPORT_CLEANUP_JOB]: (job) => cleanupExport(db, config.dataDir, Number(job.payload.id)),
      [MEDIA_FETCH_JOB]: async (job) => {
        events.publish(await fetchReportMedia(db, senderOf, job.payload as never, opts.log));
      },
      // Alone: after a batch failed, or when it is the only one waiting.
      [PROCESS_INBOUND_JOB]: async (job) => {
        const inboundId = Number(job.payload.inboundId);
        try {
          const result = await processInbound({ db, engine, parse, categories, notices }, inboundId);
          events.publish(result.events);
        } catch (err) {
          // Keep the error beside the message too, so an operator sees why it is not a ticket yet.
          await db.updateTable('inbound_messages')
            .set((eb) => ({ error: String((err as Error).message).slice(0, 2000), attempts: eb('attempts', '+', 1) }))
            .where('id', '=', inboundId).execute().catch(() => {});
          throw err;
        }
      },
    },
  });
  const spool = await Spool.open(path.join(config.dataDir, 'spool'), { log: opts.log });
  const intake = new IntakeService(db, {
    onEnqueued: () => worker.wake(), spool,
    count: (channel, result) => metrics.inbound.inc({ channel, result }),
  });
  const drainer = new SpoolDrainer({
    spool, log: opts.log,
    ready: () => sql`select 1`.execute(db),
    store: (entry) => intake.storeSpooled(entry),
    onDrained: () => worker.wake(),
  });
  const tiles = mapTiles(config);
  const channelContext = {
    places: publicPlaces({
      db, places: engine, categories,
      map: tiles && { tiles: tiles.url, attribution: tiles.attribution, origin: tiles.origin, centre: city.mapCentre ?? { lat: 0, lng: 0, zoom: 2 } },
      // One esbuild run bundles the map with the staff pages; linked by hash once it has run.
      mapAssets: () => {
        const built = builtWebAssets();
        return built ? { js: built.url('report-map.js'), css: built.url('report-map.css') } : { js: '/assets/report-map.js', css: '/assets/report-map.css' };
      },
    }),
    config, log: opts.log, intake, limits: publicIntakeLimits(db, config), categories, secret: await resolveSecret(config), city: city.wording,
    ...channelServices(db, events),
    files: new LocalFileStore(path.join(config.dataDir, 'uploads')),
    publicStatus: async (code: string) => spooledStatus(spool, code) ?? publicStatus(db, code, city.wording),
  };
  contextOf = (c: ActiveChannel) => ({ ...channelContext, settings: c.settings });
  const app = createApp({
    db, log: opts.log, channels, spool,
    console: {
      events, search, onStatus: onStatusChanged, notices, places: engine, wake: () => worker.wake(),
      channels: registry.map((c) => ({ name: c.name, label: c.label, enabled: byName.has(c.name) })),
      // Every registered channel's reader: a report from a channel now off still reads as written.
      messages: {
        reads: (name) => Boolean(registry.find((c) => c.name === name)?.read),
        read: (name, payload) => registry.find((c) => c.name === name)?.read?.(payload) ?? null,
      },
      // An admin's retry of a quarantined message: through its channel, which must be on.
      retryQuarantined: async (name, held) => {
        const c = byName.get(name);
        if (!c?.adapter.retry) throw new AppError('quarantine_channel_unavailable', 409, `channel ${name} is off or cannot process messages again`, 'Kênh này hiện không thể xử lý lại thư.');
        return c.adapter.retry(held, contextOf(c));
      },
    },
    webAssets: loadWebAssets,
    channelContext,
  });
  const polls = new ChannelPolls({ channels, contextOf, isLeader: () => leader.isLeader(), log: opts.log });
  leader.onChange((leading) => {
    if (leading) worker.wake();
    else polls.stepDown();
  });
  let unfollow = () => {};
  if (search.engine !== 'postgres') {
    // Settings and ranking rules in code, at every start; a server that is down now is retried by the job.
    await search.setup().catch((err: unknown) => opts.log.error({ err: (err as Error).message, engine: search.engine }, 'search engine setup failed; searches fail until it answers'));
    if (opts.startWorker !== false) {
      unfollow = followEvents(db, events, () => worker.wake(), (err) => opts.log.warn({ err: (err as Error).message }, 'could not enqueue search indexing'));
    }
  }
  if (opts.startWorker !== false) {
    await ensurePeriodic(db, ROLLUP_COMPACT_JOB);
    await ensurePeriodic(db, SEARCH_PARTITIONS_JOB);
    await leader.start();
    worker.start();
    drainer.start();
    polls.start();
  }
  return {
    config, handle, app, worker, leader, events, areas, intake, spool, drainer, channels, search,
    async close() {
      unfollow();
      await polls.stop();
      await drainer.stop();
      await spool.close();
      await worker.stop();
      await leader.stop();
      await handle.close();
    },
  };
}
