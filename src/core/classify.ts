import type { Reason } from '../db/schema.ts';
import type { CategoryInfo } from './catalog.ts';
import { fold } from './text.ts';

export interface Classification {
  code: string | null;
  source: 'reporter' | 'classifier' | 'none';
  confidence: number;
  reasons: Reason[];
}

/** Keyword hits per category on folded text; multi-word phrases weigh more than single words. */
export function keywordScores(text: string, categories: CategoryInfo[]): { code: string; score: number; hits: string[] }[] {
  const f = ` ${fold(text)} `;
  const scored = categories.map((c) => {
    const hits = c.keywords.filter((k) => k && f.includes(` ${k} `));
    const score = hits.reduce((s, k) => s + k.split(' ').length, 0);
    return { code: c.code, score, hits };
  });
  return scored.filter((s) => s.score > 0).sort((a, b) => b.score - a.score);
}

/**
 * Decides the category: the reporter's choice is kept unless the text clearly points
 * elsewhere (then flagged for an agent); otherwise the best keyword match, or none when the
 * evidence is thin, which sends the ticket to triage instead of guessing.
 */
export function classify(text: string, picked: string | undefined, categories: CategoryInfo[]): Classification {
  const scores = keywordScores(text, categories);
  const best = scores[0];
  const total = scores.reduce((s, x) => s + x.score, 0);
  const confidence = best ? best.score / (total + 1) : 0;
  if (picked && picked !== 'khac') {
    const reasons: Reason[] = [{ step: 'classify', code: 'category_from_reporter', message: `reporter chose ${picked}` }];
    const own = scores.find((s) => s.code === picked);
    if (best && best.code !== picked && !own && best.score >= 2) {
      reasons.push({
        step: 'classify', code: 'category_contradicted',
        message: `text suggests ${best.code} (${best.hits.join(', ')}); kept the reporter's choice for an agent to confirm`,
        score: confidence,
      });
    }
    return { code: picked, source: 'reporter', confidence: own ? Math.max(confidence, 0.9) : 0.7, reasons };
  }
  if (best && confidence >= 0.4) {
    return {
      code: best.code, source: 'classifier', confidence,
      reasons: [{ step: 'classify', code: 'category_keywords', message: `matched ${best.hits.join(', ')}`, score: confidence }],
    };
  }
  return {
    code: picked ?? null, source: picked ? 'reporter' : 'none', confidence,
    reasons: [{ step: 'classify', code: 'category_uncertain', message: best ? `weak evidence for ${best.code}` : 'no category evidence in the text', score: confidence }],
  };
}
