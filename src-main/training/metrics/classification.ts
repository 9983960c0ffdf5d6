/** Metrics of hard calls: confusion matrices and balanced accuracy (sklearn's definitions). */

/**
 * matrix[true][predicted] counts over classes 0..classes-1 (sklearn's confusion_matrix; for binary:
 * [[TN, FP], [FN, TP]]).
 */
export function confusionMatrix(
  labels: ArrayLike<number>,
  predicted: ArrayLike<number>,
  classes: number,
): number[][] {
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const row = m[labels[i]!];
    const p = predicted[i]!;
    if (!row || p < 0 || p >= classes)
      throw new RangeError(`class ${labels[i]} or ${p} is outside 0..${classes - 1}`);
    row[p]!++;
  }
  return m;
}

/** Mean over the classes present of each class's recall (sklearn's balanced_accuracy_score). */
export function balancedAccuracy(matrix: number[][]): number {
  let sum = 0;
  let present = 0;
  for (let c = 0; c < matrix.length; c++) {
    const row = matrix[c]!;
    const total = row.reduce((a, b) => a + b, 0);
    if (!total) continue;
    sum += row[c]! / total;
    present++;
  }
  return present ? sum / present : NaN;
}

/** Binary calls at a threshold on p(positive): 1 where score >= threshold. */
export function callsAt(scores: ArrayLike<number>, threshold: number): number[] {
  return Array.from(scores, (s) => (s >= threshold ? 1 : 0));
}

/** The most probable class of each row. */
export function argmaxCalls(probabilities: ArrayLike<number>[]): number[] {
  return probabilities.map((p) => {
    let best = 0;
    for (let c = 1; c < p.length; c++) if (p[c]! > p[best]!) best = c;
    return best;
  });
}
