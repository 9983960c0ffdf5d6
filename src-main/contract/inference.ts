/**
 * Inference in the contract: applying a model (a completed run's, or a checkpoint folder) to slides as a
 * job, the predictions it stores (shown as library columns, accepted into labels by the user), and the
 * heatmaps it leaves (per-patch attention and task scores on the patch grid, drawn as tiles).
 */
import { z } from 'zod';
import { slideSelection, type UndoState } from './library.js';
import { isColorMapId } from './heatmap-colors.js';
import { folderPath, id, shortText } from './schemas.js';

export const modelChoice = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('run'), runId: id }).strict(),
  z.object({ kind: z.literal('folder'), dir: folderPath }).strict(),
]);

const source = z
  .string()
  .regex(/^model:[A-Za-z0-9._-]{1,100}$/, { message: 'the source must be model:<run id or folder name>' });
const modelKey = z.string().regex(/^(run-\d{1,15}|folder-[0-9a-f]{16})$/, { message: 'not a model key' });
/** `attention`, or `task-<task index>-<value index>`: a task value's per-patch probability. */
const layer = z.string().regex(/^(attention|task-\d{1,2}-\d{1,3})$/, { message: 'not a heatmap layer' });

export const inferenceCommandInputs = {
  'inference.start': z
    .object({
      model: modelChoice,
      /** Left out with `cohort`: the whole project. */
      slideIds: z.array(id).min(1).max(100_000).optional(),
      cohort: shortText('the cohort name').optional(),
    })
    .strict(),
  'inference.list': z.object({}).strict(),
  'inference.pause': z.object({ jobId: id }).strict(),
  'inference.resume': z.object({ jobId: id }).strict(),
  'inference.cancel': z.object({ jobId: id }).strict(),
  'predictions.sources': z.object({}).strict(),
  /** Turns a source's predictions for a task into labels on these slides (one undoable edit). */
  'predictions.accept': z.object({ source, taskId: id, selection: slideSelection }).strict(),
  'heatmaps.list': z.object({ slideId: id }).strict(),
  'heatmaps.get': z.object({ slideId: id, modelKey }).strict(),
  /** The whole overlay as a PNG (base64): the export works the same in both shells. */
  'heatmaps.overlayPng': z
    .object({
      slideId: id,
      modelKey,
      layer,
      colorMap: z.string().refine(isColorMapId, { message: 'not a colour map' }),
    })
    .strict(),
  'heatmaps.geojson': z
    .object({ slideId: id, modelKey, layer, threshold: z.number().min(0).max(1) })
    .strict(),
} as const;

export type ModelChoiceInput = z.input<typeof modelChoice>;

export interface InferenceJobSummary {
  jobId: number;
  state: 'queued' | 'running' | 'paused' | 'cancelled' | 'failed' | 'completed';
  /** "run 3 (name)" or the checkpoint folder's name. */
  model: string;
  source: string;
  slides: number;
  /** Slides with a stored prediction from this job. */
  predicted: number;
  progress: InferenceProgress | null;
  error: string | null;
  /** Slides left out, each with its sentence (no tissue, unreadable). */
  skipped: { slideId: number; name: string; message: string }[];
}

export interface InferenceProgress {
  jobId: number;
  phase: 'preparing' | 'predicting';
  done: number;
  total: number;
  slide: string | null;
  patchesPerSecond: number;
}

/** A model's predictions of one task: one library column. */
export interface PredictionSource {
  source: string;
  runId: number | null;
  modelKey: string;
  taskId: number;
  taskName: string;
  /** The task's values, in order (a prediction's probabilities follow it). */
  values: string[];
  slides: number;
}

/** One slide's prediction of one task by one source. */
export interface SlidePrediction {
  value: string;
  /** One per task value. */
  probabilities: number[];
}

export interface HeatmapInfo {
  modelKey: string;
  source: string;
  label: string;
  tasks: { name: string; values: string[] }[];
  /** The slide's probabilities per task, per value. */
  probabilities: number[][];
  patches: number;
}

/** A slide's raster: the patch grid in level-0 pixels, and per patch its attention and task scores. */
export interface HeatmapData extends HeatmapInfo {
  /** Side of a patch in level-0 pixels. */
  extent: number;
  width: number;
  height: number;
  x: number[];
  y: number[];
  attention: number[];
  /** Per task: patches x values, row-major. */
  scores: number[][];
}

export interface InferenceCommandResults {
  'inference.start': InferenceJobSummary;
  'inference.list': { jobs: InferenceJobSummary[] };
  'inference.pause': InferenceJobSummary;
  'inference.resume': InferenceJobSummary;
  'inference.cancel': InferenceJobSummary;
  'predictions.sources': { sources: PredictionSource[] };
  'predictions.accept': { changed: number; unchanged: number; undo: UndoState };
  'heatmaps.list': { heatmaps: HeatmapInfo[] };
  'heatmaps.get': HeatmapData;
  'heatmaps.overlayPng': { pngBase64: string };
  'heatmaps.geojson': { geojson: GeoJsonFeatureCollection; regions: number };
}

export interface InferenceEventPayloads {
  onInferenceChanged: InferenceJobSummary;
  onInferenceProgress: InferenceProgress;
}

/** QuPath's GeoJSON form for annotations: polygons in level-0 pixels. */
export interface GeoJsonFeatureCollection {
  type: 'FeatureCollection';
  features: {
    type: 'Feature';
    geometry: { type: 'Polygon'; coordinates: number[][][] };
    properties: {
      objectType: 'annotation';
      name: string;
      classification: { name: string; color: [number, number, number] };
      measurements: Record<string, number>;
    };
  }[];
}
