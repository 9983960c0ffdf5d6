/**
 * Making a run from what the user asked for, inside the transaction that queues its job: the tasks (the
 * project's only trainable task when none is named), the split (a seeded patient-level 0.6 / 0.2 / 0.2
 * split of the labelled slides, made and stored, when none is named), the config with its defaults, the
 * run row and its plan. Anything refused rolls the whole of it back, the default split included.
 */
import type { RunConfig, RunConfigInput } from '../../contract/contract.js';
import { ApiError } from '../../contract/errors.js';
import type { Project } from '../../project/project.js';
import { insertRun } from '../../project/runs-repo.js';
import { createSplit, getSplitByName, listSplits, previewSplit } from '../../project/splits.js';
import { getTaskByName, listTasks } from '../../project/tasks.js';
import type { TrainingParams } from './job/training-job.js';
import { checkRegionClasses } from '../patch-regions.js';
import { codeVersion, resolveRunConfig, RUN_DEFAULTS } from './run-config.js';
import { buildRunPlan } from './run-plan.js';

export const DEFAULT_FRACTIONS = [0.6, 0.2, 0.2];

function defaultTask(project: Project): string {
  const trainable = listTasks(project.db).filter((t) => t.kind !== 'continuous' && t.labelCount > 0);
  if (trainable.length === 1) return trainable[0]!.name;
  if (!trainable.length)
    throw new ApiError(
      'conflict',
      'The project has no binary or categorical task with labels to train on; label slides first.',
    );
  throw new ApiError(
    'bad-input',
    `Name the task to train (the project has ${trainable.map((t) => t.name).join(', ')}).`,
  );
}

/** The stored split with the default's name and the same members as a fresh one would have, or a new one. */
function defaultSplit(project: Project, task: string, seed: number): string {
  const taskRow = getTaskByName(project.db, task);
  const scheme = { kind: 'fractions' as const, fractions: DEFAULT_FRACTIONS };
  const fresh = previewSplit(project.db, { taskId: taskRow.id, scheme, seed });
  const same = (name: string) => {
    const stored = getSplitByName(project.db, name);
    return ['train', 'val', 'test'].every(
      (p) =>
        JSON.stringify((stored.members[p] ?? []).map((m) => m.slideId).sort((a, b) => a - b)) ===
        JSON.stringify((fresh.members[p] ?? []).map((m) => m.slideId).sort((a, b) => a - b)),
    );
  };
  const existing = listSplits(project.db).find(
    (s) => s.name === fresh.name || s.name.startsWith(`${fresh.name} (`),
  );
  if (existing && same(existing.name)) return existing.name;
  return createSplit(project.db, { taskId: taskRow.id, scheme, seed }).name;
}

export function resolveInput(project: Project, input: RunConfigInput): RunConfig {
  const tasks = input.tasks?.length ? input.tasks : [defaultTask(project)];
  for (const t of tasks) getTaskByName(project.db, t);
  const seed = input.seed ?? RUN_DEFAULTS.seed;
  const split = input.split ?? defaultSplit(project, tasks[0]!, seed);
  const splitTask = getSplitByName(project.db, split).taskName;
  const mode = input.mode ?? RUN_DEFAULTS.mode;
  const model =
    input.model?.kind === 'imported'
      ? input.model.name
      : `builtin:${input.model?.size ?? RUN_DEFAULTS.model.size}`;
  if (input.regions)
    checkRegionClasses(project.db, {
      include: input.regions.include ?? [],
      exclude: input.regions.exclude ?? [],
    });
  return resolveRunConfig(
    { ...input, tasks },
    { split, splitTask, name: `${tasks.join('+')} ${mode} ${model} seed ${seed}` },
  );
}

/** The job's params and folder; inserts the run row (call inside the job's transaction). */
export function setUpRun(
  project: Project,
  jobId: number,
  input: RunConfigInput | RunConfig,
): { params: TrainingParams; workDir: string; runId: number } {
  const config = resolveInput(project, input as RunConfigInput);
  const runId = insertRun(project.db, {
    jobId,
    name: config.name,
    config,
    codeVersion: codeVersion(),
    splitName: config.split,
    members: {},
  });
  const plan = buildRunPlan(project, runId, config);
  project.db
    .prepare('UPDATE runs SET members = ? WHERE id = ?')
    .run(
      JSON.stringify(
        Object.fromEntries(Object.entries(plan.parts).map(([p, list]) => [p, list.map((s) => s.id)])),
      ),
      runId,
    );
  for (const w of plan.warnings)
    project.db
      .prepare(`UPDATE runs SET warnings = json_insert(warnings, '$[#]', ?) WHERE id = ?`)
      .run(w, runId);
  return { params: { plan }, workDir: `models/runs/run-${runId}`, runId };
}
