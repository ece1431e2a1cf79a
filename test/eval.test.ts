// The engine against the hand-labelled evaluation set: the README's figures, kept honest.
// Replay runs on its own in-memory database, so this runs in the PGlite project only.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEST_DB } from './support/db.ts';
import { evaluate, type Decision } from './eval/evaluate.ts';

describe.runIf(TEST_DB === 'pglite')('evaluation set', () => {
  const file = path.resolve(import.meta.dirname, 'fixtures/eval-reports.jsonl');
  let batched: Awaited<ReturnType<typeof evaluate>>;

  it('meets the dedup, area and category targets', async () => {
    batched = await evaluate(file);
    const { result } = batched;
    expect(result.errors).toBe(0);
    expect(result.f1).toBeGreaterThanOrEqual(0.9);
    expect(result.precision).toBeGreaterThanOrEqual(0.95);
    expect(result.areaAccuracy).toBeGreaterThanOrEqual(0.95);
    expect(result.categoryAccuracy).toBeGreaterThanOrEqual(0.85);
  }, 300_000);

  it('decides the same whether reports are processed in batches (as under load) or one at a time', async () => {
    const single = await evaluate(file, { batchSize: 1 });
    const brief = (d: Decision) => ({ id: d.id, ticket: d.ticket, relation: d.relation, area: d.area_code, category: d.category, score: (d as { score?: number }).score });
    expect(batched.decisions.length).toBe(single.decisions.length);
    expect(batched.decisions.map(brief)).toEqual(single.decisions.map(brief));
  }, 300_000);
});
