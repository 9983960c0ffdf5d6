/**
 * Patient-level, stratified, seeded splitting. Slides are grouped by patient (a slide with no patient is
 * its own group), so no patient is ever on two sides. Groups are shuffled with the seed (after sorting,
 * so the database's row order does not matter), taken largest first, and each goes to the part where it
 * brings the per-class counts closest to their targets (fraction × class total): the squared-error greedy
 * that makes k folds of one-slide patients differ by at most one slide per class. Same slides, same seed,
 * same split. Pure: no database.
 */
import type { SplitScheme } from '../contract/contract.js';

export interface SplitCandidate {
  slideId: number;
  slideName: string;
  patient: string | null;
  /** The value the split stratifies by (a continuous task's quartile bin). */
  cls: string;
}

export interface PlannedPart {
  name: string;
  members: SplitCandidate[];
}

export interface PlannedSplit {
  parts: PlannedPart[];
  classes: string[];
  warnings: string[];
}

/** mulberry32: a small, well-known 32-bit generator; enough for shuffling, and the same everywhere. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function partNames(scheme: SplitScheme): string[] {
  if (scheme.kind === 'folds') return Array.from({ length: scheme.folds }, (_, i) => `fold-${i + 1}`);
  return scheme.fractions.length === 2 ? ['train', 'test'] : ['train', 'val', 'test'];
}

function partFractions(scheme: SplitScheme): number[] {
  return scheme.kind === 'folds' ? Array<number>(scheme.folds).fill(1 / scheme.folds) : scheme.fractions;
}

export function planSplit(
  candidates: SplitCandidate[],
  scheme: SplitScheme,
  seed: number,
  classOrder: string[],
): PlannedSplit {
  const names = partNames(scheme);
  const fractions = partFractions(scheme);
  const present = new Set(candidates.map((c) => c.cls));
  const classes = [
    ...classOrder.filter((c) => present.has(c)),
    ...[...present].filter((c) => !classOrder.includes(c)).sort(),
  ];
  const classIndex = new Map(classes.map((c, i) => [c, i]));

  const groups = new Map<string, SplitCandidate[]>();
  for (const c of [...candidates].sort((a, b) => a.slideId - b.slideId)) {
    const key = c.patient ?? `\u0000slide ${c.slideId}`;
    const list = groups.get(key);
    if (list) list.push(c);
    else groups.set(key, [c]);
  }
  const keys = [...groups.keys()].sort();
  const random = seededRandom(seed);
  for (let i = keys.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [keys[i], keys[j]] = [keys[j]!, keys[i]!];
  }
  // Largest first (a stable sort keeps the shuffled order among equals).
  keys.sort((a, b) => groups.get(b)!.length - groups.get(a)!.length);

  const totals = classes.map((c) => candidates.filter((m) => m.cls === c).length);
  const target = fractions.map((f) => totals.map((t) => f * t));
  const counts = names.map(() => classes.map(() => 0));
  const members: SplitCandidate[][] = names.map(() => []);
  for (const key of keys) {
    const group = groups.get(key)!;
    const n = classes.map(() => 0);
    for (const m of group) n[classIndex.get(m.cls)!]!++;
    let best = -1;
    let bestCost = Infinity;
    let bestFill = Infinity;
    for (let p = 0; p < names.length; p++) {
      if (fractions[p] === 0) continue;
      let cost = 0;
      for (let c = 0; c < classes.length; c++)
        cost += n[c]! * (2 * (counts[p]![c]! - target[p]![c]!) + n[c]!);
      const fill = counts[p]!.reduce((a, b) => a + b, 0) / fractions[p]!;
      if (cost < bestCost - 1e-9 || (Math.abs(cost - bestCost) <= 1e-9 && fill < bestFill - 1e-9)) {
        best = p;
        bestCost = cost;
        bestFill = fill;
      }
    }
    for (let c = 0; c < classes.length; c++) counts[best]![c]! += n[c]!;
    members[best]!.push(...group);
  }

  const warnings: string[] = [];
  const unassigned = candidates.filter((c) => c.patient === null).length;
  if (unassigned)
    warnings.push(`${unassigned} slide(s) have no patient; each was counted as its own patient.`);
  if (groups.size < names.filter((_, p) => fractions[p]! > 0).length)
    warnings.push(
      `There are only ${groups.size} patient(s) for ${names.length} parts; some parts are empty.`,
    );
  names.forEach((name, p) => {
    if (fractions[p] === 0) return;
    const lacking = classes.filter((_, c) => counts[p]![c] === 0);
    if (lacking.length) warnings.push(`${name} has no slide of class ${lacking.join(', ')}.`);
  });
  return {
    parts: names.map((name, p) => ({ name, members: members[p]!.sort((a, b) => a.slideId - b.slideId) })),
    classes,
    warnings,
  };
}

/** Quartile bins of a continuous task's values, as class names ("Q1 (≤ 2.5)" … "Q4 (> 7)"). */
export function quartileBins(values: number[]): (v: number) => string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
  const cuts = [at(0.25), at(0.5), at(0.75)];
  return (v) => {
    const i = cuts.findIndex((c) => v <= c);
    return i < 0 ? `Q4 (> ${cuts[2]})` : `Q${i + 1} (≤ ${cuts[i]})`;
  };
}
