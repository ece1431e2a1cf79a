import { readFileSync } from 'node:fs';
import BayesClassifier from 'natural/lib/natural/classifiers/bayes_classifier.js';
import { describe, expect, it } from 'vitest';
import { TopicModel, topicFeatures, type TopicExample } from '../../src/core/engine/topic.ts';

const examples: TopicExample[] = readFileSync(new URL('../../seed/topics-vi.jsonl', import.meta.url), 'utf8')
  .split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as TopicExample);

describe('TopicModel', () => {
  const model = TopicModel.train(examples);
  // The same examples through natural's own (dense) path, as the model used them before.
  const dense = new BayesClassifier();
  for (const e of examples) {
    const f = topicFeatures(e.text);
    if (f.length) dense.addDocument(f, e.category);
  }
  dense.train();

  const texts = [
    'Nước ngập sâu trên đường Nguyễn Hữu Cảnh sau cơn mưa',
    'hat karaoke to qua 12h dem ko ngu dc',
    'Đèn đường hẻm 45 Trần Hưng Đạo bị tắt 3 đêm nay',
    'rác thải chất đống đầu hẻm bốc mùi hôi thối',
    'Cây xanh gãy đổ chắn ngang đường',
    'ổ gà lớn giữa đường xe máy té liên tục',
    'xin chào tổng đài', // little topic evidence
    'zzz qqq', // no known feature
  ];

  it.each(texts)('ranks %j exactly as natural\'s dense feature vector does', (text) => {
    const features = new Set(topicFeatures(text));
    const expected = dense.getClassifications({ indexOf: (f: string) => (features.has(f) ? 0 : -1) });
    const total = expected.reduce((s, r) => s + r.value, 0);
    const got = model.predict(text);
    if (features.size === 0 || !(total > 0)) {
      expect(got).toBeNull();
      return;
    }
    expect(got!.ranking.map((r) => r.code)).toEqual(expected.map((r) => r.label));
    for (const [i, r] of got!.ranking.entries()) expect(r.p).toBeCloseTo(expected[i]!.value / total, 12);
  });

  it('finds the obvious topics', () => {
    expect(model.predict('Nước ngập sâu trên đường Nguyễn Hữu Cảnh sau cơn mưa')?.code).toBe('ngap_nuoc');
    expect(model.predict('hat karaoke to qua 12h dem ko ngu dc')?.code).toBe('tieng_on');
  });
});
