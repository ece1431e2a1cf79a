import type { Reason } from '../../wire/staff-api.ts';
import type { TopicModel } from './topic.ts';

export interface Classification {
  code: string | null;
  source: 'reporter' | 'classifier' | 'none';
  confidence: number;
  reasons: Reason[];
}

/** Below this posterior the classifier does not guess: the ticket goes to triage. */
export const CONFIDENCE_MIN = 0.45;
/** A reporter's choice is flagged (kept) when the model is this sure of another topic. */
export const CONTRADICTION_MIN = 0.85;

/**
 * Decides the category: the reporter's choice is kept unless the text clearly points
 * elsewhere (then flagged for an agent); otherwise the topic model's answer when it is
 * confident, or none (triage) with the model's suggestion in the reasons.
 */
export function classify(text: string, picked: string | undefined, model: TopicModel | null): Classification {
  const pred = model?.predict(text) ?? null;
  const pOf = (code: string) => pred?.ranking.find((r) => r.code === code)?.p ?? 0;
  if (picked) {
    const reasons: Reason[] = [{ step: 'classify', code: 'category_from_reporter', message: `reporter chose ${picked}`, score: pOf(picked) }];
    if (pred && pred.code !== picked && pred.confidence >= CONTRADICTION_MIN && pOf(picked) < 0.05 && model?.labels.includes(picked)) {
      reasons.push({
        step: 'classify', code: 'category_contradicted',
        message: `text reads as ${pred.code} (${pred.confidence.toFixed(2)}); kept the reporter's choice for an agent to confirm`,
        score: pred.confidence,
      });
    }
    return { code: picked, source: 'reporter', confidence: Math.max(pOf(picked), 0.5), reasons };
  }
  if (pred && pred.confidence >= CONFIDENCE_MIN) {
    return {
      code: pred.code, source: 'classifier', confidence: pred.confidence,
      reasons: [{ step: 'classify', code: 'category_model', message: `topic model: ${pred.code} (${pred.confidence.toFixed(2)})`, score: pred.confidence }],
    };
  }
  return {
    code: null, source: 'none', confidence: pred?.confidence ?? 0,
    reasons: [{
      step: 'classify', code: 'category_uncertain',
      message: pred ? `unsure; best guess ${pred.code} (${pred.confidence.toFixed(2)}), left for triage` : 'no topic evidence in the text; left for triage',
      score: pred?.confidence ?? 0,
    }],
  };
}
