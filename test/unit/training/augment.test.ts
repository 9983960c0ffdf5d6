/**
 * Seeded augmentations (the same key gives the same patch; flips and rotations move pixels where they
 * should; HED round trip), patch sampling and epoch plans.
 */
import { describe, expect, it } from 'vitest';
import {
  applyAugmentation,
  drawAugmentation,
  HED_FROM_RGB,
  RGB_FROM_HED,
  rgbToHed,
  type PatchAugmentation,
} from '../../../src-main/training/augment.js';
import { samplePatchIndices } from '../../../src-main/training/patches/sampling.js';
import { evaluationPlan, trainingPlan } from '../../../src-main/training/patches/plans.js';
import type { PatchGrid } from '../../../src-main/training/patch-grid.js';
import { Random } from '../../../src-main/training/random.js';

const S = 8;
/** A patch whose every pixel is distinct: R = x, G = y, B = 200. */
function coordinatePatch(): Uint8Array {
  const p = new Uint8Array(S * S * 3);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) p.set([x, y, 200], (y * S + x) * 3);
  return p;
}
function at(p: Uint8Array, x: number, y: number): number[] {
  return [...p.subarray((y * S + x) * 3, (y * S + x) * 3 + 3)];
}
const none: PatchAugmentation = { flipX: false, flipY: false, quarterTurns: 0, stain: null };
const scratch = new Uint8Array(S * S * 3);

describe('geometric augmentations', () => {
  it('flips and turns the square as stated', () => {
    const flipX = coordinatePatch();
    applyAugmentation(flipX, S, { ...none, flipX: true }, scratch);
    expect(at(flipX, 0, 0)).toEqual([7, 0, 200]);
    expect(at(flipX, 7, 3)).toEqual([0, 3, 200]);
    const flipY = coordinatePatch();
    applyAugmentation(flipY, S, { ...none, flipY: true }, scratch);
    expect(at(flipY, 2, 0)).toEqual([2, 7, 200]);
    // One clockwise quarter turn: the top-left corner goes to the top-right.
    const turned = coordinatePatch();
    applyAugmentation(turned, S, { ...none, quarterTurns: 1 }, scratch);
    expect(at(turned, 7, 0)).toEqual([0, 0, 200]);
    expect(at(turned, 7, 7)).toEqual([7, 0, 200]);
    expect(at(turned, 0, 0)).toEqual([0, 7, 200]);
    // Four quarter turns, or two flips each way, give the patch back.
    const four = coordinatePatch();
    for (let i = 0; i < 4; i++) applyAugmentation(four, S, { ...none, quarterTurns: 1 }, scratch);
    expect(four).toEqual(coordinatePatch());
    const half = coordinatePatch();
    applyAugmentation(half, S, { ...none, quarterTurns: 2 }, scratch);
    const flips = coordinatePatch();
    applyAugmentation(flips, S, { ...none, flipX: true, flipY: true }, scratch);
    expect(half).toEqual(flips);
    // Every transform is a permutation: the pixels are the same multiset.
    const sorted = (p: Uint8Array) =>
      [...Array(S * S).keys()].map((i) => at(p, i % S, Math.floor(i / S)).join()).sort();
    const any = coordinatePatch();
    applyAugmentation(any, S, { ...none, flipX: true, quarterTurns: 3 }, scratch);
    expect(sorted(any)).toEqual(sorted(coordinatePatch()));
  });
});

describe('stain (HED) augmentation', () => {
  it('the matrices are inverse, and a pure haematoxylin colour has no eosin or DAB', () => {
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const v = [0, 1, 2].reduce((s, k) => s + RGB_FROM_HED[i]![k]! * HED_FROM_RGB[k]![j]!, 0);
        expect(v).toBeCloseTo(i === j ? 1 : 0, 12);
      }
    }
    // 255 exp(-c h) for c = 1: haematoxylin at density 1.
    const h = RGB_FROM_HED[0]!.map((v) => Math.round(255 * Math.exp(-v)));
    const [dh, de, dd] = rgbToHed(h[0]!, h[1]!, h[2]!);
    expect(dh).toBeCloseTo(1, 1);
    expect(Math.abs(de)).toBeLessThan(0.02);
    expect(Math.abs(dd)).toBeLessThan(0.02);
  });

  it('identity jitter gives the pixels back; a haematoxylin boost darkens nuclei more than eosin areas', () => {
    const rng = new Random(3);
    const patch = Uint8Array.from({ length: S * S * 3 }, () => 1 + rng.int(255));
    const same = patch.slice();
    applyAugmentation(same, S, { ...none, stain: { scale: [1, 1, 1], shift: [0, 0, 0] } }, scratch);
    expect(same).toEqual(patch);
    const nucleus = Uint8Array.from([80, 60, 150]);
    const stroma = Uint8Array.from([235, 150, 200]);
    const boost = {
      ...none,
      stain: { scale: [1.2, 1, 1] as [number, number, number], shift: [0, 0, 0] as [number, number, number] },
    };
    const n2 = nucleus.slice();
    const s2 = stroma.slice();
    applyAugmentation(n2, 1, boost, scratch);
    applyAugmentation(s2, 1, boost, scratch);
    const drop = (a: Uint8Array, b: Uint8Array) => a[0]! + a[1]! + a[2]! - (b[0]! + b[1]! + b[2]!);
    expect(drop(nucleus, n2)).toBeGreaterThan(10);
    expect(drop(stroma, s2)).toBeLessThan(drop(nucleus, n2));
    // White stays white when only scaled (no density to scale).
    const white = Uint8Array.from([255, 255, 255]);
    applyAugmentation(white, 1, boost, scratch);
    expect([...white]).toEqual([255, 255, 255]);
  });
});

describe('seeded draws', () => {
  it('the same key draws the same augmentation; other keys differ; switches keep the other draws', () => {
    const a = drawAugmentation({}, 7, 1, 2, 3);
    expect(drawAugmentation({}, 7, 1, 2, 3)).toEqual(a);
    const many = Array.from({ length: 64 }, (_, i) => drawAugmentation({}, 7, 1, 2, i));
    expect(new Set(many.map((d) => d.quarterTurns)).size).toBe(4);
    expect(many.some((d) => d.flipX) && many.some((d) => !d.flipX)).toBe(true);
    for (const d of many) {
      for (const s of d.stain!.scale) expect(Math.abs(s - 1)).toBeLessThanOrEqual(0.05);
      for (const s of d.stain!.shift) expect(Math.abs(s)).toBeLessThanOrEqual(0.02);
    }
    const noRot = drawAugmentation({ rotations: false }, 7, 1, 2, 3);
    expect(noRot).toEqual({ ...a, quarterTurns: 0 });
    expect(drawAugmentation({ flips: false, hed: null }, 7, 1, 2, 3)).toEqual({
      ...a,
      flipX: false,
      flipY: false,
      stain: null,
    });
    const patch = coordinatePatch();
    const p1 = patch.slice();
    const p2 = patch.slice();
    applyAugmentation(p1, S, a, scratch);
    applyAugmentation(p2, S, drawAugmentation({}, 7, 1, 2, 3), scratch);
    expect(p1).toEqual(p2);
  });
});

describe("a slide's stain jitter", () => {
  it('is one draw per slide and key that all its patches share, on top of their own; off by default', () => {
    const slideOnly = { hed: null, hedSlide: { scale: 0.3, shift: 0.1 } };
    // Patches 0..31 of slide 2 in epoch 1: the same stain; another slide or epoch, another.
    const stains = Array.from({ length: 32 }, (_, i) => drawAugmentation(slideOnly, 7, 1, 2, i).stain);
    for (const st of stains) expect(st).toEqual(stains[0]);
    const [s0] = stains;
    expect(s0!.scale.some((v) => Math.abs(v - 1) > 0.01)).toBe(true);
    for (const v of s0!.scale) expect(Math.abs(v - 1)).toBeLessThanOrEqual(0.3);
    expect(drawAugmentation(slideOnly, 7, 1, 3, 0).stain).not.toEqual(s0);
    expect(drawAugmentation(slideOnly, 7, 2, 2, 0).stain).not.toEqual(s0);
    // With the patch's own jitter too: factors multiply, shifts add.
    const both = drawAugmentation({ hedSlide: slideOnly.hedSlide }, 7, 1, 2, 5).stain!;
    const own = drawAugmentation({}, 7, 1, 2, 5).stain!;
    both.scale.forEach((v, k) => expect(v).toBeCloseTo(own.scale[k]! * s0!.scale[k]!, 12));
    both.shift.forEach((v, k) => expect(v).toBeCloseTo(own.shift[k]! + s0!.shift[k]!, 12));
    expect(drawAugmentation({}, 7, 1, 2, 5).stain).toEqual(own);
  });
});

describe('patch sampling', () => {
  it('draws up to K distinct sorted indices per key, all of them when K is large', () => {
    const a = samplePatchIndices(100, 16, 1, 0, 5);
    expect(a.length).toBe(16);
    expect(new Set(a).size).toBe(16);
    expect([...a]).toEqual([...a].sort((x, y) => x - y));
    expect(a.every((i) => i >= 0 && i < 100)).toBe(true);
    expect(samplePatchIndices(100, 16, 1, 0, 5)).toEqual(a);
    expect(samplePatchIndices(100, 16, 1, 1, 5)).not.toEqual(a);
    expect([...samplePatchIndices(5, 16, 1)]).toEqual([0, 1, 2, 3, 4]);
    expect(samplePatchIndices(0, 4, 1).length).toBe(0);
    // Roughly uniform: over many keys every index is drawn about K / N of the time.
    const hits = new Array(20).fill(0);
    for (let k = 0; k < 2000; k++) for (const i of samplePatchIndices(20, 5, 9, k)) hits[i]++;
    for (const h of hits) expect(h).toBeGreaterThan(400);
    expect(() => samplePatchIndices(10, 0)).toThrow(/positive integer/);
  });
});

describe('epoch plans', () => {
  const grid = (n: number) => ({ x: new Int32Array(n) }) as unknown as PatchGrid;
  const slides = Array.from({ length: 6 }, (_, i) => ({
    id: i + 1,
    path: `s${i}`,
    grid: grid(10 + i),
    label: i % 3 === 0 ? 1 : 0,
  }));

  it('training: K seeded patches per slide, augmented by epoch, in a seeded or label-balanced order', () => {
    const a = trainingPlan(slides, { patchesPerSlide: 4, seed: 1, epoch: 0 });
    expect(a.map((r) => r.slide.id).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    for (const r of a) {
      expect(r.indices.length).toBe(4);
      expect(r.indices).toEqual(samplePatchIndices(r.slide.grid.x.length, 4, 1, 0, r.slide.id));
      expect(r.augmentKey).toEqual([1, 0]);
    }
    expect(trainingPlan(slides, { patchesPerSlide: 4, seed: 1, epoch: 0 })).toEqual(a);
    const next = trainingPlan(slides, { patchesPerSlide: 4, seed: 1, epoch: 1 });
    expect(next.map((r) => r.slide.id)).not.toEqual(a.map((r) => r.slide.id));
    // Balanced: labels alternate while both remain (2 positives, 4 negatives here).
    const b = trainingPlan(slides, {
      patchesPerSlide: 4,
      seed: 1,
      epoch: 0,
      order: 'balanced',
      labelOf: (s) => s.label,
    });
    expect(b.map((r) => r.slide.label)).toEqual([0, 1, 0, 1, 0, 0]);
    expect(() => trainingPlan(slides, { patchesPerSlide: 4, seed: 1, epoch: 0, order: 'balanced' })).toThrow(
      /labelOf/,
    );
  });

  it('evaluation: every patch once, in grid order, in bounded pieces, not augmented', () => {
    const plan = evaluationPlan(slides.slice(0, 2), 4);
    // 10 patches -> 4 + 4 + 2; 11 -> 4 + 4 + 3.
    expect(plan.map((r) => [r.slide.id, r.indices.length, r.piece?.index, r.piece?.count])).toEqual([
      [1, 4, 0, 3],
      [1, 4, 1, 3],
      [1, 2, 2, 3],
      [2, 4, 0, 3],
      [2, 4, 1, 3],
      [2, 3, 2, 3],
    ]);
    expect([...plan.filter((r) => r.slide.id === 2).flatMap((r) => [...r.indices])]).toEqual([
      ...Array(11).keys(),
    ]);
    expect(plan.every((r) => r.augmentKey === undefined)).toBe(true);
    expect(() => evaluationPlan(slides, 0)).toThrow(/invalid batch size/);
  });
});
