import { describe, expect, it } from 'vitest';
import { planSplit, seededRandom, type SplitCandidate } from '../../../src-main/project/split-plan.js';

/** A random cohort: patients with 1..maxSlides slides, each slide of a random class (skewed). */
function cohort(
  seed: number,
  patients: number,
  maxSlides: number,
  classes = ['A', 'B', 'C'],
): SplitCandidate[] {
  const random = seededRandom(seed * 7919);
  const out: SplitCandidate[] = [];
  let id = 1;
  for (let p = 0; p < patients; p++) {
    const n = 1 + Math.floor(random() * maxSlides);
    for (let s = 0; s < n; s++) {
      const r = random();
      const cls = classes[r < 0.6 ? 0 : r < 0.9 ? 1 : 2 % classes.length]!;
      out.push({ slideId: id++, slideName: `s${id}.svs`, patient: `P${p}`, cls });
    }
  }
  return out;
}

const membership = (plan: ReturnType<typeof planSplit>) =>
  new Map(plan.parts.flatMap((part) => part.members.map((m) => [m.slideId, part.name] as const)));

describe('split plan', () => {
  it('never puts a patient on two sides, and places every slide exactly once (300 seeds)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const members = cohort(seed, 10 + (seed % 50), 4);
      const scheme =
        seed % 2
          ? { kind: 'folds' as const, folds: 2 + (seed % 9) }
          : { kind: 'fractions' as const, fractions: [0.7, 0.15, 0.15] };
      const plan = planSplit(members, scheme, seed, ['A', 'B', 'C']);
      const placed = plan.parts.flatMap((p) => p.members.map((m) => m.slideId)).sort((a, b) => a - b);
      expect(placed).toEqual(members.map((m) => m.slideId));
      const side = new Map<string, string>();
      for (const part of plan.parts)
        for (const m of part.members) {
          expect(side.get(m.patient!) ?? part.name, `seed ${seed}: patient ${m.patient}`).toBe(part.name);
          side.set(m.patient!, part.name);
        }
    }
  });

  it('stratifies k folds of one-slide patients to within one slide per class (300 seeds)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const folds = 2 + (seed % 9);
      const members = cohort(seed, 15 + (seed % 80), 1);
      const plan = planSplit(members, { kind: 'folds', folds }, seed, ['A', 'B', 'C']);
      for (const cls of plan.classes) {
        const counts = plan.parts.map((p) => p.members.filter((m) => m.cls === cls).length);
        expect(
          Math.max(...counts) - Math.min(...counts),
          `seed ${seed} class ${cls}: ${counts}`,
        ).toBeLessThanOrEqual(1);
      }
    }
  });

  it('keeps folds of multi-slide patients close: within the largest patient per class', () => {
    for (let seed = 1; seed <= 100; seed++) {
      const members = cohort(seed, 60, 3);
      const plan = planSplit(members, { kind: 'folds', folds: 5 }, seed, ['A', 'B', 'C']);
      for (const cls of plan.classes) {
        const counts = plan.parts.map((p) => p.members.filter((m) => m.cls === cls).length);
        expect(
          Math.max(...counts) - Math.min(...counts),
          `seed ${seed} class ${cls}: ${counts}`,
        ).toBeLessThanOrEqual(3);
      }
    }
  });

  it('gives the same split for the same seed whatever order the slides come in, and another for another seed', () => {
    const members = cohort(5, 40, 3);
    const a = planSplit(members, { kind: 'folds', folds: 5 }, 42, ['A', 'B', 'C']);
    const shuffled = [...members].reverse();
    expect(membership(planSplit(shuffled, { kind: 'folds', folds: 5 }, 42, ['A', 'B', 'C']))).toEqual(
      membership(a),
    );
    expect(membership(planSplit(members, { kind: 'folds', folds: 5 }, 43, ['A', 'B', 'C']))).not.toEqual(
      membership(a),
    );
  });

  it('follows train/val/test fractions and warns when a part lacks a class', () => {
    const members = Array.from({ length: 100 }, (_, i) => ({
      slideId: i + 1,
      slideName: `${i}`,
      patient: `P${i}`,
      cls: i < 97 ? 'A' : 'B',
    }));
    const plan = planSplit(members, { kind: 'fractions', fractions: [0.7, 0.15, 0.15] }, 1, ['A', 'B']);
    expect(plan.parts.map((p) => [p.name, p.members.length])).toEqual([
      ['train', 70],
      ['val', 15],
      ['test', 15],
    ]);
    expect(plan.warnings).toEqual(['test has no slide of class B.']);
    const two = planSplit(members, { kind: 'fractions', fractions: [0.8, 0.2] }, 1, ['A', 'B']);
    expect(two.parts.map((p) => p.name)).toEqual(['train', 'test']);
  });

  it('treats a slide without a patient as its own patient, and says so', () => {
    const members = [1, 2, 3, 4].map((i) => ({ slideId: i, slideName: `${i}`, patient: null, cls: 'A' }));
    const plan = planSplit(members, { kind: 'folds', folds: 2 }, 1, ['A']);
    expect(plan.parts.map((p) => p.members.length)).toEqual([2, 2]);
    expect(plan.warnings).toEqual(['4 slide(s) have no patient; each was counted as its own patient.']);
  });
});
