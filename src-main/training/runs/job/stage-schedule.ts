/**
 * The learning rates of a run's stages. A run is one stage (end to end, or frozen), or, with `probeEpochs`,
 * two: a linear probe (the aggregator alone on the frozen encoder's embeddings), then end to end. Each stage
 * has its own warm-up and cosine decay. The engine's schedule counts the model's optimizer steps from 0, which
 * is the first stage's; the second stage's rates are worked out here from the steps since it began and given
 * to the engine as constant rates for that step.
 */
import type { RunConfig } from '../../../contract/contract.js';
import { probeEpochsOf } from '../run-config.js';

export interface StageRates {
  lrEncoder: number;
  lrAggregator: number;
  warmupSteps: number;
  totalSteps: number;
}

/** The engine's learningRateFactor (native/engine/train.cpp): linear warm-up, then cosine to minLrRatio. */
export function learningRateFactor(
  step: number,
  s: { warmupSteps: number; totalSteps: number; minLrRatio: number },
): number {
  if (s.warmupSteps > 0 && step < s.warmupSteps) return (step + 1) / s.warmupSteps;
  if (s.totalSteps > 0) {
    const span = Math.max(1, s.totalSteps - s.warmupSteps);
    const progress = Math.min(1, Math.max(0, (step - s.warmupSteps) / span));
    return s.minLrRatio + (1 - s.minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * progress));
  }
  return 1;
}

type ScheduleConfig = Pick<
  RunConfig,
  'mode' | 'epochs' | 'probeEpochs' | 'lrEncoder' | 'lrAggregator' | 'warmupEpochs' | 'minLrRatio'
>;

/** True while `epoch` (0-based) is a linear-probe epoch of an end-to-end run. */
export function isProbeEpoch(c: Pick<RunConfig, 'mode' | 'probeEpochs'>, epoch: number): boolean {
  return epoch < probeEpochsOf(c);
}

/**
 * What to pass the engine for the optimizer step the model takes next (`modelStep` optimizer steps done), in
 * `epoch`. In the probe, the encoder's rate is 0 (it is frozen: the step trains on embeddings).
 */
export function stageRates(
  c: ScheduleConfig,
  epoch: number,
  stepsPerEpoch: number,
  modelStep: number,
): StageRates {
  const warmupSteps = Math.round(c.warmupEpochs * stepsPerEpoch);
  const probe = probeEpochsOf(c);
  if (epoch < probe)
    return { lrEncoder: 0, lrAggregator: c.lrAggregator, warmupSteps, totalSteps: probe * stepsPerEpoch };
  if (probe === 0)
    return {
      lrEncoder: c.lrEncoder,
      lrAggregator: c.lrAggregator,
      warmupSteps,
      totalSteps: c.epochs * stepsPerEpoch,
    };
  const factor = learningRateFactor(modelStep - probe * stepsPerEpoch, {
    warmupSteps,
    totalSteps: c.epochs * stepsPerEpoch,
    minLrRatio: c.minLrRatio,
  });
  return {
    lrEncoder: c.lrEncoder * factor,
    lrAggregator: c.lrAggregator * factor,
    warmupSteps: 0,
    totalSteps: 0,
  };
}
