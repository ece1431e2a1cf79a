import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// Tests live in test/ and, a channel's own, in its folder (channels/<name>/*.test.ts).
// Every database test runs on embedded PGlite, and again on a PostgreSQL server when
// TEST_DATABASE_URL is set (CI does). Pure unit tests under test/unit run once.
const server = process.env.TEST_DATABASE_URL;

// The files that take minutes (each starts processes or replays whole evaluation sets), first:
// a fresh clone has no timings cached, and one of them starting last made the run's tail
// (measured on the CI machine, 2026-12-07: 218, 144, 93, 75 and 65 s of a 13-minute run).
const SLOW_FIRST = ['pglite:test/cli.test.ts', 'pglite:test/unit/replay.test.ts', 'pglite:test/eval.test.ts',
  'postgres:test/drills/crash-restart.drill.test.ts', 'postgres:test/cli.test.ts'];

class SlowFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const k = SLOW_FIRST.indexOf(`${f.project.name}:${relative(f.project.config.root, f.moduleId)}`);
      return k < 0 ? SLOW_FIRST.length : k;
    };
    return (await super.sort(files)).map((f, n) => ({ f, n })).sort((a, b) => rank(a.f) - rank(b.f) || a.n - b.n).map((x) => x.f);
  }
}

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Three files at once on two cores: most of a database test's time is waiting (on PostgreSQL,
    // on a child process, on a browser), so the CI run is about two minutes shorter than with two.
    maxWorkers: 3,
    sequence: { sequencer: SlowFirst },
    projects: [
      { extends: true, test: { name: 'pglite', include: ['test/**/*.test.ts', 'channels/**/*.test.ts'], env: { TEST_DB: 'pglite' } } },
      ...(server
        ? [{ extends: true as const, test: { name: 'postgres', include: ['test/**/*.test.ts', 'channels/**/*.test.ts'], exclude: ['test/unit/**'], env: { TEST_DB: 'postgres' } } }]
        : []),
    ],
  },
});
