import type { Reason } from '../../wire/staff-api.ts';
import type { TopicModel, TopicPrediction } from './topic.ts';
import type { TopicsOf } from './grouping.ts';

export interface Classification {
  code: string | null;
  source: 'reporter' | 'classifier' | 'none';
  confidence: number;
  /**
   * Other categories the report may be about (the reporter's choice the text overruled, the
   * model's reading the reporter's choice overruled, a close second): an incident's ticket on
   * one of them takes the report when the place is plainly the same.
   */
  alternatives: string[];
  /**
   * The model's next readings after those, however unlikely (naive Bayes is over-sure): the
   * topics whose tickets grouping also asks about (`GroupInput.crossTopics`).
   */
  nearTopics: string[];
  reasons: Reason[];
}

/** Below this posterior the classifier does not guess: the ticket goes to triage. */
export const CONFIDENCE_MIN = 0.45;
/** The catch-all category a reporter picks when no other fits. */
export const OTHER = 'khac';
/** A reporter's choice gives way (flagged for an agent) when the model is this sure of another topic. */
export const CONTRADICTION_MIN = 0.85;
/** The model's next readings kept as `Classification.nearTopics`. */
const NEAR_TOPICS = 2;
/** A category the model gives this much is an alternative (see `Classification.alternatives`). */
export const ALTERNATIVE_MIN = 0.1;
/**
 * The model is heard only on a text whose features it mostly knows (real reports: 0.44 and up,
 * half above 0.74): on words it has never seen (crafted text, another language) its ranking
 * rests on a handful of chance matches, however sure it looks.
 */
export const KNOWN_MIN = 0.25;

/**
 * Decides the category: the reporter's choice unless it is "other" and the text says which, or
 * the text clearly points elsewhere (then the text's, flagged for an agent to confirm);
 * otherwise the topic model's answer when it is confident, or none (triage) with the model's
 * suggestion in the reasons.
 */
export function classify(text: string, picked: string | undefined, model: TopicModel | null): Classification {
  const c = decideCategory(text, picked, model);
  const likely = c.pred?.ranking.filter((r) => r.p >= ALTERNATIVE_MIN).map((r) => r.code) ?? [];
  const alternatives = [...new Set([...(picked ? [picked] : []), ...likely])].filter((x) => x !== c.code).slice(0, 3);
  const ranked = [...(c.pred?.ranking ?? [])].sort((a, b) => b.p - a.p).map((r) => r.code);
  const nearTopics = ranked.filter((x) => x !== c.code && !alternatives.includes(x)).slice(0, NEAR_TOPICS);
  return { code: c.code, source: c.source, confidence: c.confidence, reasons: c.reasons, alternatives, nearTopics };
}

function decideCategory(text: string, picked: string | undefined, model: TopicModel | null): Omit<Classification, 'alternatives' | 'nearTopics'> & { pred: TopicPrediction | null } {
  const heard = model?.predict(text) ?? null;
  const pred = heard && heard.known >= KNOWN_MIN ? heard : null;
  const pOf = (code: string) => pred?.ranking.find((r) => r.code === code)?.p ?? 0;
  // "Other" is the reporter saying they do not know: the text, when it clearly says, decides.
  if (picked === OTHER && pred && pred.code !== OTHER && pred.confidence >= CONFIDENCE_MIN) {
    return {
      pred, code: pred.code, source: 'classifier', confidence: pred.confidence,
      reasons: [{ step: 'classify', code: 'category_refined', message: `reporter chose ${OTHER}; topic model: ${pred.code} (${pred.confidence.toFixed(2)})`, score: pred.confidence }],
    };
  }
  if (picked) {
    const reasons: Reason[] = [{ step: 'classify', code: 'category_from_reporter', message: `reporter chose ${picked}`, score: pOf(picked) }];
    // A choice the text clearly contradicts (the model near sure of another, near none for it):
    // the text decides, for grouping and routing; the ticket waits for an agent to confirm.
    if (pred && pred.code !== picked && pred.confidence >= CONTRADICTION_MIN && pOf(picked) < 0.05 && model?.labels.includes(picked)) {
      reasons.push({
        step: 'classify', code: 'category_contradicted',
        message: `text reads as ${pred.code} (${pred.confidence.toFixed(2)}), not the reporter's ${picked}; an agent confirms`,
        score: pred.confidence,
      });
      return { pred, code: pred.code, source: 'classifier', confidence: pred.confidence, reasons };
    }
    return { pred, code: picked, source: 'reporter', confidence: Math.max(pOf(picked), 0.5), reasons };
  }
  if (pred && pred.confidence >= CONFIDENCE_MIN) {
    return {
      pred, code: pred.code, source: 'classifier', confidence: pred.confidence,
      reasons: [{ step: 'classify', code: 'category_model', message: `topic model: ${pred.code} (${pred.confidence.toFixed(2)})`, score: pred.confidence }],
    };
  }
  return {
    pred, code: null, source: 'none', confidence: pred?.confidence ?? 0,
    reasons: [{
      step: 'classify', code: 'category_uncertain',
      message: pred ? `unsure; best guess ${pred.code} (${pred.confidence.toFixed(2)}), left for triage` : 'no topic evidence in the text; left for triage',
      score: pred?.confidence ?? 0,
    }],
  };
}

/** Tickets' words read, the least recently used forgotten first (a storm compares every report with the same hot tickets). */
const TOPICS_REMEMBERED = 512;

/**
 * What the model makes of a ticket's words, for grouping across topics: each category's
 * probability, or null when it knows too little of them (as for a report, KNOWN_MIN).
 */
export function topicsOfWords(model: TopicModel | null): TopicsOf | null {
  if (!model) return null;
  const remembered = new Map<string, ReadonlyMap<string, number> | null>();
  return (words) => {
    if (remembered.has(words)) {
      const hit = remembered.get(words)!;
      remembered.delete(words);
      remembered.set(words, hit);
      return hit;
    }
    const pred = model.predict(words);
    const read = pred && pred.known >= KNOWN_MIN ? new Map(pred.ranking.map((r) => [r.code, r.p])) : null;
    remembered.set(words, read);
    if (remembered.size > TOPICS_REMEMBERED) remembered.delete(remembered.keys().next().value!);
    return read;
  };
}
