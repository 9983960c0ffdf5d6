/**
 * Training in the contract: models (built-in sizes and folders imported into the project), runs (their
 * config, states, per-epoch history, test metrics and predictions) and the live progress of the running
 * one. A run's config is stored whole, defaults filled in, so "re-run" repeats it exactly.
 */
import { z } from 'zod';
import { folderPath, id, shortText } from './schemas.js';

/** Built-in encoder sizes, trained from a seeded random init (see training/models/builtin.ts). */
export const MODEL_SIZES = ['micro', 'tiny', 'small', 'base'] as const;
export type ModelSize = (typeof MODEL_SIZES)[number];

export const RUN_MODES = ['end-to-end', 'frozen'] as const;
export type RunMode = (typeof RUN_MODES)[number];

export const RUN_STATES = ['queued', 'running', 'paused', 'cancelled', 'failed', 'completed'] as const;
export type RunState = (typeof RUN_STATES)[number];

const modelChoice = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('builtin'), size: z.enum(MODEL_SIZES) }).strict(),
  z.object({ kind: z.literal('imported'), name: shortText('the model name') }).strict(),
]);

const positiveInt = (what: string, max: number) =>
  z
    .number({ error: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .min(1, `${what} must be at least 1`)
    .max(max, `${what} must be at most ${max}`);

const rate = (what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .min(0, `${what} must not be negative`)
    .max(1, `${what} must be at most 1`);

/** What a user may set; everything left out takes the default (training/runs/run-config.ts). */
export const runConfigInput = z
  .object({
    name: shortText('the run name').optional(),
    model: modelChoice.optional(),
    tasks: z.array(shortText('a task name')).min(1, 'name at least one task').max(16).optional(),
    /** A stored split by name; left out, a seeded patient-level 0.6/0.2/0.2 split is made and stored. */
    split: shortText('the split name').optional(),
    /** For a k-fold split: the fold that is the test part (the next one validates). */
    fold: positiveInt('the fold', 100).optional(),
    mode: z.enum(RUN_MODES).optional(),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .optional(),
    epochs: positiveInt('the number of epochs', 10_000).optional(),
    patchesPerSlide: positiveInt('patches per slide', 1 << 20).optional(),
    chunkSize: positiveInt('the chunk size', 1 << 16).optional(),
    /** µm per pixel of the patches (the encoder's input size sets their side in pixels). */
    mpp: z.number().min(0.05).max(64).optional(),
    tissueThreshold: rate('the tissue threshold').optional(),
    lrEncoder: z.number().min(0).max(1).optional(),
    lrAggregator: z.number().min(0).max(1).optional(),
    weightDecay: z.number().min(0).max(1).optional(),
    warmupEpochs: z.number().min(0).max(1000).optional(),
    /**
     * End to end only: epochs that first train the aggregator alone on the frozen encoder's embeddings (a
     * linear probe), before the encoder joins for `epochs` more; 0 = the encoder trains from the first step.
     */
    probeEpochs: z.number().int().min(0).max(10_000).optional(),
    /**
     * The encoder's matrix products: fp32, or bf16 with fp32 accumulation and fp32 master weights (faster
     * where the CPU's bf16 dot product outruns its fp32 FMA, or on the GPU).
     */
    matmulPrecision: z.enum(['fp32', 'bf16']).optional(),
    minLrRatio: rate('the minimum learning-rate ratio').optional(),
    clipNorm: z.number().min(0).max(1e6).optional(),
    /** Slides per optimizer step. */
    batchSlides: positiveInt('slides per step', 1024).optional(),
    dropout: rate('the dropout').optional(),
    augment: z
      .object({
        flips: z.boolean().optional(),
        rotations: z.boolean().optional(),
        /** Stain (HED) jitter scale; 0 = off. */
        hed: z.number().min(0).max(0.5).optional(),
        /** Stain (HED) jitter of a whole slide, drawn per epoch and shared by its patches; 0 = off. */
        hedSlide: z.number().min(0).max(0.5).optional(),
      })
      .strict()
      .optional(),
    /** The validation number that picks the kept epoch. */
    selectBy: z.enum(['auroc', 'loss']).optional(),
    /**
     * Patch sampling by annotation class: with `include`, only patches whose centre lies inside an area of
     * one of those classes; with `exclude`, none whose centre lies inside an area of those (pen marks,
     * folds). Class names as in the project; points and lines do not count.
     */
    regions: z
      .object({
        include: z.array(shortText('a class name')).max(64, 'name at most 64 classes').optional(),
        exclude: z.array(shortText('a class name')).max(64, 'name at most 64 classes').optional(),
      })
      .strict()
      .refine((r) => !(r.include ?? []).some((c) => (r.exclude ?? []).includes(c)), {
        message: 'a class cannot be both included and excluded',
      })
      .optional(),
  })
  .strict();
export type RunConfigInput = z.input<typeof runConfigInput>;

/** A run's full config as stored (every default filled in). */
export interface RunConfig {
  name: string;
  model: { kind: 'builtin'; size: ModelSize } | { kind: 'imported'; name: string };
  tasks: string[];
  split: string;
  fold: number | null;
  mode: RunMode;
  seed: number;
  epochs: number;
  patchesPerSlide: number;
  chunkSize: number;
  mpp: number;
  tissueThreshold: number;
  lrEncoder: number;
  lrAggregator: number;
  weightDecay: number;
  warmupEpochs: number;
  /** Absent from configs stored before it existed (read as 0). */
  probeEpochs?: number;
  /** Absent from configs stored before it existed (read as fp32). */
  matmulPrecision?: 'fp32' | 'bf16';
  minLrRatio: number;
  clipNorm: number;
  batchSlides: number;
  dropout: number;
  /** hedSlide is absent from configs stored before it existed (read as 0). */
  augment: { flips: boolean; rotations: boolean; hed: number; hedSlide?: number };
  selectBy: 'auroc' | 'loss';
  /** Annotation classes patches must lie inside (include) or outside (exclude); empty lists: no limit. */
  regions: { include: string[]; exclude: string[] };
}

export interface ModelInfo {
  /** "builtin:<size>" or the imported model's name. */
  name: string;
  kind: 'builtin' | 'imported';
  architecture: string;
  parameters: number;
  /** Width of a patch embedding. */
  outputDim: number;
  /** Side of the square patch the encoder takes (pixels). */
  inputSize: number;
  description: string;
  /** Imported models: their folder in the project and where they came from. */
  folder: string | null;
  source: string | null;
}

/** One ROC curve: points from (0,0) to (1,1); thresholds[0] (above every score) is null. */
export interface RocPoints {
  /** The class taken as positive. */
  value: string;
  fpr: number[];
  tpr: number[];
  thresholds: (number | null)[];
}

export interface TaskMetrics {
  slides: number;
  /** Slides of each value. */
  counts: Record<string, number>;
  /** Null where a class is missing from the part. */
  auroc: number | null;
  /** Seeded bootstrap 95% interval over slides. */
  aurocCi: [number | null, number | null];
  balancedAccuracy: number | null;
  /** Binary: p(positive) >= threshold is called positive; categorical: null (most probable class). */
  threshold: number | null;
  /** confusion[true][predicted], classes in the task's value order. */
  confusion: number[][];
  /** Binary: one curve (the positive value); categorical: one-vs-rest per value. */
  roc: RocPoints[];
}

export interface EpochRecord {
  epoch: number;
  /** Mean training loss per task over the epoch's steps. */
  trainLoss: Record<string, number>;
  /** Validation loss and metrics per task (empty without a validation part). */
  validation: Record<string, { loss: number; auroc: number | null; balancedAccuracy: number | null }>;
  lrEncoder: number;
  lrAggregator: number;
  /** An end-to-end run's linear-probe epoch: the aggregator alone, the encoder frozen. */
  probe?: boolean;
  seconds: number;
  patchesPerSecond: number;
  /** Share of the epoch's training time the engine waited for patches. */
  waitFraction: number;
  /** Peak resident memory of the job process so far (bytes). */
  peakRssBytes: number;
}

export interface PredictionRow {
  part: string;
  slideId: number;
  slideName: string;
  patient: string | null;
  task: string;
  /** The slide's label, or null where it has none for this task. */
  label: string | null;
  /** Probability of each value. */
  probabilities: Record<string, number>;
}

export type RunPhase = 'preparing' | 'embedding' | 'training' | 'validating' | 'testing' | 'finishing';

export interface RunProgress {
  runId: number;
  phase: RunPhase;
  epoch: number;
  epochs: number;
  /** Slides done in this phase, of how many. */
  done: number;
  total: number;
  /** The slide being read. */
  slide: string | null;
  /** Running mean of this epoch's training loss per task. */
  trainLoss: Record<string, number>;
  lrEncoder: number;
  lrAggregator: number;
  patchesPerSecond: number;
  /** Seconds into this epoch, and the estimate for the whole run's remainder. */
  epochSeconds: number;
  etaSeconds: number | null;
  rssBytes: number;
  waitFraction: number;
  message: string | null;
}

export interface RunSummary {
  id: number;
  name: string;
  state: RunState;
  /** Why it failed (one sentence), or the last warning. */
  error: string | null;
  mode: RunMode;
  model: string;
  tasks: string[];
  splitName: string;
  epochs: number;
  epochsDone: number;
  bestEpoch: number | null;
  /** Test AUROC per task once completed. */
  testAuroc: Record<string, number | null>;
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  progress: RunProgress | null;
}

export interface RunDetail extends RunSummary {
  config: RunConfig;
  codeVersion: string;
  /** Slides in each part of the split the run used. */
  partSizes: Record<string, number>;
  history: EpochRecord[];
  testMetrics: Record<string, TaskMetrics> | null;
  predictions: PredictionRow[];
  warnings: string[];
  logFile: string;
  /** The last lines of the run's log. */
  logTail: string;
}

export const trainingCommandInputs = {
  'models.list': z.object({}).strict(),
  'models.import': z
    .object({ folder: folderPath, name: shortText('the model name', 100).optional() })
    .strict(),
  'runs.start': z.object({ config: runConfigInput }).strict(),
  'runs.list': z.object({}).strict(),
  'runs.get': z.object({ id }).strict(),
  'runs.pause': z.object({ id }).strict(),
  'runs.resume': z.object({ id }).strict(),
  'runs.cancel': z.object({ id }).strict(),
  'runs.rerun': z.object({ id }).strict(),
  'runs.defaults': z.object({}).strict(),
  /** The patches a run would train on for one slide; runId null: the latest run, or the defaults. */
  'runs.patchGrid': z.object({ slideId: id, runId: id.nullable() }).strict(),
} as const;

/** The patch grid a run takes from one slide (tissue threshold and annotation regions applied). */
export interface PatchGridPreview {
  slideId: number;
  /** Whose settings: a run of the project (the chosen one, or the latest) or the default training settings. */
  source: { kind: 'run'; runId: number; name: string } | { kind: 'defaults' };
  patchSize: number;
  /** µm per pixel of the patches. */
  mpp: number;
  tissueThreshold: number;
  regions: { include: string[]; exclude: string[] };
  /** Side of a patch in level-0 pixels (may be fractional). */
  extent: number;
  /** Cells of the whole grid, kept or not. */
  columns: number;
  rows: number;
  /** Level-0 top-left corners of the kept patches, in row-major order: exactly those a run samples from. */
  x: number[];
  y: number[];
  /** The grid's one-sentence summary, as the run's log writes it. */
  summary: string;
}

/** What a run takes when its config leaves a field out (the split-dependent fields aside). */
export type RunDefaults = Omit<RunConfig, 'name' | 'tasks' | 'split' | 'fold'>;

export interface TrainingCommandResults {
  'models.list': { models: ModelInfo[] };
  'models.import': ModelInfo;
  'runs.start': RunSummary;
  'runs.list': { runs: RunSummary[] };
  'runs.get': RunDetail;
  'runs.pause': RunSummary;
  'runs.resume': RunSummary;
  'runs.cancel': RunSummary;
  'runs.rerun': RunSummary;
  'runs.defaults': RunDefaults;
  'runs.patchGrid': PatchGridPreview;
}

export interface TrainingEventPayloads {
  /** A run was created or changed state, or finished an epoch. */
  onRunChanged: RunSummary;
  /** Live progress of the running run (a few times a second at most). */
  onRunProgress: RunProgress;
}
