/**
 * The learning rates of a run's stages: one stage keeps the engine's own schedule (so runs stored before
 * the probe existed repeat exactly); with a linear probe, the probe warms up and decays over its own epochs
 * with the encoder frozen, and the end-to-end stage after it starts its own warm-up and cosine from zero.
 */
import { describe, expect, it } from 'vitest';
import {
  isProbeEpoch,
  learningRateFactor,
  stageRates,
} from '../../../src-main/training/runs/job/stage-schedule.js';

const base = {
  mode: 'end-to-end' as const,
  epochs: 10,
  lrEncoder: 1e-4,
  lrAggregator: 1e-3,
  warmupEpochs: 1,
  minLrRatio: 0.05,
};
const S = 4; // optimizer steps per epoch

describe('stage schedule', () => {
  it("without a probe, hands the engine its own warm-up and cosine over the run's steps", () => {
    const r = stageRates({ ...base, probeEpochs: 0 }, 3, S, 12);
    expect(r).toEqual({ lrEncoder: 1e-4, lrAggregator: 1e-3, warmupSteps: 4, totalSteps: 40 });
    // A config stored before probeEpochs existed reads as no probe.
    expect(stageRates(base, 0, S, 0)).toEqual(r);
    expect(isProbeEpoch(base, 0)).toBe(false);
  });

  it('in the probe the encoder rate is 0 and the aggregator schedule spans the probe alone', () => {
    const c = { ...base, probeEpochs: 5 };
    expect(isProbeEpoch(c, 4)).toBe(true);
    expect(isProbeEpoch(c, 5)).toBe(false);
    expect(isProbeEpoch({ ...c, mode: 'frozen' }, 0)).toBe(false);
    expect(stageRates(c, 2, S, 9)).toEqual({
      lrEncoder: 0,
      lrAggregator: 1e-3,
      warmupSteps: 4,
      totalSteps: 20,
    });
  });

  it('after the probe, the end-to-end stage warms up from its first step and decays to minLrRatio at its end', () => {
    const c = { ...base, probeEpochs: 5 };
    const first = stageRates(c, 5, S, 20);
    // Constant rates for this step (the engine's own factor is 1 with no warm-up and no total).
    expect(first.warmupSteps).toBe(0);
    expect(first.totalSteps).toBe(0);
    expect(first.lrEncoder).toBeCloseTo(1e-4 / 4, 12);
    expect(first.lrAggregator).toBeCloseTo(1e-3 / 4, 12);
    expect(stageRates(c, 6, S, 24).lrEncoder).toBeCloseTo(1e-4, 12);
    const last = stageRates(c, 14, S, 20 + 40);
    expect(last.lrEncoder).toBeCloseTo(1e-4 * 0.05, 12);
    // Halfway through the cosine part: the midpoint of 1 and minLrRatio.
    expect(learningRateFactor(4 + 18, { warmupSteps: 4, totalSteps: 40, minLrRatio: 0.05 })).toBeCloseTo(
      0.525,
      12,
    );
  });
});
