/**
 * A run's config with every default filled in: what is stored with the run, so that re-running it repeats
 * it exactly. The defaults are chosen so that `tessera train` on the demo cohort, from random init on a
 * 2-core CPU, learns its task in minutes (test/bench/RESULTS.md, "training"); other models and data will
 * want other settings, which the config file and flags give.
 */
import { execFileSync } from 'node:child_process';
import type { ModelSize, RunConfig, RunConfigInput, RunDefaults } from '../../contract/contract.js';
import { runConfigInput } from '../../contract/contract.js';
import { ApiError } from '../../contract/errors.js';
import { packageRoot } from '../../package-root.js';
import { appVersion } from '../../version.js';

/** Patches per encoder chunk by model size: the memory knob (results do not depend on it). */
const CHUNK_BY_SIZE: Record<ModelSize, number> = { micro: 128, tiny: 32, small: 16, base: 8 };

export const RUN_DEFAULTS = {
  model: { kind: 'builtin', size: 'micro' },
  mode: 'end-to-end',
  seed: 0,
  epochs: 30,
  patchesPerSlide: 512,
  mpp: 0.5,
  tissueThreshold: 0.5,
  lrEncoder: 1e-4,
  lrAggregator: 1e-3,
  weightDecay: 0.05,
  warmupEpochs: 1,
  probeEpochs: 30,
  matmulPrecision: 'fp32',
  minLrRatio: 0.05,
  clipNorm: 1.0,
  batchSlides: 2,
  dropout: 0.25,
  augment: { flips: true, rotations: true, hed: 0.15, hedSlide: 0 },
  selectBy: 'auroc',
} as const satisfies Partial<RunConfig>;

/**
 * Fills in the defaults. `split` must be resolved by the caller (a default split is made when absent), so
 * it is passed separately; tasks default to the split's task.
 */
export function resolveRunConfig(
  input: RunConfigInput,
  resolved: { split: string; splitTask: string; name: string },
): RunConfig {
  const parsed = runConfigInput.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ApiError(
      'bad-input',
      `The run config is invalid: ${issue.path.join('.') || 'config'}: ${issue.message}.`,
    );
  }
  const c = parsed.data;
  const model = c.model ?? RUN_DEFAULTS.model;
  const size = model.kind === 'builtin' ? model.size : 'tiny';
  return {
    name: c.name ?? resolved.name,
    model: { ...model },
    tasks: c.tasks ?? [resolved.splitTask],
    split: resolved.split,
    fold: c.fold ?? null,
    mode: c.mode ?? RUN_DEFAULTS.mode,
    seed: c.seed ?? RUN_DEFAULTS.seed,
    epochs: c.epochs ?? RUN_DEFAULTS.epochs,
    patchesPerSlide: c.patchesPerSlide ?? RUN_DEFAULTS.patchesPerSlide,
    chunkSize: c.chunkSize ?? CHUNK_BY_SIZE[size],
    mpp: c.mpp ?? RUN_DEFAULTS.mpp,
    tissueThreshold: c.tissueThreshold ?? RUN_DEFAULTS.tissueThreshold,
    lrEncoder: c.lrEncoder ?? RUN_DEFAULTS.lrEncoder,
    lrAggregator: c.lrAggregator ?? RUN_DEFAULTS.lrAggregator,
    weightDecay: c.weightDecay ?? RUN_DEFAULTS.weightDecay,
    warmupEpochs: c.warmupEpochs ?? RUN_DEFAULTS.warmupEpochs,
    probeEpochs: c.probeEpochs ?? RUN_DEFAULTS.probeEpochs,
    matmulPrecision: c.matmulPrecision ?? RUN_DEFAULTS.matmulPrecision,
    minLrRatio: c.minLrRatio ?? RUN_DEFAULTS.minLrRatio,
    clipNorm: c.clipNorm ?? RUN_DEFAULTS.clipNorm,
    batchSlides: c.batchSlides ?? RUN_DEFAULTS.batchSlides,
    dropout: c.dropout ?? RUN_DEFAULTS.dropout,
    augment: { ...RUN_DEFAULTS.augment, ...c.augment },
    selectBy: c.selectBy ?? RUN_DEFAULTS.selectBy,
    regions: { include: [...(c.regions?.include ?? [])], exclude: [...(c.regions?.exclude ?? [])] },
  };
}

/** The linear probe's epochs: end to end only (absent from configs stored before it existed: none). */
export function probeEpochsOf(c: Pick<RunConfig, 'mode' | 'probeEpochs'>): number {
  return c.mode === 'end-to-end' ? (c.probeEpochs ?? 0) : 0;
}

/** Epochs the run goes through: the linear probe's, then `epochs`. */
export function totalEpochs(c: Pick<RunConfig, 'mode' | 'epochs' | 'probeEpochs'>): number {
  return c.epochs + probeEpochsOf(c);
}

/** The defaults as the renderer's form shows them. */
export function runDefaults(): RunDefaults {
  const {
    name: _n,
    tasks: _t,
    split: _s,
    fold: _f,
    ...rest
  } = resolveRunConfig({}, { split: '-', splitTask: '-', name: '-' });
  return rest;
}

let cachedVersion: string | null = null;

/** The app version, with the git commit when running from a checkout (what "re-run" can be compared by). */
export function codeVersion(): string {
  if (cachedVersion) return cachedVersion;
  let commit = '';
  try {
    commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd: packageRoot(),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    }).trim();
  } catch {
    // Not a checkout, or git missing: the version alone.
  }
  return (cachedVersion = commit ? `${appVersion()}+${commit}` : appVersion());
}
