/**
 * What importing a label CSV would do, worked out without writing: which column feeds what (recognised by
 * name, mapped by hand, or a new task), every label it would add or change, the patients it would assign,
 * and every row it will not take with one sentence why (unknown or ambiguous slide, a value the task does
 * not allow, rows of one slide that disagree, a patient that differs from the one on file). Pure: the
 * project's state comes in as data.
 */
import type {
  CsvColumn,
  CsvColumnMapping,
  CsvImportSummary,
  CsvLabelChange,
  CsvRejectedRow,
  Task,
  TaskKind,
} from '../contract/contract.js';
import { ApiError } from '../contract/errors.js';
import type { CsvTable } from './label-csv-read.js';
import type { SlideIdentity } from './patients-repo.js';
import { SlideMatcher } from './slide-matcher.js';
import { compareText, completeValues, inferTask, readTaskValue } from './task-values.js';

/** Header names label files use for the patient and slide columns (Slideflow, CLAM, GDC, plain). */
export const PATIENT_COLUMNS = [
  'patient',
  'case_id',
  'patient_id',
  'case',
  'case_submitter_id',
  'submitter_id',
];
export const SLIDE_COLUMNS = [
  'slide',
  'slide_id',
  'slide_name',
  'filename',
  'file_name',
  'file',
  'path',
  'image',
];

/** A new task with more distinct values than this is not made from a column automatically. */
const MAX_NEW_TASK_VALUES = 100;

export interface ProjectState {
  tasks: Task[];
  slides: SlideIdentity[];
  /** Current labels of the tasks the CSV maps to: task id → (slide id → value). */
  labels: (taskId: number) => Map<number, string>;
}

export interface NewTaskPlan {
  column: number;
  name: string;
  kind: TaskKind;
  values: string[];
}

export interface CsvPlan {
  columns: CsvColumn[];
  /** Every (slide, task) the file gives a value for, with its status. */
  changes: CsvLabelChange[];
  /** Slides with no patient on file and the patient the file gives them. */
  patients: { slideId: number; patient: string }[];
  rejected: CsvRejectedRow[];
  newTasks: NewTaskPlan[];
  warnings: string[];
  summary: CsvImportSummary;
}

type TaskShape = Pick<Task, 'name' | 'kind' | 'values' | 'min' | 'max'> & { id: number | null };

export function planCsvImport(
  table: CsvTable,
  state: ProjectState,
  options: { mapping?: Record<string, CsvColumnMapping>; createTasks: boolean },
): CsvPlan {
  const warnings: string[] = [];
  const columns = mapColumns(table, state.tasks, options, warnings);
  const slideCol = columns.find((c) => c.mapping.role === 'slide');
  if (!slideCol)
    throw new ApiError(
      'bad-input',
      `${table.fileName} has no slide column: name one ${SLIDE_COLUMNS.slice(0, 2).join(' or ')}, or map a column to the slide.`,
    );
  const patientCol = columns.find((c) => c.mapping.role === 'patient');
  const newTasks: NewTaskPlan[] = [];
  const taskCols: { col: CsvColumn; task: TaskShape }[] = [];
  for (const col of columns) {
    const m = col.mapping;
    if (m.role === 'task') {
      const task = state.tasks.find((t) => t.id === m.taskId);
      if (!task)
        throw new ApiError(
          'not-found',
          `Column ${col.name} is mapped to task id ${m.taskId}, which does not exist.`,
        );
      taskCols.push({ col, task });
    } else if (m.role === 'new-task') {
      const plan = planNewTask(table, col, m, state.tasks, newTasks);
      newTasks.push(plan);
      const values =
        plan.kind === 'continuous'
          ? []
          : completeValues(
              plan.kind,
              plan.values.map((name) => ({ name })),
            );
      taskCols.push({
        col,
        task: { id: null, name: plan.name, kind: plan.kind, values, min: null, max: null },
      });
    }
  }
  const seenTasks = new Map<string, string>();
  for (const { col, task } of taskCols) {
    const key = task.name.toLowerCase();
    if (seenTasks.has(key))
      throw new ApiError(
        'bad-input',
        `Columns ${seenTasks.get(key)} and ${col.name} both feed task ${task.name}; map one to ignore.`,
      );
    seenTasks.set(key, col.name);
  }

  // Each row on its own: its slide, its patient, its values.
  const matcher = new SlideMatcher(state.slides);
  const rejected: CsvRejectedRow[] = table.errors.map((e) => ({ line: e.line, slide: '', reason: e.reason }));
  interface Candidate {
    line: number;
    slide: SlideIdentity;
    patient: string | null;
    values: (string | null)[];
  }
  const candidates: Candidate[] = [];
  for (const row of table.rows) {
    const cell = (c: CsvColumn) => row.cells[c.index] ?? '';
    const slideCell = cell(slideCol);
    const reasons: string[] = [];
    const match = matcher.match(slideCell);
    if ('error' in match) reasons.push(match.error);
    const patient = patientCol ? cell(patientCol) || null : null;
    if (
      'slide' in match &&
      patient !== null &&
      match.slide.patient !== null &&
      match.slide.patient !== patient
    )
      reasons.push(
        `slide ${match.slide.name} belongs to patient ${match.slide.patient} on file, not ${patient}`,
      );
    const values = taskCols.map(({ col, task }) => {
      const reading = readTaskValue(task, cell(col));
      if (!reading.ok) {
        reasons.push(reading.reason);
        return null;
      }
      return reading.value;
    });
    if (reasons.length || !('slide' in match)) {
      rejected.push({ line: row.line, slide: slideCell, reason: `Line ${row.line}: ${reasons.join('; ')}.` });
      continue;
    }
    candidates.push({ line: row.line, slide: match.slide, patient, values });
  }

  // Rows naming the same slide must agree; when they do not, none of them is taken.
  const bySlide = new Map<number, Candidate[]>();
  for (const c of candidates) {
    const list = bySlide.get(c.slide.id);
    if (list) list.push(c);
    else bySlide.set(c.slide.id, [c]);
  }
  const changes: CsvLabelChange[] = [];
  const patients: { slideId: number; patient: string }[] = [];
  const current = taskCols.map(({ task }) =>
    task.id === null ? new Map<number, string>() : state.labels(task.id),
  );
  for (const [slideId, rows] of bySlide) {
    const conflict = findConflict(
      rows,
      taskCols.map((t) => t.task.name),
    );
    if (conflict) {
      for (const r of rows)
        rejected.push({
          line: r.line,
          slide: r.slide.name,
          reason: `Line ${r.line}: slide ${r.slide.name} is also on line ${rows.find((o) => o !== r)!.line} with a different ${conflict}.`,
        });
      continue;
    }
    const first = rows[0]!;
    const patient = rows.find((r) => r.patient !== null)?.patient ?? null;
    if (patient !== null && first.slide.patient === null) patients.push({ slideId, patient });
    taskCols.forEach(({ task }, i) => {
      const value = rows.find((r) => r.values[i] != null)?.values[i] ?? null;
      if (value === null) return;
      const old = current[i]!.get(slideId) ?? null;
      changes.push({
        line: first.line,
        slideId,
        slideName: first.slide.name,
        taskId: task.id,
        taskName: task.name,
        oldValue: old,
        newValue: value,
        status: old === null ? 'new' : old === value ? 'unchanged' : 'changed',
      });
    });
  }
  rejected.sort((a, b) => a.line - b.line);
  const count = (s: CsvLabelChange['status']) => changes.filter((c) => c.status === s).length;
  return {
    columns,
    changes,
    patients,
    rejected,
    newTasks,
    warnings,
    summary: {
      rows: table.rows.length + table.errors.length,
      new: count('new'),
      changed: count('changed'),
      unchanged: count('unchanged'),
      rejected: rejected.length,
      patientsAssigned: patients.length,
      newTasks: newTasks.map(({ name, kind, values }) => ({ name, kind, values })),
    },
  };
}

/** "value for tumor (yes on one line, no on the other)" or "patient", or null when the rows agree. */
function findConflict(
  rows: { patient: string | null; values: (string | null)[] }[],
  taskNames: string[],
): string | null {
  if (rows.length < 2) return null;
  const patients = new Set(rows.map((r) => r.patient).filter((p) => p !== null));
  if (patients.size > 1) return `patient (${[...patients].join(' and ')})`;
  for (let i = 0; i < taskNames.length; i++) {
    const values = new Set(rows.map((r) => r.values[i]).filter((v) => v != null));
    if (values.size > 1) return `value for ${taskNames[i]} (${[...values].join(' and ')})`;
  }
  return null;
}

function mapColumns(
  table: CsvTable,
  tasks: Task[],
  options: { mapping?: Record<string, CsvColumnMapping>; createTasks: boolean },
  warnings: string[],
): CsvColumn[] {
  const given = options.mapping ?? {};
  for (const name of Object.keys(given))
    if (!table.header.includes(name))
      throw new ApiError(
        'bad-input',
        `${table.fileName} has no column "${name}" (its columns: ${table.header.join(', ')}).`,
      );
  const distinct = table.header.map(() => new Set<string>());
  for (const row of table.rows)
    row.cells.forEach((c, i) => {
      if (c && i < distinct.length) distinct[i]!.add(c);
    });
  let havePatient = Object.values(given).some((m) => m.role === 'patient');
  let haveSlide = Object.values(given).some((m) => m.role === 'slide');
  const usedTasks = new Set(Object.values(given).flatMap((m) => (m.role === 'task' ? [m.taskId] : [])));
  const columns = table.header.map((name, index): CsvColumn => {
    const values = distinct[index]!;
    const base = { name, index, distinctCount: values.size, sample: [...values].slice(0, 8) };
    const mapped = given[name];
    if (mapped) return { ...base, mapping: mapped, detected: 'user' };
    const lower = name.toLowerCase();
    if (!havePatient && PATIENT_COLUMNS.includes(lower)) {
      havePatient = true;
      return { ...base, mapping: { role: 'patient' }, detected: 'name' };
    }
    if (!haveSlide && SLIDE_COLUMNS.includes(lower)) {
      haveSlide = true;
      return { ...base, mapping: { role: 'slide' }, detected: 'name' };
    }
    const task = tasks.find((t) => t.name.toLowerCase() === lower);
    if (task && !usedTasks.has(task.id)) {
      usedTasks.add(task.id);
      return { ...base, mapping: { role: 'task', taskId: task.id }, detected: 'name' };
    }
    if (options.createTasks && !task && !PATIENT_COLUMNS.includes(lower) && !SLIDE_COLUMNS.includes(lower)) {
      const inferred = inferTask([...values]);
      if (values.size === 0) warnings.push(`Column ${name} is empty; no task was made from it.`);
      else if (inferred.kind !== 'continuous' && inferred.values.length > MAX_NEW_TASK_VALUES)
        warnings.push(
          `Column ${name} has ${inferred.values.length} different values, too many for a task; it is ignored (map it by hand to import it).`,
        );
      else return { ...base, mapping: { role: 'new-task' }, detected: 'create-tasks' };
    }
    return { ...base, mapping: { role: 'ignore' }, detected: 'none' };
  });
  const count = (role: CsvColumnMapping['role']) => columns.filter((c) => c.mapping.role === role).length;
  if (count('slide') > 1) throw new ApiError('bad-input', 'Only one column can be the slide column.');
  if (count('patient') > 1) throw new ApiError('bad-input', 'Only one column can be the patient column.');
  return columns;
}

function planNewTask(
  table: CsvTable,
  col: CsvColumn,
  m: Extract<CsvColumnMapping, { role: 'new-task' }>,
  tasks: Task[],
  planned: NewTaskPlan[],
): NewTaskPlan {
  const name = (m.name ?? col.name).trim();
  if (tasks.some((t) => t.name.toLowerCase() === name.toLowerCase()) || planned.some((p) => p.name === name))
    throw new ApiError(
      'conflict',
      `A task named "${name}" already exists; map column ${col.name} to it instead.`,
    );
  const values = [...new Set(table.rows.map((r) => (r.cells[col.index] ?? '').trim()).filter(Boolean))];
  const inferred = inferTask(values);
  const kind = m.kind ?? inferred.kind;
  if (kind === 'continuous') return { column: col.index, name, kind, values: [] };
  const list = inferred.kind === 'continuous' ? [...values].sort(compareText) : inferred.values;
  if (kind === 'binary' && list.length !== 2)
    throw new ApiError(
      'bad-input',
      `Column ${col.name} has ${list.length} different value(s); a binary task needs exactly two.`,
    );
  if (list.length > MAX_NEW_TASK_VALUES)
    throw new ApiError(
      'bad-input',
      `Column ${col.name} has ${list.length} different values, more than a task can hold (${MAX_NEW_TASK_VALUES}).`,
    );
  return { column: col.index, name, kind, values: list };
}
