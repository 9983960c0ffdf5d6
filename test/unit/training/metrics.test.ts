/**
 * Metrics against scikit-learn: AUROC, ROC points, balanced accuracy and confusion matrices on fixtures that
 * test/fixtures/metrics/make_metrics_fixtures.py wrote once with python3-sklearn; and the bootstrap interval.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bootstrapInterval, percentile } from '../../../src-main/training/metrics/bootstrap.js';
import {
  argmaxCalls,
  balancedAccuracy,
  callsAt,
  confusionMatrix,
} from '../../../src-main/training/metrics/classification.js';
import { auroc, aurocOneVsRest, rocCurve } from '../../../src-main/training/metrics/roc.js';
import { taskMetrics } from '../../../src-main/training/metrics/task-metrics.js';
import { repoRoot } from '../../helpers/temp.js';

interface BinaryCase {
  name: string;
  labels: number[];
  scores: number[];
  auroc: number;
  roc: { fpr: number[]; tpr: number[]; thresholds: number[] };
  threshold: number;
  balancedAccuracy: number;
  confusion: number[][];
}
interface MulticlassCase {
  name: string;
  labels: number[];
  probabilities: number[][];
  aurocMacroOvr: number;
  balancedAccuracy: number;
  confusion: number[][];
}
const fixtures = JSON.parse(
  fs.readFileSync(path.join(repoRoot, 'test', 'fixtures', 'metrics', 'metrics.json'), 'utf8'),
) as { binary: BinaryCase[]; multiclass: MulticlassCase[] };

function close(a: number[], b: number[]): void {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 12));
}

describe('metrics match scikit-learn', () => {
  it.each(fixtures.binary.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    if (Number.isNaN(c.auroc)) expect(auroc(c.labels, c.scores)).toBeNaN();
    else expect(auroc(c.labels, c.scores)).toBeCloseTo(c.auroc, 12);
    const curve = rocCurve(c.labels, c.scores);
    close(curve.fpr, c.roc.fpr);
    close(curve.tpr, c.roc.tpr);
    expect(curve.thresholds[0]).toBe(Infinity);
    close(curve.thresholds.slice(1), c.roc.thresholds);
    const m = confusionMatrix(c.labels, callsAt(c.scores, c.threshold), 2);
    expect(m).toEqual(c.confusion);
    expect(balancedAccuracy(m)).toBeCloseTo(c.balancedAccuracy, 12);
  });

  it.each(fixtures.multiclass.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(aurocOneVsRest(c.labels, c.probabilities)).toBeCloseTo(c.aurocMacroOvr, 12);
    const m = confusionMatrix(c.labels, argmaxCalls(c.probabilities), 3);
    expect(m).toEqual(c.confusion);
    expect(balancedAccuracy(m)).toBeCloseTo(c.balancedAccuracy, 12);
  });

  it('the fixtures cover ties, perfect and reversed separation', () => {
    const names = fixtures.binary.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['tied scores', 'perfect separation', 'reversed']));
    expect(fixtures.binary.find((c) => c.name === 'perfect separation')!.auroc).toBe(1);
    expect(fixtures.binary.find((c) => c.name === 'reversed')!.auroc).toBe(0);
    expect(fixtures.binary.find((c) => c.name === 'constant scores')!.auroc).toBe(0.5);
  });
});

describe('bootstrap interval', () => {
  it('is seeded: the same seed gives the same interval, another seed another', () => {
    const c = fixtures.binary.find((x) => x.name === 'informative scores, 200 slides')!;
    const stat = (idx: Int32Array) =>
      auroc(
        Array.from(idx, (i) => c.labels[i]!),
        Array.from(idx, (i) => c.scores[i]!),
      );
    const a = bootstrapInterval(c.labels.length, stat, { seed: 3, resamples: 300 });
    const b = bootstrapInterval(c.labels.length, stat, { seed: 3, resamples: 300 });
    const other = bootstrapInterval(c.labels.length, stat, { seed: 4, resamples: 300 });
    expect(a).toEqual(b);
    expect(other).not.toEqual(a);
    expect(a[0]).toBeLessThan(c.auroc);
    expect(a[1]).toBeGreaterThan(c.auroc);
    expect(a[1] - a[0]).toBeGreaterThan(0.05);
    expect(a[1] - a[0]).toBeLessThan(0.3);
  });

  it('percentile interpolates like numpy', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([1, 2, 3, 4, 5], 2.5)).toBeCloseTo(1.1, 12);
  });
});

describe('task metrics', () => {
  it('binary: AUROC with its interval, calls at the threshold, one ROC curve', () => {
    const c = fixtures.binary.find((x) => x.name === 'informative, threshold 0.3')!;
    const m = taskMetrics(
      { labels: c.labels, probabilities: c.scores.map((s) => [1 - s, s]) },
      { values: ['neg', 'pos'], threshold: 0.3, seed: 1, resamples: 200 },
    );
    expect(m.auroc).toBeCloseTo(c.auroc, 12);
    expect(m.aurocCi[0]!).toBeLessThan(c.auroc);
    expect(m.confusion).toEqual(c.confusion);
    expect(m.balancedAccuracy).toBeCloseTo(c.balancedAccuracy, 12);
    expect(m.roc).toHaveLength(1);
    expect(m.roc[0]!.thresholds[0]).toBeNull();
    expect(m.counts).toEqual({
      neg: c.labels.filter((l) => l === 0).length,
      pos: c.labels.filter((l) => l === 1).length,
    });
    // JSON-safe: no Infinity or NaN anywhere.
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
  });

  it('a part with one class has no AUROC (null, not a number)', () => {
    const m = taskMetrics(
      {
        labels: [1, 1, 1],
        probabilities: [
          [0.2, 0.8],
          [0.6, 0.4],
          [0.1, 0.9],
        ],
      },
      { values: ['neg', 'pos'], seed: 1 },
    );
    expect(m.auroc).toBeNull();
    expect(m.aurocCi).toEqual([null, null]);
    expect(m.balancedAccuracy).toBeCloseTo(2 / 3, 12);
  });
});
