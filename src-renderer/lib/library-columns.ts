/**
 * The Library table's columns as data: the slide's own fields, one column per task, QC. A column says
 * how to show a row's value and what to sort by; the table renders whatever list it gets, so other
 * columns (a model run's predictions) join by adding entries here. Pure.
 */
import type {
  LibrarySlide,
  PredictionSource,
  QcFlag,
  SlideSortColumn,
  Task,
} from '../../src-main/contract/contract.js';
import { formatCount } from './format.js';
import { QC_FLAG_LABELS } from './list-query.js';

export type Cell =
  | { kind: 'text'; text: string; title?: string; muted?: boolean }
  | { kind: 'value'; text: string; color: string | null }
  | { kind: 'qc'; flags: QcFlag[]; reason: string | null }
  | { kind: 'thumbnail' }
  | { kind: 'open' };

export interface LibraryColumn {
  /** Unique among the columns: 'name', 'task:3', later e.g. 'prediction:<run>:<task>'. */
  id: string;
  header: string;
  /** A longer description for the header's tooltip. */
  title?: string;
  sort: SlideSortColumn | null;
  /** Width in CSS pixels; the `grow` column takes what is left (at least its width). */
  width: number;
  grow?: boolean;
  align?: 'start' | 'end';
  /** data-testid of the column's cells. */
  testid?: string;
  /** Stays in view while the table scrolls sideways (the slide's thumbnail and name). */
  pinned?: boolean;
  cell: (slide: LibrarySlide) => Cell;
}

const NONE = '—';

export function formatSize(s: Pick<LibrarySlide, 'width' | 'height'>): string {
  return s.width !== null && s.height !== null
    ? `${formatCount(s.width)} × ${formatCount(s.height)} px`
    : NONE;
}

export function formatResolution(s: Pick<LibrarySlide, 'mppX'>): string {
  return s.mppX !== null ? `${s.mppX.toFixed(3)} µm/px` : NONE;
}

/** A task's value as its cell shows it: the value's colour for binary and categorical tasks. */
export function taskCell(task: Task, slide: LibrarySlide): Cell {
  const value = slide.labels[task.id];
  if (value === undefined) return { kind: 'text', text: NONE, muted: true };
  if (task.kind === 'continuous') return { kind: 'text', text: value };
  const color = task.values.find((v) => v.name === value)?.color ?? null;
  return { kind: 'value', text: value, color };
}

/** Who made a prediction, short: "run 3" or the checkpoint folder's name. */
export function sourceLabel(source: Pick<PredictionSource, 'source' | 'runId'>): string {
  return source.runId !== null ? `run ${source.runId}` : source.source.slice('model:'.length);
}

/**
 * A model's prediction of a task: the most probable value and its probability ("positive 0.87"), in the
 * value's colour. Binary tasks show p(positive value) so a column reads as one score.
 */
export function predictionCell(source: PredictionSource, task: Task | undefined, slide: LibrarySlide): Cell {
  const p = slide.predictions?.[`${source.source}|${source.taskId}`];
  if (!p) return { kind: 'text', text: NONE, muted: true };
  const i = source.values.indexOf(p.value);
  const color = task?.values.find((v) => v.name === p.value)?.color ?? null;
  return { kind: 'value', text: `${p.value} ${(p.probabilities[i] ?? 0).toFixed(2)}`, color };
}

export function predictionColumns(
  sources: readonly PredictionSource[],
  tasks: readonly Task[],
): LibraryColumn[] {
  return sources.map((source) => ({
    id: `prediction:${source.source}:${source.taskId}`,
    header: `${source.taskName} · ${sourceLabel(source)}`,
    title: `${source.taskName} as predicted by ${sourceLabel(source)} (${source.slides} slides): the most probable value and its probability`,
    sort: `prediction:${source.taskId}:${source.source}`,
    width: 170,
    testid: 'slide-prediction',
    cell: (s) =>
      predictionCell(
        source,
        tasks.find((t) => t.id === source.taskId),
        s,
      ),
  }));
}

export function libraryColumns(
  tasks: readonly Task[],
  sources: readonly PredictionSource[] = [],
): LibraryColumn[] {
  return [
    {
      id: 'thumbnail',
      header: 'Thumbnail',
      sort: null,
      width: 66,
      pinned: true,
      cell: () => ({ kind: 'thumbnail' }),
    },
    {
      id: 'name',
      header: 'Slide',
      sort: 'name',
      width: 230,
      grow: true,
      pinned: true,
      testid: 'slide-name',
      cell: (s) => ({ kind: 'text', text: s.name, title: s.path }),
    },
    {
      id: 'patient',
      header: 'Patient',
      sort: 'patient',
      width: 150,
      testid: 'slide-patient',
      cell: (s) => ({ kind: 'text', text: s.patient ?? NONE, muted: s.patient === null }),
    },
    ...tasks.map((task): LibraryColumn => ({
      id: `task:${task.id}`,
      header: task.name,
      title: `${task.name} (${task.kind})${task.description ? `: ${task.description}` : ''}`,
      sort: `task:${task.id}`,
      width: task.kind === 'continuous' ? 110 : 130,
      align: task.kind === 'continuous' ? 'end' : 'start',
      testid: 'slide-label',
      cell: (s) => taskCell(task, s),
    })),
    ...predictionColumns(sources, tasks),
    {
      id: 'qc',
      header: 'QC',
      title: 'Quality-control flags',
      sort: 'qc',
      width: 130,
      testid: 'slide-qc',
      cell: (s) => ({ kind: 'qc', flags: s.qcFlags, reason: s.qcReason }),
    },
    {
      id: 'size',
      header: 'Size',
      sort: 'size',
      width: 155,
      align: 'end',
      testid: 'slide-size',
      cell: (s) => ({ kind: 'text', text: formatSize(s) }),
    },
    {
      id: 'mpp',
      header: 'Resolution',
      sort: 'mpp',
      width: 108,
      align: 'end',
      testid: 'slide-resolution',
      cell: (s) => ({ kind: 'text', text: formatResolution(s) }),
    },
    {
      id: 'vendor',
      header: 'Scanner',
      sort: 'vendor',
      width: 110,
      testid: 'slide-vendor',
      cell: (s) => ({ kind: 'text', text: s.vendor ?? NONE, muted: s.vendor === null }),
    },
    { id: 'open', header: 'Actions', sort: null, width: 84, cell: () => ({ kind: 'open' }) },
  ];
}

/** Short forms for the QC cell's badges. */
export const QC_FLAG_SHORT: Record<QcFlag, string> = {
  blur: 'Blur',
  'pen-marks': 'Pen',
  folds: 'Fold',
  'tissue-missing': 'No tissue',
  exclude: 'Excl.',
};

export function qcTitle(flags: readonly QcFlag[], reason: string | null): string {
  if (flags.length === 0) return reason ? `No flags. ${reason}` : 'No QC flags';
  const names = flags.map((f) => QC_FLAG_LABELS[f]).join(', ');
  return reason ? `${names}: ${reason}` : names;
}
