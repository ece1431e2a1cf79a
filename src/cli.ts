import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { isAppError } from './core/errors.ts';
import { setUserDisabled, upsertUser } from './core/staff/users.ts';
import { issueApiKey, listApiKeys, revokeApiKey } from './core/staff/api-keys.ts';
import { importAreasFile } from './core/places/area-import.ts';
import { connect } from './db/connect.ts';
import { migrateToLatest } from './db/migrate.ts';
import { seedReferenceData } from './city/seed.ts';
import { DEMO_OFFICER_PASSWORD, DEMO_USERS, demoOfficerName, loadDemo, settleDemo } from './demo.ts';
import { createLogger } from './log.ts';
import type { Runtime } from './runtime.ts';
import type { PoisonedEntry } from './intake/spool.ts';
import { compactRollup, rebuildRollup } from './core/dashboard/rollup.ts';

function config(): Config {
  try {
    return loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`phananh: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}

async function withDb<T>(fn: (db: Awaited<ReturnType<typeof connect>>['db'], cfg: Config) => Promise<T>): Promise<T> {
  const cfg = config();
  const handle = await connect({ databaseUrl: cfg.DATABASE_URL, dataDir: cfg.dataDir, poolMax: 2 });
  try {
    await migrateToLatest(handle.db);
    return await fn(handle.db, cfg);
  } finally {
    await handle.close();
  }
}

// Commands import what they need when they run: `user add` need not load the web server.
const program = new Command('phananh').description('Multichannel contact centre for citizen feedback (1022)');

program.command('migrate').description('bring the database schema up to date').action(async () => {
  const cfg = config();
  const handle = await connect({ databaseUrl: cfg.DATABASE_URL, dataDir: cfg.dataDir, poolMax: 2 });
  const results = await migrateToLatest(handle.db);
  await handle.close();
  console.log(results.length ? results.map((r) => `${r.migrationName}: ${r.status}`).join('\n') : 'schema is up to date');
});

/** The channels that are on and write to citizens (their replies are `send`). */
const sendingChannels = (rt: Runtime) => rt.channels.filter((c) => c.adapter.replies === 'send').map((c) => c.adapter.name);

program.command('start')
  .description('run the web server and workers (migrates and seeds first)')
  .option('--demo', 'load demo reports and accounts on first run (an empty database)')
  .action(async (opts: { demo?: boolean }) => {
    const cfg = config();
    const log = createLogger(cfg.LOG_LEVEL);
    const { startServer } = await import('./server.ts');
    let demoLoaded = false;
    const server = await startServer(cfg, log, async (rt) => {
      if (!opts.demo) return;
      const any = await rt.handle.db.selectFrom('inbound_messages').select('id').limit(1).executeTakeFirst();
      if (!any) {
        const t = Date.now();
        log.info('loading the demo: accounts, a ward officer per unit, reports');
        const r = await loadDemo(rt.handle.db, rt.intake, new Date(), sendingChannels(rt));
        demoLoaded = !r.skipped;
        if (r.skipped) log.warn(`demo reports not loaded: ${r.skipped}`);
        else {
          log.info({ reports: r.reports, officers: r.officers, ms: Date.now() - t }, 'loaded demo data (the worker files the reports in the background)');
          // Once filed, some go through the ward's work (dispatched, acknowledged, resolved), live.
          void rt.worker.idle(120_000).then(() => settleDemo(rt.handle.db)).then((events) => {
            rt.events.publish(events);
            log.info({ events: events.length }, 'demo tickets taken through the ward\'s work');
          }).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'demo tickets not taken through the ward\'s work'));
        }
      }
    });
    log.info({ url: server.url, database: server.runtime.handle.kind, channels: server.runtime.channels.map((c) => c.adapter.name) }, 'phananh started');
    process.stdout.write(`\nphananh is running: ${server.url}\n`
      + `  web portal      ${server.url}/\n  app API         ${server.url}/api/v1/openapi.json\n  health          ${server.url}/healthz\n`
      + (opts.demo ? `  demo accounts   ${DEMO_USERS.map((u) => `${u.username} / ${u.password} (${u.role})`).join(', ')}\n`
        + `  ward officers   one per unit, e.g. ${demoOfficerName('Phường Sài Gòn')} / ${DEMO_OFFICER_PASSWORD} (the unit's name without accents, words joined by -)\n` : '')
      + (demoLoaded ? '  demo reports loaded\n' : '') + '\n');
    let shuttingDown = false;
    const shutdown = (signal: string) => {
      if (shuttingDown) return;
      shuttingDown = true;
      log.info({ signal }, 'shutting down: draining jobs');
      const force = setTimeout(() => process.exit(1), 15_000);
      force.unref();
      server.stop().then(() => process.exit(0), (e: unknown) => {
        log.error({ err: String(e) }, 'shutdown failed');
        process.exit(1);
      });
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
  });

const areas = program.command('areas').description('administrative units');
areas.command('import <file>')
  .description('import units from a GeoJSON FeatureCollection (insert or update by code)')
  .requiredOption('--code-prop <name>', 'feature property holding the unit code')
  .option('--name-prop <name>', 'feature property holding the unit name (default: "name" where present, else the code)')
  .action(async (file: string, opts: { codeProp: string; nameProp?: string }) => {
    const n = await withDb((db) => importAreasFile(db, file, { codeProp: opts.codeProp, nameProp: opts.nameProp }));
    console.log(`imported ${n} areas from ${file}`);
  });

program.command('demo').description('load the demo reports and accounts and process them').action(async () => {
  const cfg = config();
  const log = createLogger(cfg.LOG_LEVEL === 'info' ? 'warn' : cfg.LOG_LEVEL);
  const { createRuntime } = await import('./runtime.ts');
  const rt = await createRuntime(cfg, { log });
  try {
    const r = await loadDemo(rt.handle.db, rt.intake, new Date(), sendingChannels(rt));
    if (r.skipped) {
      console.error(`demo reports not loaded: ${r.skipped}. Unset their settings to load the demo.`);
      process.exitCode = 1;
      return;
    }
    await rt.worker.idle(120_000);
    rt.events.publish(await settleDemo(rt.handle.db));
    await rt.worker.idle(120_000);
    console.log(`loaded ${r.reports} demo reports; accounts: ${r.users.map((u) => `${u.username}/${u.password} (${u.role})`).join(', ')}; `
      + `a ward officer per unit, e.g. ${demoOfficerName('Phường Sài Gòn')}/${DEMO_OFFICER_PASSWORD}`);
  } finally {
    await rt.close();
  }
});

program.command('replay')
  .description('run JSON-lines reports from stdin through identity, dedup and routing; one decision per line on stdout')
  .option('--areas <file>', "another city's units (GeoJSON) instead of HCMC's")
  .option('--area-code-prop <name>', 'feature property holding the unit code', 'code')
  .option('--area-name-prop <name>', 'feature property holding the unit name (default: "name" where present, else the code)')
  .option('--batch <n>', 'reports processed together, as the worker does under load (1: one at a time)', (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 500) throw new InvalidArgumentError('a whole number from 1 to 500');
    return n;
  }, 32)
  .action(async (opts: { areas?: string; areaCodeProp: string; areaNameProp?: string; batch: number }) => {
    const { runReplay } = await import('./replay.ts');
    const r = await runReplay({
      input: process.stdin, output: process.stdout, progress: process.stderr,
      areasFile: opts.areas, areaCodeProp: opts.areaCodeProp, areaNameProp: opts.areaNameProp, batchSize: opts.batch,
    });
    if (r.errors) process.stderr.write(`replay: ${r.errors} lines had errors (see their error lines)\n`);
  });

program.command('search').description('ticket search (README "Search")')
  .command('reindex')
  .description('rebuild the search index of every ticket (Meilisearch when MEILI_URL is set, else PostgreSQL), with a progress bar on stderr')
  .action(async () => {
    const started = Date.now();
    const [{ createTicketSearch }, { progressBar, reindexAll }] = await Promise.all([import('./search/index.ts'), import('./search/reindex.ts')]);
    const r = await withDb(async (db, cfg) => {
      const search = createTicketSearch(db, { meiliUrl: cfg.MEILI_URL, meiliKey: cfg.MEILI_KEY });
      return { engine: search.engine, n: await reindexAll(db, search, progressBar(process.stderr, 'tickets')) };
    });
    console.log(`indexed ${r.n} tickets (${r.engine}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

const dashboard = program.command('dashboard').description('the supervisors\' dashboard (README "Dashboard")');
dashboard.command('rebuild')
  .description('recompute the dashboard\'s daily and monthly rollup from the tickets table (the triggers keep it; this repairs or fills it)')
  .action(async () => {
    const started = Date.now();
    const rows = await withDb((db) => rebuildRollup(db));
    console.log(`rebuilt the dashboard rollup: ${rows} rows in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
dashboard.command('compact')
  .description('fold the rollup\'s pending deltas into it now (the leader does it every few seconds)')
  .action(async () => {
    const started = Date.now();
    const folded = await withDb((db) => compactRollup(db));
    console.log(`compacted the dashboard rollup: ${folded} delta rows in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

program.command('spool')
  .description('reports acknowledged while the database was unreachable: those waiting in DATA_DIR/spool, and those set aside because the database refuses them')
  .option('--retry', 'store the set-aside reports again (after a fix); those still refused stay set aside')
  .action(async (opts: { retry?: boolean }) => {
    const cfg = config();
    const dir = path.join(cfg.dataDir, 'spool');
    const [{ readPoisoned, retryPoisoned, Spool }, { IntakeService }] = await Promise.all([import('./intake/spool.ts'), import('./intake/intake-service.ts')]);
    const waiting = (await Spool.open(dir)).depth();
    const show = (p: PoisonedEntry) => `  ${p.entry.code}  ${p.entry.channel}  received ${p.entry.receivedAt}  set aside ${p.at}  ${p.error.code}: ${p.error.message}`;
    const poisoned = await readPoisoned(dir);
    console.log(`${dir}: ${waiting} waiting for the database (the server drains them), ${poisoned.length} set aside`);
    for (const p of poisoned) console.log(show(p));
    if (!opts.retry || poisoned.length === 0) return;
    const r = await withDb((db) => retryPoisoned(dir, (e) => new IntakeService(db).storeSpooled(e)));
    console.log(`stored ${r.stored}; still refused ${r.still.length}`);
    for (const p of r.still) console.log(show(p));
    if (r.still.length) process.exitCode = 1;
  });

program.command('mail').description('the email channel')
  .command('check')
  .description('connect to IMAP_URL and SMTP_URL as the app would and print what they answer (message count, UIDVALIDITY)')
  .action(async () => {
    const { checkMail } = await import('../channels/email/check.ts');
    const r = await checkMail(process.env);
    console.log(r.lines.join('\n'));
    if (!r.ok) process.exitCode = 1;
  });

const user = program.command('user').description('accounts');
user.command('add')
  .description('create or update an account')
  .requiredOption('--username <name>')
  .requiredOption('--password <password>')
  .requiredOption('--role <role>', 'agent | supervisor | ward_officer | admin')
  .option('--name <display name>')
  .option('--area <code>', 'area a ward officer is bound to (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .action(async (opts: { username: string; password: string; role: string; name?: string; area: string[] }) => {
    const r = await withDb(async (db) => {
      await seedReferenceData(db);
      return upsertUser(db, { username: opts.username, password: opts.password, role: opts.role, displayName: opts.name, areaCodes: opts.area });
    });
    console.log(`${r.created ? 'created' : 'updated'} user ${opts.username} (${opts.role})`);
  });
for (const [name, disabled] of [['disable', true], ['enable', false]] as const) {
  user.command(name)
    .description(disabled ? 'disable an account (it cannot sign in; its sessions end at once)' : 'enable a disabled account again')
    .requiredOption('--username <name>')
    .action(async (opts: { username: string }) => {
      await withDb((db) => setUserDisabled(db, opts.username, disabled));
      console.log(`${disabled ? 'disabled' : 'enabled'} user ${opts.username.toLowerCase()}`);
    });
}

const apikey = program.command('apikey').description('keys of Open311 clients (POST /open311/v2/requests)');
apikey.command('add')
  .description('issue a key for a client; it is printed once, and only its hash is kept')
  .requiredOption('--name <name>', 'who the key is for (one active key per name)')
  .action(async (opts: { name: string }) => {
    const k = await withDb((db) => issueApiKey(db, opts.name));
    console.log(`issued key ${k.id} for ${k.name}; give the client this api_key (it is not shown again):\n${k.key}`);
  });
apikey.command('list').description('every key: id, name, issued, last used, revoked (never the key)').action(async () => {
  const keys = await withDb((db) => listApiKeys(db));
  if (!keys.length) console.log('no keys');
  const at = (d: Date | null) => (d ? d.toISOString() : '-');
  for (const k of keys) console.log(`${k.id}\t${k.name}\tissued ${at(k.createdAt)}\tlast used ${at(k.lastUsedAt)}\t${k.revokedAt ? `revoked ${at(k.revokedAt)}` : 'active'}`);
});
apikey.command('revoke')
  .description('revoke a key at once (by --name or --id)')
  .option('--name <name>')
  .option('--id <id>', 'the id `apikey list` shows', (v: string) => {
    if (!/^\d{1,9}$/.test(v)) throw new InvalidArgumentError('a key id (a whole number)');
    return Number(v);
  })
  .action(async (opts: { name?: string; id?: number }) => {
    if ((opts.name === undefined) === (opts.id === undefined)) program.error('phananh: apikey revoke: give --name or --id (one of them)');
    const k = await withDb((db) => revokeApiKey(db, opts.id !== undefined ? { id: opts.id } : { name: opts.name! }));
    console.log(`revoked key ${k.id} (${k.name})`);
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  // A channel's settings are read when the runtime starts: the same clear message as the app's own.
  if (e instanceof ConfigError) {
    process.stderr.write(`phananh: ${e.message}\n`);
    process.exit(2);
  }
  // An error with a stable code (`database_in_use`, `port_in_use`, a domain error): its code and
  // message, no stack; anything else in full.
  const code = (e as { code?: unknown } | null)?.code;
  if (isAppError(e) || (e instanceof Error && typeof code === 'string' && /^[a-z]+(?:_[a-z]+)+$/.test(code))) process.stderr.write(`phananh: ${String(code)}: ${(e as Error).message}\n`);
  else process.stderr.write(`phananh: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
