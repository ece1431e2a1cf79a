import { defineConfig } from 'vitest/config';

// Tests live in test/ and, a channel's own, in its folder (channels/<name>/*.test.ts).
// Every database test runs on embedded PGlite, and again on a PostgreSQL server when
// TEST_DATABASE_URL is set (CI does). Pure unit tests under test/unit run once.
const server = process.env.TEST_DATABASE_URL;

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Three files at once on two cores: most of a database test's time is waiting (on PostgreSQL,
    // on a child process, on a browser), so the CI run is about two minutes shorter than with two.
    maxWorkers: 3,
    projects: [
      { extends: true, test: { name: 'pglite', include: ['test/**/*.test.ts', 'channels/**/*.test.ts'], env: { TEST_DB: 'pglite' } } },
      ...(server
        ? [{ extends: true as const, test: { name: 'postgres', include: ['test/**/*.test.ts', 'channels/**/*.test.ts'], exclude: ['test/unit/**'], env: { TEST_DB: 'postgres' } } }]
        : []),
    ],
  },
});
