/**
 * ROC curve and AUROC of binary scores, computed as scikit-learn does (roc_curve with drop_intermediate,
 * roc_auc_score by the trapezoidal rule over the curve, so tied scores count half), checked against it on
 * committed fixtures.
 */

export interface RocCurve {
  /** False-positive rate at each threshold, from 0 to 1. */
  fpr: number[];
  /** True-positive rate at each threshold, from 0 to 1. */
  tpr: number[];
  /** Score thresholds (a slide is called positive when its score >= threshold); the first is +Infinity. */
  thresholds: number[];
}

function checkInput(labels: ArrayLike<number>, scores: ArrayLike<number>): void {
  if (labels.length !== scores.length)
    throw new RangeError(`${labels.length} labels but ${scores.length} scores`);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new RangeError(`label ${labels[i]} is not 0 or 1`);
    if (!Number.isFinite(scores[i]!)) throw new RangeError(`score ${scores[i]} is not a finite number`);
  }
}

/** Cumulative false and true positives at each distinct score, highest score first. */
function cumulativeCounts(labels: ArrayLike<number>, scores: ArrayLike<number>) {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const fps: number[] = [];
  const tps: number[] = [];
  const thresholds: number[] = [];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    if (labels[i] === 1) tp++;
    else fp++;
    const next = order[k + 1];
    if (next === undefined || scores[next] !== scores[i]) {
      tps.push(tp);
      fps.push(fp);
      thresholds.push(scores[i]!);
    }
  }
  return { fps, tps, thresholds };
}

/** sklearn.metrics.roc_curve(labels, scores) with its default drop_intermediate=True. */
export function rocCurve(labels: ArrayLike<number>, scores: ArrayLike<number>): RocCurve {
  checkInput(labels, scores);
  const { fps, tps, thresholds } = cumulativeCounts(labels, scores);
  // Drop the points where the curve goes straight on (both second differences zero), keep the ends.
  const keep: number[] = [];
  for (let i = 0; i < fps.length; i++) {
    if (i === 0 || i === fps.length - 1) keep.push(i);
    else if (fps[i + 1]! - 2 * fps[i]! + fps[i - 1]! !== 0 || tps[i + 1]! - 2 * tps[i]! + tps[i - 1]! !== 0)
      keep.push(i);
  }
  const positives = tps.at(-1) ?? 0;
  const negatives = fps.at(-1) ?? 0;
  const curve: RocCurve = { fpr: [0], tpr: [0], thresholds: [Infinity] };
  for (const i of keep) {
    curve.fpr.push(negatives ? fps[i]! / negatives : NaN);
    curve.tpr.push(positives ? tps[i]! / positives : NaN);
    curve.thresholds.push(thresholds[i]!);
  }
  return curve;
}

/**
 * Area under the ROC curve (sklearn's roc_auc_score for binary labels). NaN where one class is absent
 * (sklearn raises there; callers say why in words).
 */
export function auroc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  checkInput(labels, scores);
  const { fps, tps } = cumulativeCounts(labels, scores);
  const positives = tps.at(-1) ?? 0;
  const negatives = fps.at(-1) ?? 0;
  if (!positives || !negatives) return NaN;
  let area = 0;
  let prevF = 0;
  let prevT = 0;
  for (let i = 0; i < fps.length; i++) {
    area += ((fps[i]! - prevF) * (tps[i]! + prevT)) / 2;
    prevF = fps[i]!;
    prevT = tps[i]!;
  }
  return area / (positives * negatives);
}

/** One-vs-rest AUROC averaged over classes (sklearn's multi_class="ovr", average="macro"). */
export function aurocOneVsRest(labels: ArrayLike<number>, probabilities: ArrayLike<number>[]): number {
  const classes = probabilities[0]?.length ?? 0;
  let sum = 0;
  for (let c = 0; c < classes; c++) {
    const y = Array.from(labels, (l) => (l === c ? 1 : 0));
    sum += auroc(
      y,
      probabilities.map((p) => p[c]!),
    );
  }
  return sum / classes;
}
