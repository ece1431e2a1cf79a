import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { startServer, type Server } from '../../src/server.ts';
import { PLACES, reportBody } from '../support/factories.ts';
import type { PgInstance } from './pg-instance.ts';
import { drillConfig, drillDatabase, recordDrill, ROOT, RUN_DRILLS, sleep, within } from './support.ts';

// Drill 1: the database stops for 10 s while 500 reports stream through the app API
// (POST /api/v1/reports with an Idempotency-Key), then starts again. The client behaves as the
// mobile app should: it retries a 5xx or a connection error with the same key until it has an
// answer. Every key must be answered, stored once (one inbound_messages row, the code it was
// given), and processed into a ticket routed to a unit. Written against the public API only;
// what carries reports across the outage is the intake spool (src/intake/spool.ts).

const SPOOL_PRESENT = existsSync(path.join(ROOT, 'src/intake/spool.ts'));
if (RUN_DRILLS && !SPOOL_PRESENT) console.warn('drill 1 (database outage) skipped: the intake spool (src/intake/spool.ts) is not in the tree yet');

const REPORTS = 500;
const CONCURRENCY = 8;
const OUTAGE_MS = 10_000;
/** The outage starts once this many reports have been answered. */
const STOP_AFTER = 100;
/** Pacing: about 500 reports over 15 s, so the stream runs before, through and after the outage. */
const STREAM_MS = 15_000;
const PLACES_CYCLE = [PLACES.benThanh, PLACES.saiGon, PLACES.binhTay];
const TOPICS = [
  'Nước ngập sâu, xe máy chết máy giữa đường',
  'Rác thải đổ trộm thành đống lớn trên vỉa hè',
  'Đèn đường hỏng, cả đoạn đường tối om về đêm',
  'Ổ gà lớn giữa đường rất nguy hiểm cho xe máy',
  'Karaoke hát xuyên đêm gây ồn ào cả khu phố',
];

describe.runIf(RUN_DRILLS && SPOOL_PRESENT)('drill: the database stops for 10 s while 500 reports stream in', () => {
  let pg: PgInstance;
  let server: Server;
  let dataDir: string;

  beforeAll(async () => {
    pg = await drillDatabase('drill-outage');
    const drill = drillConfig(pg.url);
    dataDir = drill.dataDir;
    const config = drill.config;
    server = await startServer(config, createLogger(process.env.DRILL_LOG_LEVEL ?? 'silent'));
  }, 120_000);
  afterAll(async () => {
    if (pg && !pg.running()) await pg.start().catch(() => {});
    await server?.stop();
    await pg?.destroy();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers every key, stores each once and turns all into routed tickets', async () => {
    const answers = new Map<string, Set<string>>();
    const statuses = new Map<number, number>();
    let retries = 0;
    let answered = 0;
    const answeredAt: number[] = [];
    let outage: Promise<void> | null = null;
    let stoppedAt = 0;
    let startedAt = 0;

    /** One report, as a client: the same key until a 2xx, backing off on 5xx and connection errors. */
    async function send(i: number): Promise<void> {
      const key = `drill1-${i}`;
      const place = PLACES_CYCLE[i % PLACES_CYCLE.length]!;
      const body = JSON.stringify(reportBody({ text: `${TOPICS[i % TOPICS.length]} (điểm ${i})`, lat: place.lat, lng: place.lng }));
      const until = Date.now() + 60_000;
      for (let delay = 100; ; delay = Math.min(delay * 2, 1_000)) {
        let status = 0;
        try {
          const res = await fetch(`${server.url}/api/v1/reports`, {
            method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key }, body, signal: AbortSignal.timeout(15_000),
          });
          status = res.status;
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (res.ok) {
            const { code } = (await res.json()) as { code: string };
            if (!answers.has(key)) answers.set(key, new Set());
            answers.get(key)!.add(code);
            answered++;
            answeredAt.push(Date.now());
            return;
          }
          await res.arrayBuffer();
          if (status < 500) throw new Error(`${key}: answered ${status}`);
        } catch (err) {
          if (status && status < 500) throw err;
        }
        if (Date.now() > until) throw new Error(`${key}: no answer within 60 s (last status ${status})`);
        retries++;
        await sleep(delay);
      }
    }

    const t0 = Date.now();
    let next = 0;
    const lanes = Array.from({ length: CONCURRENCY }, async () => {
      while (next < REPORTS) {
        const i = next++;
        if (answered >= STOP_AFTER && !outage) {
          outage = (async () => {
            await pg.stop('fast');
            stoppedAt = Date.now();
            await sleep(OUTAGE_MS);
            await pg.start();
            startedAt = Date.now();
          })();
        }
        await send(i);
        await sleep((STREAM_MS * CONCURRENCY) / REPORTS);
      }
    });
    await Promise.all(lanes);
    const sentMs = Date.now() - t0;
    await outage;
    expect(stoppedAt).toBeGreaterThan(0);
    const during = answeredAt.filter((t) => t >= stoppedAt && t < startedAt).length;
    const after = answeredAt.filter((t) => t >= startedAt).length;
    const keys = [...answers.keys()];

    // After the restart: the spool drains, the worker processes everything.
    const db = server.runtime.handle.db;
    const storedRows = async () => db.selectFrom('inbound_messages').select(['external_id', 'code', 'report_id'])
      .where('channel', '=', 'app').where('external_id', 'like', 'drill1-%').execute();
    let rows = await storedRows();
    await within(60_000, 'every answered report is in the database', async () => (rows = await storedRows()).length >= keys.length, 250).catch(() => 0);
    const wholeAt = Date.now();
    await server.runtime.worker.idle(90_000);
    const processedAt = Date.now();
    rows = await storedRows();
    const routed = Number((await db.selectFrom('inbound_messages')
      .innerJoin('reports', 'reports.id', 'inbound_messages.report_id')
      .innerJoin('tickets', 'tickets.id', 'reports.ticket_id')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('inbound_messages.channel', '=', 'app').where('inbound_messages.external_id', 'like', 'drill1-%')
      .where('tickets.area_code', 'is not', null).executeTakeFirstOrThrow()).n);

    const storedKeys = new Set(rows.map((r) => r.external_id));
    // A key stored twice, answered with two codes, or stored under a code its sender was not given.
    const codeMismatch = rows.filter((r) => !answers.get(r.external_id)?.has(r.code)).length;
    const doubled = (rows.length - storedKeys.size) + [...answers.values()].filter((s) => s.size > 1).length + codeMismatch;
    const lost = REPORTS - [...answers.keys()].filter((k) => storedKeys.has(k)).length;
    const failover = startedAt ? (wholeAt - startedAt) / 1000 : null;
    const statusText = [...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${n}×${s}`).join(', ');

    recordDrill({
      id: '1-db-outage', drill: 'database stopped 10 s, 500 reports', sent: REPORTS, stored: storedKeys.size, lost, doubled,
      eventsMissed: null, failoverSeconds: failover === null ? null : Math.round(failover * 100) / 100,
      notes: `answers ${statusText}; ${retries} client retries; ${REPORTS - during - after} answered before the stop, ${during} during, `
        + `${after} after the restart (stream ${(sentMs / 1000).toFixed(1)} s); `
        + `${routed}/${REPORTS} processed into routed tickets ${((processedAt - startedAt) / 1000).toFixed(1)} s after the restart`,
      ok: lost === 0 && doubled === 0 && routed === REPORTS,
    });
    expect(answers.size).toBe(REPORTS);
    expect(lost).toBe(0);
    expect(doubled).toBe(0);
    expect(rows).toHaveLength(REPORTS);
    expect(rows.every((r) => r.report_id !== null)).toBe(true);
    expect(routed).toBe(REPORTS);
  }, 150_000);
});
