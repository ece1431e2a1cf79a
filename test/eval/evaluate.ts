import { readFile } from 'node:fs/promises';
import { PassThrough, Readable } from 'node:stream';
import { runReplay } from '../../src/replay.ts';

export interface Labelled {
  id: string;
  label: { group: string; area_code: string | null; category: string };
}

export interface Decision {
  id: string;
  ticket?: string;
  area_code?: string | null;
  category?: string | null;
  relation?: string;
  reasons?: { code: string }[];
  error?: { code: string; message: string };
}

export interface EvalResult {
  reports: number;
  errors: number;
  pairs: { truePositive: number; falsePositive: number; falseNegative: number };
  precision: number;
  recall: number;
  f1: number;
  /** The unit each report is routed to at the end of the run: its own, or its ticket's. */
  areaAccuracy: number;
  /** The unit as decided when the report arrived, before a later report placed its ticket. */
  areaAtIntakeAccuracy: number;
  categoryAccuracy: number;
  misses: { id: string; kind: 'area' | 'category'; want: string | null; got: string | null | undefined }[];
}

/** Pairwise precision/recall of grouping, plus area and category accuracy, against hand labels. */
export function score(labelled: Labelled[], decisions: Decision[]): EvalResult {
  const byId = new Map(decisions.map((d) => [d.id, d]));
  let tp = 0, fp = 0, fn = 0, areaOk = 0, intakeOk = 0, catOk = 0, errors = 0;
  const misses: EvalResult['misses'] = [];
  for (let i = 0; i < labelled.length; i++) {
    const a = labelled[i]!;
    const da = byId.get(a.id);
    if (!da || da.error) errors++;
    if (da?.area_code === a.label.area_code || (da?.area_code == null && a.label.area_code == null)) areaOk++;
    else misses.push({ id: a.id, kind: 'area', want: a.label.area_code, got: da?.area_code });
    const atIntake = da?.reasons?.some((r) => r.code === 'area_from_ticket_later') ? null : da?.area_code;
    if (atIntake === a.label.area_code || (atIntake == null && a.label.area_code == null)) intakeOk++;
    if (da?.category === a.label.category) catOk++;
    else misses.push({ id: a.id, kind: 'category', want: a.label.category, got: da?.category });
    for (let j = i + 1; j < labelled.length; j++) {
      const b = labelled[j]!;
      const db = byId.get(b.id);
      const truth = a.label.group === b.label.group;
      const predicted = !!da?.ticket && da.ticket === db?.ticket;
      if (truth && predicted) tp++;
      else if (predicted) fp++;
      else if (truth) fn++;
    }
  }
  const precision = tp + fp ? tp / (tp + fp) : 1;
  const recall = tp + fn ? tp / (tp + fn) : 1;
  return {
    reports: labelled.length, errors,
    pairs: { truePositive: tp, falsePositive: fp, falseNegative: fn },
    precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0,
    areaAccuracy: areaOk / labelled.length, areaAtIntakeAccuracy: intakeOk / labelled.length, categoryAccuracy: catOk / labelled.length, misses,
  };
}

export interface EvaluateOptions {
  batchSize?: number;
  /** Another city's units (GeoJSON file) and their code property, as `phananh replay --areas`. */
  areasFile?: string;
  areaCodeProp?: string;
  /** A migrated, seeded database to start from (the tests' shortcut; see ReplayOptions.template). */
  template?: Blob;
}

/** Replays labelled JSON lines through the engine; returns the decisions, one per line. */
export async function replayLabelled(text: string, opts: EvaluateOptions = {}): Promise<Decision[]> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await runReplay({
    input: Readable.from([text]), output: out,
    ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
    ...(opts.template ? { template: opts.template } : {}),
    ...(opts.areasFile ? { areasFile: opts.areasFile, areaCodeProp: opts.areaCodeProp ?? 'code' } : {}),
  });
  out.end();
  return Buffer.concat(chunks).toString('utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Decision);
}

/** Replays a labelled JSON-lines file through the engine and scores the decisions. */
export async function evaluate(file: string, opts: EvaluateOptions = {}): Promise<{ result: EvalResult; decisions: Decision[] }> {
  const text = await readFile(file, 'utf8');
  const labelled = text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Labelled);
  const decisions = await replayLabelled(text, opts);
  return { result: score(labelled, decisions), decisions };
}
