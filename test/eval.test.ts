// The engine against the hand-labelled evaluation set: the README's figures, kept honest.
// Replay runs on its own in-memory database, so this runs in the PGlite project only.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEST_DB } from './support/db.ts';
import { evaluate } from './eval/evaluate.ts';

describe.runIf(TEST_DB === 'pglite')('evaluation set', () => {
  it('meets the dedup, area and category targets', async () => {
    const { result } = await evaluate(path.resolve(import.meta.dirname, 'fixtures/eval-reports.jsonl'));
    expect(result.errors).toBe(0);
    expect(result.f1).toBeGreaterThanOrEqual(0.9);
    expect(result.precision).toBeGreaterThanOrEqual(0.95);
    expect(result.areaAccuracy).toBeGreaterThanOrEqual(0.95);
    expect(result.categoryAccuracy).toBeGreaterThanOrEqual(0.85);
  }, 300_000);
});
