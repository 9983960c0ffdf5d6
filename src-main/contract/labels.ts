/**
 * Tasks (label schemas), slide labels with their history, the session's undo stack, and label CSV
 * import/export. Included in contract.ts.
 */
import { z } from 'zod';
import { slideSelection, type UndoState } from './library.js';
import { id, shortText } from './schemas.js';

export const TASK_KINDS = ['binary', 'categorical', 'continuous'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

/** One allowed value of a binary or categorical task. `key` is the keyboard key that sets it in the
 * viewer (one character, unique within the task); `color` is `#rrggbb`. */
export interface TaskValue {
  name: string;
  color: string;
  key: string | null;
}

export interface Task {
  id: number;
  name: string;
  kind: TaskKind;
  description: string | null;
  /** Binary: exactly two, the negative first (a spreadsheet's FALSE/0/no), the positive second
   * (TRUE/1/yes). Categorical: in display order. Continuous: empty. */
  values: TaskValue[];
  /** Continuous tasks only (null: unbounded). */
  min: number | null;
  max: number | null;
  /** Labels this task holds now (what deleting it would remove). */
  labelCount: number;
  /** Labels per value (binary/categorical). */
  valueCounts: Record<string, number>;
  createdAt: string;
}

/** Where a label came from: a person, a CSV import, or a model run (`model:<runId>`). */
export type LabelSource = 'manual' | 'csv' | `model:${string}`;
const labelSource = z.custom<LabelSource>(
  (v) => typeof v === 'string' && /^(manual|csv|model:[A-Za-z0-9._-]{1,100})$/.test(v),
  { message: 'the source must be manual, csv or model:<run id>' },
);

export interface SlideLabel {
  slideId: number;
  taskId: number;
  value: string;
  source: LabelSource;
  author: string | null;
  updatedAt: string;
}

export interface LabelHistoryEntry {
  id: number;
  slideId: number;
  /** Null once the slide has been removed from the project. */
  slideName: string | null;
  taskId: number;
  /** Null once the task has been deleted. */
  taskName: string | null;
  oldValue: string | null;
  newValue: string | null;
  source: LabelSource | null;
  author: string | null;
  /** Why, beyond an ordinary edit: 'undo', 'redo', 'csv-import', 'value-renamed', 'task-deleted',
   * 'slide-removed', or null. */
  reason: string | null;
  changedAt: string;
}

const hexColor = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour is #rrggbb');
const valueKey = z
  .string()
  .regex(/^[A-Za-z0-9]$/, 'a value key is one letter or digit')
  .refine((k) => !['j', 'k', 'n', 'J', 'K', 'N'].includes(k), 'J, K and N are the viewer’s navigation keys');
const taskValueInput = z
  .object({
    name: shortText('the value name', 100),
    color: hexColor.optional(),
    key: valueKey.nullable().optional(),
  })
  .strict();
/** A value's name, a number (continuous), true/false (binary: the second/first value), or null to clear. */
const labelValue = z.union([z.string().max(200), z.number().finite(), z.boolean()]).nullable();

/** What a CSV's column feeds. Auto-detected (see CsvColumn.detected) unless mapped by hand. */
export type CsvColumnMapping =
  | { role: 'patient' }
  | { role: 'slide' }
  | { role: 'ignore' }
  | { role: 'task'; taskId: number }
  /** A task created on apply; kind inferred from the column (binary for two distinct values,
   * categorical otherwise, continuous when every value is a number) unless given. */
  | { role: 'new-task'; name?: string; kind?: TaskKind };
const columnMapping = z.discriminatedUnion('role', [
  z.object({ role: z.literal('patient') }).strict(),
  z.object({ role: z.literal('slide') }).strict(),
  z.object({ role: z.literal('ignore') }).strict(),
  z.object({ role: z.literal('task'), taskId: id }).strict(),
  z
    .object({
      role: z.literal('new-task'),
      name: shortText('the task name', 100).optional(),
      kind: z.enum(TASK_KINDS).optional(),
    })
    .strict(),
]);

/** Largest CSV accepted as text through the API (the browser-mode server's body limit is above it). */
export const MAX_CSV_BYTES = 32 * 1024 * 1024;
/** The CSV to read: a path on the machine running Tessera, or the text itself (a browser file pick). */
const csvSource = z.union([
  z.object({ path: z.string().trim().min(1).max(4096) }).strict(),
  z
    .object({
      text: z.string().max(MAX_CSV_BYTES, 'the CSV is larger than 32 MB'),
      fileName: shortText('the file name', 500),
    })
    .strict(),
]);
const csvImportInput = z
  .object({
    source: csvSource,
    /** By column name (as in the header); overrides detection for the columns named. */
    mapping: z.record(z.string().max(500), columnMapping).optional(),
    /** Columns that name no task and are not mapped become new tasks (as the CLI's --create-tasks). */
    createTasks: z.boolean().default(false),
  })
  .strict();

export interface CsvColumn {
  name: string;
  /** 0-based position in the header. */
  index: number;
  mapping: CsvColumnMapping;
  /** 'name': recognised by its header (patient/case_id, slide/slide_id, a task's name); 'user': mapped
   * by hand; 'create-tasks': a new task from createTasks; 'none': ignored for want of a match. */
  detected: 'name' | 'user' | 'create-tasks' | 'none';
  /** Distinct non-empty values, and up to 8 of them. */
  distinctCount: number;
  sample: string[];
}

export type CsvChangeStatus = 'new' | 'changed' | 'unchanged';

export interface CsvLabelChange {
  /** 1-based line number in the file (the header is line 1; quoted newlines count). */
  line: number;
  slideId: number;
  slideName: string;
  /** Null for a task the import would create. */
  taskId: number | null;
  taskName: string;
  oldValue: string | null;
  newValue: string;
  status: CsvChangeStatus;
}

export interface CsvRejectedRow {
  line: number;
  /** The row's slide cell as written (empty when the row has none). */
  slide: string;
  /** One sentence, e.g. `Line 7: no slide in the project is named "A-12.svs".` */
  reason: string;
}

export interface CsvImportSummary {
  /** Rows read (not counting the header). */
  rows: number;
  new: number;
  changed: number;
  unchanged: number;
  rejected: number;
  /** Slides with no patient on file that the patient column assigns one to. */
  patientsAssigned: number;
  /** Tasks that applying creates (or created). */
  newTasks: { name: string; kind: TaskKind; values: string[] }[];
}

export interface CsvPreview {
  /** Pass to labels.applyCsv to apply exactly this file and mapping (kept for the session, one at a time). */
  previewId: string;
  fileName: string;
  delimiter: ',' | ';' | '\t';
  columns: CsvColumn[];
  summary: CsvImportSummary;
  /** The first 200 changes (new and changed first) and the first 200 rejected rows; page the rest
   * with labels.csvPreviewPage. */
  changes: CsvLabelChange[];
  rejected: CsvRejectedRow[];
  /** About the file as a whole, e.g. a column ignored for having too many different values. */
  warnings: string[];
}

export const labelCommandInputs = {
  /** Every task with its values and label counts, in creation order. */
  'tasks.list': z.object({}).strict(),
  /** Creates a task. Binary without values gets no/yes; values without colour or key get defaults. */
  'tasks.create': z
    .object({
      name: shortText('the task name', 100),
      kind: z.enum(TASK_KINDS),
      values: z.array(taskValueInput).max(100).optional(),
      min: z.number().finite().nullable().optional(),
      max: z.number().finite().nullable().optional(),
      description: z.string().max(2000).nullable().optional(),
    })
    .strict(),
  /** Renames a task or changes its description or (continuous) bounds. */
  'tasks.update': z
    .object({
      taskId: id,
      name: shortText('the task name', 100).optional(),
      description: z.string().max(2000).nullable().optional(),
      min: z.number().finite().nullable().optional(),
      max: z.number().finite().nullable().optional(),
    })
    .strict(),
  /** Adds a value to a categorical task. */
  'tasks.addValue': z.object({ taskId: id, value: taskValueInput }).strict(),
  /** Edits one value; renaming it relabels every slide that has it, in one transaction. */
  'tasks.editValue': z
    .object({
      taskId: id,
      value: z.string().min(1).max(200),
      name: shortText('the value name', 100).optional(),
      color: hexColor.optional(),
      key: valueKey.nullable().optional(),
    })
    .strict(),
  /** Removes a categorical value; refused ('conflict') while slides have it unless clearLabels is true. */
  'tasks.removeValue': z
    .object({ taskId: id, value: z.string().min(1).max(200), clearLabels: z.boolean().default(false) })
    .strict(),
  /** Puts a task's values in this order (every current value exactly once). */
  'tasks.reorderValues': z
    .object({ taskId: id, values: z.array(z.string().min(1).max(200)).min(1).max(100) })
    .strict(),
  /** Deletes a task and its labels (tasks.list's labelCount says how many). Not undoable. */
  'tasks.delete': z.object({ taskId: id }).strict(),
  /** Sets (or with null clears) one slide's value for one task: the keyboard path. Undoable. */
  'labels.set': z
    .object({
      slideId: id,
      taskId: id,
      value: labelValue,
      source: labelSource.default('manual'),
      author: z.string().max(200).optional(),
    })
    .strict(),
  /** Sets (or clears) one task's value on a selection, one transaction, one undo step. */
  'labels.setMany': z
    .object({
      selection: slideSelection,
      taskId: id,
      value: labelValue,
      source: labelSource.default('manual'),
      author: z.string().max(200).optional(),
    })
    .strict(),
  /** Every label of one slide, with source, author and time (the viewer's panel). */
  'labels.forSlide': z.object({ slideId: id }).strict(),
  /** The label history, newest first; narrowed to a slide and/or a task. */
  'labels.history': z
    .object({
      slideId: id.optional(),
      taskId: id.optional(),
      offset: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(10_000).default(200),
    })
    .strict(),
  /** Reads a label CSV and says what importing it would do; writes nothing. */
  'labels.previewCsv': csvImportInput,
  /** More of a preview's changes (optionally of one status) or rejected rows. */
  'labels.csvPreviewPage': z
    .object({
      previewId: z.string().min(1).max(100),
      list: z.enum(['changes', 'rejected']),
      status: z.enum(['new', 'changed', 'unchanged']).optional(),
      offset: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(10_000).default(200),
    })
    .strict(),
  /** Applies a CSV in one transaction: by the id of a preview, or by re-sending the source and mapping.
   * Rejected rows are skipped (and listed); the rest is one undo step. */
  'labels.applyCsv': z.union([
    z.object({ previewId: z.string().min(1).max(100), author: z.string().max(200).optional() }).strict(),
    csvImportInput.extend({ author: z.string().max(200).optional() }).strict(),
  ]),
  /** Writes the labels as CSV (patient, slide, one column per task), the format labels.applyCsv reads:
   * exporting then importing changes nothing. To `path` when given, else returned as text. */
  'labels.exportCsv': z
    .object({
      path: z.string().trim().min(1).max(4096).optional(),
      taskIds: z.array(id).max(200).optional(),
    })
    .strict(),
  /** Reverts the newest labels/QC/patient change of this session (in one transaction). */
  'edit.undo': z.object({}).strict(),
  /** Re-applies the change undone last. */
  'edit.redo': z.object({}).strict(),
  /** What Undo and Redo would do now. */
  'edit.state': z.object({}).strict(),
} as const;

export interface LabelCommandResults {
  'tasks.list': { tasks: Task[] };
  'tasks.create': Task;
  'tasks.update': Task;
  'tasks.addValue': Task;
  'tasks.editValue': { task: Task; relabeled: number };
  'tasks.removeValue': { task: Task; cleared: number };
  'tasks.reorderValues': Task;
  'tasks.delete': { deletedLabels: number };
  'labels.set': { label: SlideLabel | null; changed: boolean; undo: UndoState };
  'labels.setMany': { changed: number; unchanged: number; undo: UndoState };
  'labels.forSlide': { labels: SlideLabel[] };
  'labels.history': { total: number; entries: LabelHistoryEntry[] };
  'labels.previewCsv': CsvPreview;
  'labels.csvPreviewPage': { total: number; changes: CsvLabelChange[]; rejected: CsvRejectedRow[] };
  'labels.applyCsv': {
    summary: CsvImportSummary;
    rejected: CsvRejectedRow[];
    warnings: string[];
    /** Ids of the tasks the import created. */
    createdTaskIds: number[];
    undo: UndoState;
  };
  'labels.exportCsv': { path: string | null; csv: string | null; rows: number };
  'edit.undo': { undone: string | null; undo: UndoState };
  'edit.redo': { redone: string | null; undo: UndoState };
  'edit.state': UndoState;
}
