import BayesClassifier from 'natural/lib/natural/classifiers/bayes_classifier.js';
import { fold } from './text.ts';

// Chat spellings and abbreviations residents type, mapped to the full folded word.
const SPELLINGS: Record<string, string> = {
  ko: 'khong', k: 'khong', kg: 'khong', hok: 'khong', hong: 'khong', dc: 'duoc', dk: 'duoc', j: 'gi', bt: 'binh thuong',
  ng: 'nguoi', nc: 'nuoc', vs: 'voi', ntn: 'nhu the nao', tr: 'troi', hxh: 'hem xe hoi', kp: 'khu pho', sn: 'so nha',
  p: 'phuong', q: 'quan', f: 'phuong', tp: 'thanh pho', d: 'duong', mn: 'moi nguoi', ak: 'a', oy: 'roi', r: 'roi',
};

// Words that carry no topic: function words and place-name scaffolding.
const STOP = new Set(['va', 'la', 'cua', 'co', 'thi', 'ma', 'o', 'tai', 'cho', 'nha', 'em', 'anh', 'chi', 'toi', 'minh', 'a', 'da', 'dang', 'se',
  'rat', 'qua', 'nay', 'do', 'kia', 'cac', 'nhung', 'mot', 'nhieu', 'duoc', 'bi', 'phuong', 'quan', 'duong', 'so', 'hem', 'thanh', 'pho',
  'xin', 'vui', 'long', 'de', 'nghi', 'kinh', 'gui', 'ai', 'gi', 'roi', 'luc', 'gio', 'ngay', 'hom', 'khu', 'vuc', 'tren', 'trong', 'ra', 'vao']);

// The call centre's and the letter writer's scaffolding: who reports, to whom, and what they ask
// ("Người dân phản ánh tình trạng …", "Đề nghị đơn vị chức năng xuống kiểm tra", "Đã hướng dẫn
// người dân, chuyển đơn vị xử lý"). It says nothing of the topic, but an agent's note around a
// short complaint is most of its words: the examples of whichever topic had most such notes won
// ("tiếng ồn lớn ban đêm" inside a note read as rubbish). Removed as phrases, so that the words
// alone ("người", "dân") stay where they carry meaning ("người đi bộ").
const SCAFFOLDING = [
  'nguoi dan', 'cong dan', 'ba con', 'anh chi', 'cu dan', 'phan anh', 'phan anh kien nghi', 'tinh trang', 'cho biet', 'goi den', 'goi bao', 'goi phan anh',
  'goi lai', 'tong dai', 'de nghi', 'kiem tra', 'xu ly', 'xu ly som', 'xu ly gap', 'huong dan', 'chuyen don vi', 'don vi chuc nang', 'co quan chuc nang',
  'buc xuc', 'xuong kiem tra', 'kinh gui', 'tran trong', 'cam on', 'xin cam on', 'bao cao', 'xin phan anh', 'ghi nhan', 'tiep nhan',
].map((p) => p.split(' '));
const SCAFFOLDING_BY_FIRST = new Map<string, string[][]>();
for (const p of SCAFFOLDING.sort((a, b) => b.length - a.length)) SCAFFOLDING_BY_FIRST.set(p[0]!, [...(SCAFFOLDING_BY_FIRST.get(p[0]!) ?? []), p]);

/** The words without the scaffolding phrases (longest first). */
function withoutScaffolding(words: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const hit = SCAFFOLDING_BY_FIRST.get(words[i]!)?.find((p) => p.every((x, k) => words[i + k] === x));
    if (hit) i += hit.length - 1;
    else out.push(words[i]!);
  }
  return out;
}

/**
 * Topic features of a text: folded syllables with chat spellings expanded, minus stop words and
 * the scaffolding of a note or a letter, plus syllable bigrams ("den_duong", "o_ga") which carry
 * most of the meaning in Vietnamese.
 */
export function topicFeatures(text: string): string[] {
  const words = withoutScaffolding(fold(text).split(' ').filter(Boolean).map((w) => SPELLINGS[w] ?? w).join(' ').split(' '));
  const out = new Set<string>();
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (!/^\d+$/.test(w) && !STOP.has(w)) out.add(w);
    const next = words[i + 1];
    if (next && !/^\d+$/.test(w) && !/^\d+$/.test(next)) out.add(`${w}_${next}`);
  }
  return [...out];
}

export interface TopicExample {
  text: string;
  category: string;
}

export interface TopicPrediction {
  code: string;
  /** Posterior probability of the best category, 0..1. */
  confidence: number;
  ranking: { code: string; p: number }[];
  /** The share of the text's features the model was trained on: what the ranking rests on. */
  known: number;
}

/** A naive Bayes topic model (natural) over folded syllables and bigrams. */
export class TopicModel {
  readonly #bayes: BayesClassifier;
  /** Each trained feature's position in natural's feature vector. */
  readonly #index: Map<string, number>;
  readonly labels: string[];

  private constructor(bayes: BayesClassifier, labels: string[]) {
    this.#bayes = bayes;
    this.labels = labels;
    // natural numbers features in the enumeration order of its `features` object.
    this.#index = new Map();
    for (const f in bayes.features) this.#index.set(f, this.#index.size);
  }

  static train(examples: TopicExample[]): TopicModel {
    const bayes = new BayesClassifier();
    for (const e of examples) {
      const f = topicFeatures(e.text);
      // natural's train() asks every document indexOf() of every feature in the vocabulary;
      // on a plain array that is a scan each time (seconds at start), a Set makes it O(1).
      const has = new Set(f);
      if (f.length) bayes.addDocument(Object.assign(f, { indexOf: (x: string) => (has.has(x) ? 0 : -1) }), e.category);
    }
    bayes.train();
    return new TopicModel(bayes, [...new Set(examples.map((e) => e.category))]);
  }

  predict(text: string): TopicPrediction | null {
    const features = new Set(topicFeatures(text));
    if (features.size === 0) return null;
    // natural's own getClassifications builds a 0/1 vector over the whole vocabulary for every
    // text (most of a report's processing time); the classifier underneath also takes the
    // indices of the features present, which gives the same sums over a handful of entries.
    const sparse: Record<number, number> = {};
    let n = 0;
    for (const f of features) {
      const i = this.#index.get(f);
      if (i !== undefined) sparse[n++] = i;
    }
    const raw = this.#bayes.classifier.getClassifications(sparse);
    const total = raw.reduce((s, r) => s + r.value, 0);
    if (!(total > 0)) return null;
    const ranking = raw.map((r) => ({ code: r.label, p: r.value / total }));
    const best = ranking[0]!;
    return { code: best.code, confidence: best.p, ranking, known: n / features.size };
  }
}
