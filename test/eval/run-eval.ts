// `npm run eval`: the engine on five sets, side by side. The development sets
// (test/fixtures/eval-reports.jsonl, and dev1022-reports.jsonl and dev3-reports.jsonl with a
// 1022-like channel mix, most reports without a point, each written by an author who had not read
// the engine) are the ones the engine is tuned on; the held-out set
// (test/fixtures/heldout-reports.jsonl) was written independently, frozen before any tuning
// against it; the other city is synthetic (test/eval/other-city.ts): no text, opaque categories,
// repeats days apart, scored against its generator's truth and beside a naive rule.
// `npm run eval -- FILE` scores one labelled file instead; `--misses` lists the development sets' misses.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluate, replayLabelled, score, type EvalResult } from './evaluate.ts';
import { generateOtherCity, naiveTickets, repeatScores } from './other-city.ts';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');
const args = process.argv.slice(2);
const verbose = args.includes('--misses');
const only = args.find((a) => !a.startsWith('--'));
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

const sets: { name: string; file: string }[] = only
  ? [{ name: path.basename(only), file: only }]
  : [
    { name: 'development', file: path.join(fixtures, 'eval-reports.jsonl') },
    { name: 'development 1022 mix', file: path.join(fixtures, 'dev1022-reports.jsonl') },
    { name: 'development 3', file: path.join(fixtures, 'dev3-reports.jsonl') },
    { name: 'held-out', file: path.join(fixtures, 'heldout-reports.jsonl') },
  ];

const results: { name: string; r: EvalResult }[] = [];
for (const s of sets) {
  if (!existsSync(s.file)) {
    console.log(`(${s.name}: ${path.relative(process.cwd(), s.file)} is not there)`);
    continue;
  }
  const { result } = await evaluate(s.file);
  results.push({ name: s.name, r: result });
  // The held-out set's misses are not listed: it measures the engine, it is not read to tune it.
  if (verbose && s.name !== 'held-out') for (const m of result.misses) console.log(`${s.name} miss ${m.kind} ${m.id}: want ${m.want} got ${m.got}`);
}

const row = (label: string, f: (r: EvalResult) => string, target = '') =>
  console.log(`| ${label} | ${results.map(({ r }) => f(r)).join(' | ')} | ${target} |`);
console.log('');
console.log(`| measure | ${results.map(({ name, r }) => `${name} (${r.reports})`).join(' | ')} | target |`);
console.log(`|---|${results.map(() => '---|').join('')}---|`);
row('grouping pairwise precision', (r) => pct(r.precision), '>= 90 %');
row('grouping pairwise recall', (r) => pct(r.recall));
row('grouping pairwise F1', (r) => pct(r.f1), '>= 90 %');
row('unit accuracy (routed: its own, or its ticket\'s at the end)', (r) => pct(r.areaAccuracy), '>= 97 %');
row('unit accuracy at intake (before a later report placed its ticket)', (r) => pct(r.areaAtIntakeAccuracy));
row('category accuracy', (r) => pct(r.categoryAccuracy), '>= 90 %');
row('pairs: true / false positive / missed', (r) => `${r.pairs.truePositive} / ${r.pairs.falsePositive} / ${r.pairs.falseNegative}`);
row('errors', (r) => String(r.errors));

if (!only) {
  const city = generateOtherCity();
  const dir = mkdtempSync(path.join(tmpdir(), 'phananh-other-city-'));
  try {
    const areasFile = path.join(dir, 'other-city.geojson');
    writeFileSync(areasFile, JSON.stringify(city.geojson));
    const decisions = await replayLabelled(city.reports.map((x) => JSON.stringify(x)).join('\n'), { areasFile, areaCodeProp: city.codeProp });
    const ticket = new Map(decisions.map((d) => [d.id, d.ticket]));
    const engine = repeatScores(city.reports, (id) => ticket.get(id));
    const naive = naiveTickets(city.reports);
    const baseline = repeatScores(city.reports, (id) => naive.get(id));
    const pairs = score(city.reports, decisions);
    console.log('');
    console.log(`other city (synthetic, seed 311: ${city.reports.length} requests, no text, opaque categories, repeats days apart)`);
    console.log('');
    console.log('| measure | engine | naive rule (same type, 100 m, 36 h) | target |');
    console.log('|---|---|---|---|');
    console.log(`| repeats found | ${pct(engine.recall)} (${engine.found} of ${engine.repeats}) | ${pct(baseline.recall)} | >= 95 % |`);
    console.log(`| false merges | ${pct(engine.falseMergeRate)} (${engine.falseMerges} of ${engine.merges}) | ${pct(baseline.falseMergeRate)} | <= 10 % |`);
    console.log(`| pairwise F1 | ${pct(pairs.f1)} | | |`);
    console.log(`| unit accuracy | ${pct(pairs.areaAccuracy)} | | |`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
