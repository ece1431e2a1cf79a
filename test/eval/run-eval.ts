// `npm run eval`: the engine against the hand-labelled set in test/fixtures/eval-reports.jsonl.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluate } from './evaluate.ts';

const file = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/eval-reports.jsonl');
const { result: r } = await evaluate(file);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const verbose = process.argv.includes('--misses');
console.log(`phananh eval: ${r.reports} labelled reports (${path.relative(process.cwd(), file)}), ${r.errors} errors`);
console.log('');
console.log('| measure | value | target |');
console.log('|---|---|---|');
console.log(`| dedup pairwise precision | ${pct(r.precision)} | |`);
console.log(`| dedup pairwise recall | ${pct(r.recall)} | |`);
console.log(`| dedup pairwise F1 | ${pct(r.f1)} | >= 90% |`);
console.log(`| area accuracy | ${pct(r.areaAccuracy)} | >= 95% |`);
console.log(`| category accuracy | ${pct(r.categoryAccuracy)} | >= 85% |`);
console.log('');
console.log(`pairs: ${r.pairs.truePositive} true positive, ${r.pairs.falsePositive} false positive, ${r.pairs.falseNegative} false negative`);
if (verbose) for (const m of r.misses) console.log(`miss ${m.kind} ${m.id}: want ${m.want} got ${m.got}`);
const ok = r.f1 >= 0.9 && r.areaAccuracy >= 0.95 && r.categoryAccuracy >= 0.85;
console.log(ok ? 'all targets met' : 'some targets missed');
