// natural's package entry imports every storage back-end (which read .env at import time);
// we import the Bayes classifier's own file, which has no such side effects.
declare module 'natural/lib/natural/classifiers/bayes_classifier.js' {
  interface Classification { label: string; value: number }
  class BayesClassifier {
    constructor(stemmer?: unknown, smoothing?: number);
    addDocument(text: string[] | string, label: string): void;
    train(): void;
    getClassifications(observation: string[] | { indexOf(s: string): number }): Classification[];
    /** Every feature seen in training; their enumeration order is the feature vector's order. */
    features: Record<string, unknown>;
    /** The apparatus classifier underneath: takes a dense 0/1 vector or a sparse {n: featureIndex} object. */
    classifier: { getClassifications(observation: number[] | Record<number, number>): Classification[] };
  }
  export default BayesClassifier;
}
