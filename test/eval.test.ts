// The engine against the hand-labelled evaluation set: the README's figures, kept honest.
// Replay runs on its own in-memory database, so this runs in the PGlite project only.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pgliteTemplate, TEST_DB } from './support/db.ts';
import { evaluate, replayLabelled, score, type Decision } from './eval/evaluate.ts';
import { generateOtherCity, naiveTickets, repeatScores } from './eval/other-city.ts';

describe.runIf(TEST_DB === 'pglite')('evaluation set', () => {
  const file = path.resolve(import.meta.dirname, 'fixtures/eval-reports.jsonl');
  let batched: Awaited<ReturnType<typeof evaluate>>;

  it('meets the dedup, area and category targets', async () => {
    batched = await evaluate(file, { template: await pgliteTemplate() });
    const { result } = batched;
    expect(result.errors).toBe(0);
    expect(result.f1).toBeGreaterThanOrEqual(0.9);
    expect(result.precision).toBeGreaterThanOrEqual(0.95);
    expect(result.areaAccuracy).toBeGreaterThanOrEqual(0.95);
    expect(result.categoryAccuracy).toBeGreaterThanOrEqual(0.85);
  }, 300_000);

  // One at a time costs a transaction per report (over a minute for the whole set), so the
  // comparison runs on the earliest reports: replay goes in time order and in batches from the
  // first, so the whole run's decisions for them are the ones a run of them alone would make.
  it('decides the same whether reports are processed in batches (as under load) or one at a time', async () => {
    const PREFIX = 5 * 32;
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim())
      .map((l, line) => ({ l, line, at: Date.parse((JSON.parse(l) as { received_at: string }).received_at) }))
      .sort((a, b) => a.at - b.at || a.line - b.line).slice(0, PREFIX);
    const single = await replayLabelled(lines.map((x) => x.l).join('\n'), { batchSize: 1, template: await pgliteTemplate() });
    const brief = (d: Decision) => ({ id: d.id, ticket: d.ticket, relation: d.relation, area: d.area_code, category: d.category, score: (d as { score?: number }).score });
    const ids = new Set(lines.map((x) => (JSON.parse(x.l) as { id: string }).id));
    const batchedPrefix = batched.decisions.filter((d) => ids.has(d.id));
    expect(single.length).toBe(PREFIX);
    expect(new Set(single.map((d) => d.ticket)).size).toBeLessThan(PREFIX * 0.8); // the prefix has groups to agree on
    expect(batchedPrefix.map(brief)).toEqual(single.map(brief));
  }, 300_000);
});

// The 1022-mix development sets and the held-out set (written independently, frozen before any
// tuning against it): their floors sit just below today's figures (README, Evaluation), some of
// them still below the targets, so that a change cannot quietly lose ground on reports most like the
// hotline's; precision is held at 95 % (99 % on dev3, 97 % on the held-out set, just below today's).
describe.runIf(TEST_DB === 'pglite')('the 1022-mix sets', () => {
  it.each([
    { set: 'development, 1022 mix', file: 'dev1022-reports.jsonl', reports: 351, f1: 0.975, area: 0.98, intake: 0.97, precision: 0.95 },
    { set: 'development 3', file: 'dev3-reports.jsonl', reports: 341, f1: 0.95, area: 0.925, intake: 0.88, precision: 0.99 },
    { set: 'held-out', file: 'heldout-reports.jsonl', reports: 352, f1: 0.935, area: 0.97, intake: 0.96, precision: 0.97 },
  ])('$set: replays without errors and does not fall below today\'s figures', async ({ file, reports, f1, area, intake, precision }) => {
    const { result } = await evaluate(path.resolve(import.meta.dirname, 'fixtures', file), { template: await pgliteTemplate() });
    expect(result.reports).toBe(reports);
    expect(result.errors).toBe(0);
    expect(result.precision).toBeGreaterThanOrEqual(precision);
    expect(result.f1).toBeGreaterThanOrEqual(f1);
    expect(result.areaAccuracy).toBeGreaterThanOrEqual(area);
    expect(result.areaAtIntakeAccuracy).toBeGreaterThanOrEqual(intake);
    expect(result.categoryAccuracy).toBeGreaterThanOrEqual(0.9);
  }, 300_000);
});

// Another city: no text, opaque categories, units with a code only. Issue T's target (repeats
// found >= 95 %) is met, so it is the floor; false merges are held at today's figure (<= 2 %,
// target <= 10 %).
describe.runIf(TEST_DB === 'pglite')('the synthetic other city', () => {
  it('replays without errors, routes every request to its unit, and finds 95 % of repeats, at least as many as the naive rule', async () => {
    const city = generateOtherCity(311, 300);
    const dir = mkdtempSync(path.join(tmpdir(), 'phananh-other-city-'));
    try {
      const areasFile = path.join(dir, 'units.geojson');
      writeFileSync(areasFile, JSON.stringify(city.geojson));
      const decisions = await replayLabelled(city.reports.map((x) => JSON.stringify(x)).join('\n'), { areasFile, areaCodeProp: city.codeProp });
      const r = score(city.reports, decisions);
      expect(r.errors).toBe(0);
      expect(r.areaAccuracy).toBe(1);
      expect(r.categoryAccuracy).toBe(1);
      const ticket = new Map(decisions.map((d) => [d.id, d.ticket]));
      const engine = repeatScores(city.reports, (id) => ticket.get(id));
      expect(engine.recall).toBeGreaterThanOrEqual(0.95);
      expect(engine.falseMergeRate).toBeLessThanOrEqual(0.02);
      // The defaults for opaque categories must do at least as well as the naive rule.
      const naiveTicket = naiveTickets(city.reports);
      const naive = repeatScores(city.reports, (id) => naiveTicket.get(id));
      expect(naive.recall).toBeGreaterThan(0.8);
      expect(engine.recall).toBeGreaterThanOrEqual(naive.recall);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

