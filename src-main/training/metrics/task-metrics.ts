/**
 * The metrics of one task over one part of a split: AUROC with a seeded bootstrap 95% interval, balanced
 * accuracy and the confusion matrix at a threshold (binary) or by the most probable class (categorical),
 * and ROC curve points (one-vs-rest per class for a categorical task).
 */
import type { TaskMetrics } from '../../contract/contract.js';
import { bootstrapInterval } from './bootstrap.js';
import { argmaxCalls, balancedAccuracy, callsAt, confusionMatrix } from './classification.js';
import { auroc, aurocOneVsRest, rocCurve } from './roc.js';

export interface TaskPredictions {
  /** Class index of each slide's label (binary: 0 negative, 1 positive). */
  labels: number[];
  /** Per slide, the probability of each class (binary: [p(negative), p(positive)]). */
  probabilities: number[][];
}

export interface TaskMetricsOptions {
  values: string[];
  /** Binary: p(positive) at or above it is called positive (default 0.5). */
  threshold?: number;
  seed: number;
  resamples?: number;
}

export function taskMetrics(p: TaskPredictions, options: TaskMetricsOptions): TaskMetrics {
  const classes = options.values.length;
  const binary = classes === 2;
  const threshold = options.threshold ?? 0.5;
  const positive = p.probabilities.map((row) => row[1] ?? 0);
  const aurocOf = (idx?: Int32Array): number => {
    const labels = idx ? Array.from(idx, (i) => p.labels[i]!) : p.labels;
    if (binary) return auroc(labels, idx ? Array.from(idx, (i) => positive[i]!) : positive);
    const probs = idx ? Array.from(idx, (i) => p.probabilities[i]!) : p.probabilities;
    for (let c = 0; c < classes; c++) if (!labels.includes(c)) return NaN;
    return aurocOneVsRest(labels, probs);
  };
  const calls = binary ? callsAt(positive, threshold) : argmaxCalls(p.probabilities);
  const confusion = confusionMatrix(p.labels, calls, classes);
  const counts = Object.fromEntries(
    options.values.map((v, c) => [v, p.labels.filter((l) => l === c).length]),
  );
  const roc = binary
    ? [{ value: options.values[1]!, ...finiteCurve(rocCurve(p.labels, positive)) }]
    : options.values.map((value, c) => ({
        value,
        ...finiteCurve(
          rocCurve(
            p.labels.map((l) => (l === c ? 1 : 0)),
            p.probabilities.map((row) => row[c]!),
          ),
        ),
      }));
  const value = aurocOf();
  const ci = Number.isNaN(value)
    ? ([NaN, NaN] as [number, number])
    : bootstrapInterval(p.labels.length, aurocOf, { seed: options.seed, resamples: options.resamples });
  return {
    slides: p.labels.length,
    counts,
    auroc: nullIfNaN(value),
    aurocCi: [nullIfNaN(ci[0]), nullIfNaN(ci[1])],
    balancedAccuracy: nullIfNaN(balancedAccuracy(confusion)),
    threshold: binary ? threshold : null,
    confusion,
    roc,
  };
}

function nullIfNaN(v: number): number | null {
  return Number.isNaN(v) ? null : v;
}

/** JSON has no Infinity: the first threshold ("above every score") is written as null. */
function finiteCurve(c: { fpr: number[]; tpr: number[]; thresholds: number[] }) {
  return {
    fpr: c.fpr.map((v) => (Number.isNaN(v) ? 0 : v)),
    tpr: c.tpr.map((v) => (Number.isNaN(v) ? 0 : v)),
    thresholds: c.thresholds.map((t) => (Number.isFinite(t) ? t : null)),
  };
}
