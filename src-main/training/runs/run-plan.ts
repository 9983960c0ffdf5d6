/**
 * What a run trains and evaluates on, resolved once when it is created and stored with it: the tasks with
 * their values, the slides of each part (train, validation, test) with paths, fingerprints and labels, and
 * the model's files. The job process gets this plan and needs nothing else from the database, so a run
 * resumed later trains on exactly the same slides and labels.
 *
 * Inputs that cannot make a meaningful run are refused here, before anything is queued, with one sentence:
 * a task that cannot be trained, a split without labelled slides, a part with one class of a task.
 */
import path from 'node:path';
import type { RunConfig, SplitDetail, SplitMember, Task } from '../../contract/contract.js';
import { ApiError } from '../../contract/errors.js';
import type { Db } from '../../db/connection.js';
import { selectLabelsOfSlides } from '../../project/labels-repo.js';
import { selectModelByName } from '../../project/models-repo.js';
import type { Project } from '../../project/project.js';
import { getSplitByName } from '../../project/splits.js';
import { getTaskByName } from '../../project/tasks.js';

export type PartName = 'train' | 'val' | 'test';

export interface PlanTask {
  name: string;
  kind: 'binary' | 'categorical';
  /** Binary: [negative, positive]; categorical: the classes in the task's order. */
  values: string[];
}

export interface PlanSlide {
  id: number;
  name: string;
  path: string;
  patient: string | null;
  fingerprint: string;
  /** Per task (plan order): the class index of the slide's label, or -1 where it has none. */
  labels: number[];
}

export type PlanModel =
  | { kind: 'builtin'; size: 'micro' | 'tiny' | 'small' | 'base' }
  | { kind: 'imported'; name: string; dir: string; sha256: string };

export interface RunPlan {
  runId: number;
  config: RunConfig;
  tasks: PlanTask[];
  parts: Record<PartName, PlanSlide[]>;
  model: PlanModel;
  /** Said once in the run's log and shown with the run (e.g. slides no longer in the project). */
  warnings: string[];
}

/** Which parts of the split train, validate and test (a k-fold split: fold K tests, the next validates). */
export function partsOfSplit(split: SplitDetail, fold: number | null): Record<PartName, SplitMember[]> {
  const m = split.members;
  if (split.scheme.kind === 'folds') {
    const k = split.scheme.folds;
    const f = fold ?? 1;
    if (f < 1 || f > k)
      throw new ApiError(
        'bad-input',
        `Split ${split.name} has ${k} folds; --fold must be 1 to ${k}, not ${f}.`,
      );
    const test = `fold-${f}`;
    const val = `fold-${(f % k) + 1}`;
    const train = Object.keys(m).filter((p) => p !== test && p !== val);
    return { train: train.flatMap((p) => m[p] ?? []), val: m[val] ?? [], test: m[test] ?? [] };
  }
  if (fold !== null) throw new ApiError('bad-input', `Split ${split.name} has no folds; leave out the fold.`);
  return { train: m.train ?? [], val: m.val ?? [], test: m.test ?? [] };
}

function planTasks(db: Db, names: string[]): { tasks: PlanTask[]; rows: Task[] } {
  if (new Set(names).size !== names.length)
    throw new ApiError('bad-input', 'A task is named twice in the run.');
  const rows = names.map((n) => getTaskByName(db, n));
  const tasks = rows.map((t) => {
    if (t.kind === 'continuous')
      throw new ApiError(
        'bad-input',
        `Task ${t.name} is continuous; training takes binary and categorical tasks.`,
      );
    if (t.values.length < 2)
      throw new ApiError('bad-input', `Task ${t.name} has fewer than two values; give it its classes first.`);
    return { name: t.name, kind: t.kind, values: t.values.map((v) => v.name) };
  });
  return { tasks: tasks as PlanTask[], rows };
}

const PART_WORDS: Record<PartName, string> = { train: 'training', val: 'validation', test: 'test' };

export function buildRunPlan(project: Project, runId: number, config: RunConfig): RunPlan {
  const { db } = project;
  const { tasks } = planTasks(db, config.tasks);
  const split = getSplitByName(db, config.split);
  const members = partsOfSplit(split, config.fold);
  const warnings: string[] = [];

  const allIds = [...members.train, ...members.val, ...members.test].map((m) => m.slideId);
  const slides = new Map(
    (
      db
        .prepare(
          `SELECT id, path, name, fingerprint FROM slides WHERE id IN (SELECT value FROM json_each(?))`,
        )
        .all(JSON.stringify(allIds)) as {
        id: number;
        path: string;
        name: string;
        fingerprint: string | null;
      }[]
    ).map((r) => [r.id, r]),
  );
  const labelRows = selectLabelsOfSlides(db, allIds);
  const labelOf = new Map<string, string>();
  for (const l of labelRows) labelOf.set(`${l.s}:${l.t}`, l.v);
  const taskIds = config.tasks.map((n) => getTaskByName(db, n).id);

  const gone: string[] = [];
  const parts = {} as Record<PartName, PlanSlide[]>;
  for (const part of ['train', 'val', 'test'] as PartName[]) {
    parts[part] = [];
    for (const m of members[part]) {
      const row = slides.get(m.slideId);
      if (!row) {
        gone.push(m.slideName);
        continue;
      }
      const labels = tasks.map((t, i) => {
        // The split's own task keeps the value the split was made with; other tasks read today's labels.
        const value = t.name === split.taskName ? m.value : labelOf.get(`${m.slideId}:${taskIds[i]}`);
        return value === undefined ? -1 : t.values.indexOf(value);
      });
      if (labels.every((l) => l < 0)) continue;
      parts[part].push({
        id: m.slideId,
        name: row.name,
        path: row.path,
        patient: m.patient,
        fingerprint: row.fingerprint ?? `${row.path}`,
        labels,
      });
    }
  }
  if (gone.length)
    warnings.push(
      `${gone.length} slide(s) of split ${split.name} are no longer in the project and are left out (${gone.slice(0, 3).join(', ')}${gone.length > 3 ? ', …' : ''}).`,
    );
  if (!parts.train.length && !parts.val.length && !parts.test.length)
    throw new ApiError(
      'conflict',
      `Split ${split.name} has no slide labelled for ${config.tasks.join(', ')}: label slides, or choose another split.`,
    );
  for (const part of ['train', 'val', 'test'] as PartName[]) {
    if (part === 'val' && !members.val.length) continue;
    if (!parts[part].length)
      throw new ApiError(
        'conflict',
        `The ${PART_WORDS[part]} part of split ${split.name} has no slide labelled for ${config.tasks.join(', ')}; make a split with more labelled slides.`,
      );
    tasks.forEach((t, i) => {
      const present = new Set(parts[part].map((s) => s.labels[i]!).filter((l) => l >= 0));
      if (present.size < 2) {
        const only = [...present].map((c) => t.values[c]).join('');
        throw new ApiError(
          'conflict',
          present.size === 0
            ? `Task ${t.name} has no labelled slide in the ${PART_WORDS[part]} part of split ${split.name}; label slides or make another split.`
            : `Task ${t.name} has only "${only}" slides in the ${PART_WORDS[part]} part of split ${split.name}, so it cannot be ${part === 'train' ? 'trained' : 'measured'} there; make a split with both classes in every part.`,
        );
      }
    });
  }
  return { runId, config, tasks, parts, model: planModel(project, config), warnings };
}

function planModel(project: Project, config: RunConfig): PlanModel {
  if (config.model.kind === 'builtin') return { kind: 'builtin', size: config.model.size };
  const row = selectModelByName(project.db, config.model.name);
  if (!row)
    throw new ApiError(
      'not-found',
      `The project has no model named ${config.model.name}; import it with \`tessera models import\` or choose a built-in size.`,
    );
  return {
    kind: 'imported',
    name: row.name,
    dir: path.join(project.dir, row.folder),
    sha256: row.weightsSha256,
  };
}
