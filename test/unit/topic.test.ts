import { readFileSync } from 'node:fs';
import BayesClassifier from 'natural/lib/natural/classifiers/bayes_classifier.js';
import { describe, expect, it } from 'vitest';
import { TopicModel, topicFeatures, type TopicExample } from '../../src/core/engine/topic.ts';
import { classify, KNOWN_MIN, OTHER } from '../../src/core/engine/classify.ts';
import { loadTopicExamples } from '../../src/city/seed.ts';
import { freshDb } from '../support/db.ts';

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

  it("reads an agent's note by its complaint, not by the note's scaffolding around it", () => {
    // These notes read as rubbish and as traffic before the scaffolding ("người dân phản ánh
    // tình trạng", "đề nghị kiểm tra, xử lý", "đã hướng dẫn người dân") was left out.
    expect(model.predict('Người dân phản ánh tình trạng tiếng ồn lớn ban đêm tại tuyến này, ảnh hưởng người dân nghỉ ngơi. Đề nghị kiểm tra, xử lý.')?.code).toBe('tieng_on');
    expect(model.predict('Công dân phản ánh tiếng nhạc và la hét từ các quán kéo dài sau 23 giờ. Đã hướng dẫn người dân, chuyển đơn vị xử lý.')?.code).toBe('tieng_on');
    expect(topicFeatures('Người dân phản ánh tình trạng ổ gà. Đề nghị đơn vị chức năng xuống kiểm tra')).toEqual(['o_ga', 'ga']);
    // The words alone stay where they mean something.
    expect(topicFeatures('người đi bộ')).toContain('nguoi_di');
  });
});

describe('classify: the reporter\'s choice and the text', () => {
  const model = TopicModel.train(examples);

  it('keeps the reporter\'s choice when the text agrees or says little', () => {
    expect(classify('Rác bốc mùi hôi thối', 'rac_thai', model)).toMatchObject({ code: 'rac_thai', source: 'reporter' });
    expect(classify('Đề nghị kiểm tra giúp', 'chieu_sang', model)).toMatchObject({ code: 'chieu_sang', source: 'reporter' });
  });

  it('lets the text decide when the reporter chose "other" and the text clearly says which', () => {
    const c = classify('Nước ngập lút bánh xe sau cơn mưa, cống không thoát được', OTHER, model);
    expect(c).toMatchObject({ code: 'ngap_nuoc', source: 'classifier' });
    expect(c.reasons[0]).toMatchObject({ code: 'category_refined' });
  });

  it('does not let text made of words it never saw overrule the choice, or pick a topic, however sure it looks', () => {
    let crafted = '';
    for (let i = 0; crafted.length < 2000; i++) crafted += `${10 + i} A${'abcdefghijklmnopqrstuvwxyz'[i % 26]} Ka `;
    expect(model.predict(crafted)!.known).toBeLessThan(KNOWN_MIN);
    expect(classify(crafted, 'rac_thai', model)).toMatchObject({ code: 'rac_thai', source: 'reporter' });
    expect(classify(crafted, undefined, model)).toMatchObject({ code: null, source: 'none' });
  });

  it('keeps no alternative when the text and the choice agree', () => {
    expect(classify('Rác bốc mùi hôi thối', 'rac_thai', model).alternatives).toEqual([]);
  });

  it('lets a clear text override a contradicted choice, keeping the choice in the reasons for an agent to confirm', () => {
    const c = classify('Đèn đường tắt cả tuần, cột đèn không sáng, tối om', 'tieng_on', model);
    expect(c.code).toBe('chieu_sang');
    // The overruled choice stays an alternative: the incident's ticket on it still takes the report.
    expect(c.alternatives).toEqual(['tieng_on']);
    expect(c.reasons.map((r) => r.code)).toEqual(['category_from_reporter', 'category_contradicted']);
    expect(c.reasons[1]!.message).toContain("not the reporter's tieng_on");
  });
});

describe('the topic examples of a city', () => {
  it("trains each category's keywords as one example, so that a long e-mail is not pulled to the category without keywords", async () => {
    const h = await freshDb();
    try {
      const examples = await loadTopicExamples(h.db);
      const keywordExamples = examples.slice(readFileSync(new URL('../../seed/topics-vi.jsonl', import.meta.url), 'utf8').split('\n').filter((l) => l.trim()).length);
      // Ten categories have keywords, "khac" has none: ten examples, each holding a category's list.
      expect(keywordExamples.map((e) => e.category).sort()).toEqual(['an_ninh', 'cap_nuoc', 'cay_xanh', 'chieu_sang', 'giao_thong', 'lan_chiem', 'ngap_nuoc', 'rac_thai', 'tieng_on', 'xay_dung']);
      expect(keywordExamples.find((e) => e.category === 'ngap_nuoc')!.text).toContain('trieu cuong');
    } finally {
      await h.close();
    }
  });
});
