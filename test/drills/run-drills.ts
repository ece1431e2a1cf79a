import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { DrillResult } from './support.ts';
import { RESULTS_DIR, ROOT } from './support.ts';
import { pgInstanceUnavailable } from './pg-instance.ts';

// `npm run drill`: runs the reliability drills (test/drills/*.drill.test.ts, the same tests CI
// runs in its postgres project), each on its own throwaway PostgreSQL, then prints the figures
// they recorded as one table. Exits non-zero when a drill failed.

const why = pgInstanceUnavailable();
if (why) {
  console.error(`drills cannot run here: ${why}`);
  process.exit(1);
}

rmSync(RESULTS_DIR, { recursive: true, force: true });
const env: NodeJS.ProcessEnv = { ...process.env, PHANANH_DRILLS: '1', DOTENV_CONFIG_QUIET: 'true' };
// One project only (the drills bring their own database; the shared server is not needed).
delete env.TEST_DATABASE_URL;
const vitest = path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
const run = spawnSync(process.execPath, [vitest, 'run', '--project', 'pglite', 'test/drills/', ...process.argv.slice(2)], {
  cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit'],
});

const results: DrillResult[] = existsSync(RESULTS_DIR)
  ? readdirSync(RESULTS_DIR).filter((f) => f.endsWith('.json')).sort()
    .map((f) => JSON.parse(readFileSync(path.join(RESULTS_DIR, f), 'utf8')) as DrillResult)
  : [];

const fmt = (v: number | null) => (v === null ? '–' : String(v));
const header = ['drill', 'sent', 'stored', 'lost', 'doubled', 'events missed', 'failover s', 'ok'];
const rows = results.map((r) => [r.drill, fmt(r.sent), fmt(r.stored), fmt(r.lost), fmt(r.doubled), fmt(r.eventsMissed), fmt(r.failoverSeconds), r.ok ? 'yes' : 'NO']);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
console.log('');
console.log(line(header));
console.log(`|${widths.map((w, i) => (i === 0 ? ':' : '-') + '-'.repeat(w) + (i === 0 ? '-' : ':')).join('|')}|`);
for (const r of rows) console.log(line(r));
for (const r of results) if (r.notes) console.log(`\n${r.drill}: ${r.notes}`);
if (results.length === 0) console.log('(no drill recorded figures)');
process.exit(run.status === 0 && results.every((r) => r.ok) ? 0 : 1);
