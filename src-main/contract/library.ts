/**
 * The library's part of the contract: the slide list at scale (sort, filter, page), selections for bulk
 * work, QC flags, patients, removing slides and relinking moved ones. Included in contract.ts; imports
 * nothing of ours, so contract.ts can import it without a cycle.
 */
import { z } from 'zod';
import type { SlidePrediction } from './inference.js';
import { folderPath, id, shortText } from './schemas.js';

/** Per-slide quality-control flags. `exclude` keeps a slide out of every split. */
export const QC_FLAGS = ['blur', 'pen-marks', 'folds', 'tissue-missing', 'exclude'] as const;
export type QcFlag = (typeof QC_FLAGS)[number];
const qcFlag = z.enum(QC_FLAGS);

/**
 * Which slides a list, a bulk action or a saved cohort covers. Every condition given must hold (AND);
 * an empty filter matches every slide.
 */
export const slideFilter = z
  .object({
    /** Case-insensitive substring of the slide's file name, path or patient. */
    text: z.string().max(500).optional(),
    /** Only slides of this cohort (a saved filter is re-evaluated; an explicit cohort is its members). */
    cohortId: id.optional(),
    /** Each entry: the slide's value for the task is one of `values` (binary/categorical), or within
     * [min, max] (continuous; either bound may be left out). */
    taskValues: z
      .array(
        z
          .object({
            taskId: id,
            values: z.array(z.string().max(200)).max(1000).optional(),
            min: z.number().finite().optional(),
            max: z.number().finite().optional(),
          })
          .strict(),
      )
      .max(50)
      .optional(),
    /** Slides with no value for each of these tasks. */
    missingTaskIds: z.array(id).max(50).optional(),
    /** Each entry: the slide has (`set: true`) or has not (`set: false`) the flag. */
    qc: z
      .array(z.object({ flag: qcFlag, set: z.boolean() }).strict())
      .max(QC_FLAGS.length * 2)
      .optional(),
    /** Slides with no QC flag at all (true) or with at least one (false). */
    qcClean: z.boolean().optional(),
    /** Slides whose patient is this external id, or (null) slides with no patient. */
    patient: z.string().max(200).nullable().optional(),
  })
  .strict();
export type SlideFilter = z.input<typeof slideFilter>;

/**
 * Columns the slide list sorts by ('qc': by the number of flags set; 'size': by level-0 pixel count);
 * `task:<id>` sorts by that task's value (a categorical task by its values' order, continuous numerically).
 * `prediction:<task id>:<source>` sorts by a model's prediction of the task (binary: the probability of the
 * task's second value; categorical: the predicted value's place in the task's order, then its probability).
 * Slides with no value sort last in either direction; ties keep import order (reversed when descending).
 */
export type SlideSortColumn =
  | 'name'
  | 'path'
  | 'patient'
  | 'added'
  | 'size'
  | 'mpp'
  | 'vendor'
  | 'qc'
  | 'id'
  | `task:${number}`
  | `prediction:${number}:${string}`;

/** The sort column of a model source's predictions of a task. */
export const PREDICTION_SORT = /^prediction:([1-9]\d{0,15}):(model:[A-Za-z0-9._-]{1,100})$/;
export const SLIDE_SORT_COLUMNS = [
  'name',
  'path',
  'patient',
  'added',
  'size',
  'mpp',
  'vendor',
  'qc',
  'id',
] as const;
const sortColumn = z.union([
  z.enum(SLIDE_SORT_COLUMNS),
  z.custom<`task:${number}` | `prediction:${number}:${string}`>(
    (v) => typeof v === 'string' && (/^task:[1-9]\d{0,15}$/.test(v) || PREDICTION_SORT.test(v)),
    {
      message:
        'the sort column must be name, path, patient, added, size, mpp, vendor, qc, id, task:<id> or prediction:<task id>:<source>',
    },
  ),
]);
export const slideSort = z
  .object({ column: sortColumn.default('name'), direction: z.enum(['asc', 'desc']).default('asc') })
  .strict();
export type SlideSort = z.input<typeof slideSort>;

/** The slides a bulk action applies to: explicit ids, or every slide matching a filter (less `except`,
 * for a "select all, then deselect a few" in the table). */
export const slideSelection = z.union([
  z.object({ ids: z.array(id).min(1, 'select at least one slide').max(100_000) }).strict(),
  z.object({ filter: slideFilter, except: z.array(id).max(100_000).optional() }).strict(),
]);
export type SlideSelection = z.input<typeof slideSelection>;

/** Labels, QC and patient changes go on one session-wide undo stack (edit.undo / edit.redo). */
export interface UndoState {
  canUndo: boolean;
  canRedo: boolean;
  /** What Undo would revert, e.g. "Set tumor = yes on 12 slides"; null when there is nothing. */
  undoDescription: string | null;
  redoDescription: string | null;
}

/** One row of the library table. `labels` maps task id to the value (absent: no value). */
export interface LibrarySlide {
  id: number;
  name: string;
  path: string;
  patient: string | null;
  width: number | null;
  height: number | null;
  mppX: number | null;
  vendor: string | null;
  addedAt: string;
  labels: Record<number, string>;
  qcFlags: QcFlag[];
  qcReason: string | null;
  /** Model predictions by predictionKey(source, task id). */
  predictions: Record<string, SlidePrediction>;
}

/** The key of a source's prediction of a task in LibrarySlide.predictions. */
export function predictionKey(source: string, taskId: number): string {
  return `${source}|${taskId}`;
}

export interface RelinkResult {
  /** Slides whose file was found in the folder by fingerprint (relinked unless dryRun). */
  matched: { slideId: number; name: string; oldPath: string; newPath: string }[];
  /** Slides missing at their stored path that no file in the folder matched. */
  unmatched: { slideId: number; name: string; path: string }[];
  /** Slide files in the folder that match no missing slide. */
  unusedFiles: string[];
  /** Slides whose file is still at its stored path (left alone). */
  present: number;
  dryRun: boolean;
}

export interface PatientInfo {
  id: number;
  externalId: string;
  slideCount: number;
}

export interface PatientPatternPreview {
  /** The pattern that was applied (the TCGA default when none was given). */
  pattern: string;
  /** Slides considered (with overwrite false, only those without a patient). */
  considered: number;
  matched: number;
  unmatched: number;
  /** Slides whose patient would change. */
  changes: number;
  /** One page of slides in name order with their current and proposed patient. */
  rows: { slideId: number; name: string; current: string | null; proposed: string | null }[];
}

/** A regular expression with one capture group, applied to the file name. */
const patientPattern = z
  .string()
  .min(1, 'the pattern is empty')
  .max(500)
  .refine((p) => {
    try {
      new RegExp(p, 'u');
      return true;
    } catch {
      return false;
    }
  }, 'the pattern is not a valid regular expression');

export const libraryCommandInputs = {
  /** One page of the library: filtered, sorted, with the total matching count for a virtualised table. */
  'slides.list': z
    .object({
      offset: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(10_000).default(500),
      sort: slideSort.optional(),
      filter: slideFilter.optional(),
    })
    .strict(),
  /** Every matching slide id in list order (the viewer's J/K and N walk this; the table scrolls to one). */
  'slides.ids': z.object({ sort: slideSort.optional(), filter: slideFilter.optional() }).strict(),
  /** Removes slides from the project with their labels, QC, memberships and cache files; files on disk stay. */
  'slides.remove': z.object({ selection: slideSelection }).strict(),
  /** Slides whose file is not at its stored path (stats every slide; call on demand). */
  'slides.missing': z.object({}).strict(),
  /** Relinks missing slides to files in `folder` (recursively) with the same fingerprint. */
  'slides.relink': z.object({ folder: folderPath, dryRun: z.boolean().default(false) }).strict(),
  /** Sets or clears QC flags on a selection; flags left out are unchanged; `reason` (if given) replaces the
   * reason, null clears it. Undoable. */
  'qc.set': z
    .object({
      selection: slideSelection,
      flags: z.partialRecord(qcFlag, z.boolean()),
      reason: z.string().max(2000).nullable().optional(),
    })
    .strict(),
  /** Every patient with its slide count, by external id. */
  'patients.list': z.object({}).strict(),
  /** Sets (or with null clears) the patient of a selection by hand. Undoable. */
  'patients.set': z
    .object({ selection: slideSelection, patient: shortText('the patient id').nullable() })
    .strict(),
  /** What a file-name pattern would assign, page by page; writes nothing. Default: the TCGA barcode. */
  'patients.previewPattern': z
    .object({
      pattern: patientPattern.optional(),
      overwrite: z.boolean().default(false),
      offset: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(10_000).default(200),
    })
    .strict(),
  /** Assigns patients from the file-name pattern (one transaction). Undoable. */
  'patients.applyPattern': z
    .object({ pattern: patientPattern.optional(), overwrite: z.boolean().default(false) })
    .strict(),
} as const;

export interface LibraryCommandResults {
  'slides.list': { total: number; slides: LibrarySlide[] };
  'slides.ids': { ids: number[] };
  'slides.remove': { removed: number; cacheFilesRemoved: number };
  'slides.missing': { slides: { id: number; name: string; path: string }[] };
  'slides.relink': RelinkResult;
  'qc.set': { changed: number; undo: UndoState };
  'patients.list': { patients: PatientInfo[] };
  'patients.set': { changed: number; undo: UndoState };
  'patients.previewPattern': PatientPatternPreview;
  'patients.applyPattern': { changed: number; matched: number; unmatched: number; undo: UndoState };
}
