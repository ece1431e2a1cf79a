// natural's package entry imports every storage back-end (which read .env at import time);
// we import the Bayes classifier's own file, which has no such side effects.
declare module 'natural/lib/natural/classifiers/bayes_classifier.js' {
  interface Classification { label: string; value: number }
  class BayesClassifier {
    constructor(stemmer?: unknown, smoothing?: number);
    addDocument(text: string[] | string, label: string): void;
    train(): void;
    getClassifications(observation: string[] | { indexOf(s: string): number }): Classification[];
  }
  export default BayesClassifier;
}
