/**
 * Which model an inference job applies, resolved and checked before anything is queued: a completed run's
 * kept (best) model, or a checkpoint folder the user names (config.json with Tessera's section,
 * model.safetensors, and tasks.json naming the tasks its heads answer, in head order). The folder is loaded
 * once here, so missing tensors or an unreadable config are refused with one sentence before any work.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { RunConfig } from '../contract/contract.js';
import { ApiError } from '../contract/errors.js';
import { SlideModel } from '../engine/index.js';
import { selectJob } from '../project/jobs-repo.js';
import { selectModelByName } from '../project/models-repo.js';
import type { Project } from '../project/project.js';
import { selectRun } from '../project/runs-repo.js';
import { getTaskByName } from '../project/tasks.js';
import { RUN_DEFAULTS } from '../training/runs/run-config.js';
import { bestDir } from '../training/runs/job/checkpoints.js';
import { onnxModelAbout } from '../training/models/onnx-model-import.js';
import type { PlanModel, PlanTask } from '../training/runs/run-plan.js';

export type ModelChoice = { kind: 'run'; runId: number } | { kind: 'folder'; dir: string };

/** A task the model answers, matched to the project's task of that name. */
export interface InferenceTask extends PlanTask {
  taskId: number;
}

export interface InferenceModel {
  /** Names the heatmap rasters' folder in the cache: `run-<id>` or `folder-<hash of the weights>`. */
  key: string;
  /** The predictions' (and accepted labels') source: `model:<run id>` or `model:<folder name>`. */
  source: string;
  runId: number | null;
  /** For people: "run 3 (name)" or the folder's name. */
  label: string;
  /** The checkpoint folder (absolute). */
  dir: string;
  tasks: InferenceTask[];
  mpp: number;
  tissueThreshold: number;
  chunkSize: number;
  /**
   * The imported ONNX encoder's folder where the run trained (frozen) on one: its checkpoint's encoder is
   * only a placeholder, so patches are embedded through onnxruntime, as in training. Null otherwise.
   */
  onnxEncoderDir: string | null;
}

/** The file beside a checkpoint that names its heads' tasks: [{ name, kind, values }], in head order. */
export const TASKS_FILE = 'tasks.json';

export async function resolveModel(project: Project, choice: ModelChoice): Promise<InferenceModel> {
  return choice.kind === 'run' ? resolveRun(project, choice.runId) : resolveFolder(project, choice.dir);
}

function resolveRun(project: Project, runId: number): InferenceModel {
  const run = selectRun(project.db, runId);
  if (!run) throw new ApiError('not-found', `There is no run ${runId} in this project.`);
  if (run.state !== 'completed')
    throw new ApiError(
      'conflict',
      `Run ${runId} is ${run.state}; only a completed run's model can be applied.`,
    );
  const dir = bestDir(path.join(project.dir, run.workDir));
  if (!dir) throw new ApiError('not-found', `Run ${runId} kept no model (its best/ folder is missing).`);
  const config = JSON.parse(run.config) as RunConfig;
  const job = selectJob(project.db, run.jobId);
  const plan = (JSON.parse(job?.params ?? '{}') as { plan?: { tasks?: PlanTask[]; model?: PlanModel } }).plan;
  const planTasks = plan?.tasks ?? [];
  const onnxEncoderDir = onnxEncoderOf(project, runId, plan?.model);
  return {
    key: `run-${runId}`,
    source: `model:${runId}`,
    runId,
    label: `run ${runId} (${run.name})`,
    dir,
    tasks: matchTasks(project, planTasks, `Run ${runId}`),
    mpp: config.mpp,
    tissueThreshold: config.tissueThreshold,
    chunkSize: config.chunkSize,
    onnxEncoderDir,
  };
}

/** The imported ONNX encoder a run embedded with, still in the project; null for engine encoders. */
function onnxEncoderOf(project: Project, runId: number, model: PlanModel | undefined): string | null {
  if (model?.kind !== 'imported') return null;
  // By name in this project (the plan's absolute path is stale once the project folder moves).
  const row = selectModelByName(project.db, model.name);
  const dir = row ? path.join(project.dir, row.folder) : null;
  if (dir && onnxModelAbout(dir)) return dir;
  if (!onnxModelAbout(model.dir) && (!dir || fs.existsSync(path.join(dir, 'config.json')))) return null;
  throw new ApiError(
    'not-found',
    `Run ${runId} embedded its patches with the imported ONNX model ${model.name}, which is no longer in the project's models/.`,
  );
}

async function resolveFolder(project: Project, folder: string): Promise<InferenceModel> {
  const dir = path.resolve(folder);
  const name = path.basename(dir);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new ApiError('not-found', `Model folder ${dir} does not exist.`);
  for (const file of ['config.json', 'model.safetensors', TASKS_FILE])
    if (!fs.existsSync(path.join(dir, file)))
      throw new ApiError('bad-input', `Model folder ${dir} has no ${file}; it is not a Tessera checkpoint.`);
  let tasks: PlanTask[];
  try {
    tasks = JSON.parse(fs.readFileSync(path.join(dir, TASKS_FILE), 'utf8')) as PlanTask[];
    if (!Array.isArray(tasks) || tasks.some((t) => typeof t?.name !== 'string' || !Array.isArray(t.values)))
      throw new Error('it must be a list of { name, kind, values }');
  } catch (err) {
    throw new ApiError(
      'bad-input',
      `${path.join(dir, TASKS_FILE)} cannot be read: ${(err as Error).message}.`,
    );
  }
  let model: SlideModel;
  try {
    model = await SlideModel.loadCheckpoint(dir);
  } catch (err) {
    throw new ApiError('bad-input', `Model folder ${dir} cannot be loaded: ${(err as Error).message}`);
  }
  try {
    if (model.tasks.length !== tasks.length)
      throw new ApiError(
        'bad-input',
        `Model folder ${dir} has ${model.tasks.length} task heads but ${TASKS_FILE} names ${tasks.length} tasks.`,
      );
  } finally {
    model.dispose();
  }
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(path.join(dir, 'model.safetensors'), 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    hash.update(buf.subarray(0, n)).update(String(fs.fstatSync(fd).size));
  } finally {
    fs.closeSync(fd);
  }
  return {
    key: `folder-${hash.digest('hex').slice(0, 16)}`,
    source: `model:${name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100) || 'folder'}`,
    runId: null,
    label: name,
    dir,
    tasks: matchTasks(project, tasks, `Model folder ${name}`),
    mpp: RUN_DEFAULTS.mpp,
    tissueThreshold: RUN_DEFAULTS.tissueThreshold,
    chunkSize: 32,
    onnxEncoderDir: null,
  };
}

/** Each of the model's tasks must be a project task with the same values (predictions are stored by task). */
function matchTasks(project: Project, tasks: PlanTask[], what: string): InferenceTask[] {
  if (!tasks.length) throw new ApiError('bad-input', `${what} answers no task.`);
  return tasks.map((t) => {
    let taskId: number;
    let values: string[];
    try {
      const task = getTaskByName(project.db, t.name);
      taskId = task.id;
      values = task.values.map((v) => v.name);
    } catch {
      throw new ApiError('bad-input', `${what} predicts task ${t.name}, which this project does not have.`);
    }
    if (t.values.some((v) => !values.includes(v)))
      throw new ApiError(
        'bad-input',
        `${what} predicts ${t.name} as ${t.values.join('/')}, but the project's task has ${values.join('/')}.`,
      );
    return { ...t, taskId };
  });
}
