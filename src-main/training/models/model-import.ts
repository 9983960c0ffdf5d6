/**
 * Importing a model folder (timm's config.json + model.safetensors, e.g. a published pathology foundation
 * model) into the project's models/ once. It is checked before anything is copied: the architecture the
 * engine can build from the config, the tensors the file must hold for it (missing and unexpected ones
 * named; a classifier head is ignored), their shapes, and that the weights load. Then both files are
 * copied into models/<name>/ (through a temporary folder, renamed when complete) and the model is listed.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ModelInfo } from '../../contract/contract.js';
import { ApiError } from '../../contract/errors.js';
import { EncoderModel, readEncoderConfig, readSafetensors, type EncoderSpec } from '../../engine/index.js';
import { insertModel, selectModelByName, selectModels, type ModelRow } from '../../project/models-repo.js';
import type { Project } from '../../project/project.js';
import { MODEL_SIZES } from '../../contract/contract.js';
import { builtinModelInfo } from './builtin.js';

export const MODEL_FILES = { config: 'config.json', weights: 'model.safetensors' } as const;

/** Tensors a timm checkpoint may carry that an encoder without a classifier does not use. */
const IGNORED = /^(head|head_drop|fc_norm_head)\./;

export interface CheckedModel {
  spec: EncoderSpec;
  parameters: number;
  outputDim: number;
  /** Tensors in the file the encoder does not use and that were ignored (a classifier head). */
  ignored: string[];
}

function listNames(names: string[], max = 5): string {
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

/**
 * Checks that `folder` holds a model the engine can train: throws an ApiError with one sentence naming
 * the file and what is wrong.
 */
export async function checkModelFolder(folder: string): Promise<CheckedModel> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(folder);
  } catch {
    throw new ApiError('not-found', `The model folder ${folder} does not exist.`);
  }
  if (!stat.isDirectory())
    throw new ApiError(
      'bad-input',
      `${folder} is a file; give the folder that holds config.json and model.safetensors.`,
    );
  const configFile = path.join(folder, MODEL_FILES.config);
  const weightsFile = path.join(folder, MODEL_FILES.weights);
  for (const f of [configFile, weightsFile]) {
    if (!fs.existsSync(f))
      throw new ApiError(
        'not-found',
        `The model folder ${folder} has no ${path.basename(f)} (a model folder holds timm's config.json and model.safetensors).`,
      );
  }
  let spec: EncoderSpec;
  try {
    spec = readEncoderConfig(configFile);
  } catch (err) {
    throw new ApiError('bad-input', (err as Error).message);
  }
  let header;
  try {
    header = readSafetensors(weightsFile, false);
  } catch (err) {
    throw new ApiError('unreadable', (err as Error).message);
  }
  const model = EncoderModel.create(spec);
  try {
    const expected = new Map(model.parameterInfo().map((p) => [p.name, p.shape]));
    const inFile = new Map(header.tensors.map((t) => [t.name, t.shape]));
    const missing = [...expected.keys()].filter((n) => !inFile.has(n));
    const ignored = [...inFile.keys()].filter((n) => !expected.has(n) && IGNORED.test(n));
    const unexpected = [...inFile.keys()].filter((n) => !expected.has(n) && !IGNORED.test(n));
    const arch = `${spec.architecture} (${model.numParams.toLocaleString('en-US')} parameters)`;
    if (missing.length)
      throw new ApiError(
        'bad-input',
        `${weightsFile} lacks ${missing.length} of the ${expected.size} tensors ${arch} needs: ${listNames(missing)}.`,
      );
    if (unexpected.length)
      throw new ApiError(
        'bad-input',
        `${weightsFile} holds ${unexpected.length} tensors ${arch} does not have (${listNames(unexpected)}): config.json may not describe these weights.`,
      );
    const wrong = [...expected.entries()].filter(([n, shape]) => {
      const got = inFile.get(n)!;
      return n !== 'pos_embed' && got.join('x') !== shape.join('x');
    });
    if (wrong.length) {
      const [n, shape] = wrong[0]!;
      throw new ApiError(
        'bad-input',
        `${weightsFile}: tensor ${n} is ${inFile.get(n)!.join(' x ')} but ${arch} needs ${shape.join(' x ')}${wrong.length > 1 ? ` (and ${wrong.length - 1} more differ)` : ''}.`,
      );
    }
    try {
      await model.loadWeights(weightsFile);
    } catch (err) {
      throw new ApiError('bad-input', (err as Error).message);
    }
    return { spec, parameters: model.numParams, outputDim: model.outputDim, ignored };
  } finally {
    model.dispose();
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export async function importModel(project: Project, folder: string, name?: string): Promise<ModelInfo> {
  const src = path.resolve(folder);
  const modelName = name ?? path.basename(src);
  if (!NAME.test(modelName))
    throw new ApiError(
      'bad-input',
      `"${modelName}" cannot name a model: use letters, digits, '.', '_' or '-' (up to 100), starting with a letter or digit.`,
    );
  if (modelName.startsWith('builtin'))
    throw new ApiError(
      'bad-input',
      `"${modelName}" is reserved for the built-in models; choose another name.`,
    );
  if (selectModelByName(project.db, modelName))
    throw new ApiError('conflict', `The project already has a model named ${modelName}.`);
  const checked = await checkModelFolder(src);
  const relative = path.join('models', 'imported', modelName);
  const dest = path.join(project.dir, relative);
  if (fs.existsSync(dest))
    throw new ApiError('conflict', `${dest} already exists; remove it or choose another name.`);
  const tmp = `${dest}.importing-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  let sha: string;
  try {
    fs.copyFileSync(path.join(src, MODEL_FILES.config), path.join(tmp, MODEL_FILES.config));
    sha = await copyHashing(path.join(src, MODEL_FILES.weights), path.join(tmp, MODEL_FILES.weights));
    fs.renameSync(tmp, dest);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new ApiError('unreadable', `Cannot copy the model into ${dest}: ${(err as Error).message}`);
  }
  const row: Omit<ModelRow, 'id' | 'importedAt'> = {
    name: modelName,
    folder: relative,
    architecture: checked.spec.architecture,
    numParams: checked.parameters,
    outputDim: checked.outputDim,
    inputSize: checked.spec.inputSize,
    weightsSha256: sha,
    source: src,
  };
  try {
    insertModel(project.db, row);
  } catch (err) {
    fs.rmSync(dest, { recursive: true, force: true });
    throw err;
  }
  return toInfo(selectModelByName(project.db, modelName)!, checked.ignored);
}

async function copyHashing(from: string, to: string): Promise<string> {
  const hash = createHash('sha256');
  await new Promise<void>((resolve, reject) => {
    const input = fs.createReadStream(from);
    const output = fs.createWriteStream(to);
    input.on('data', (chunk) => hash.update(chunk));
    input.on('error', reject);
    output.on('error', reject);
    output.on('finish', resolve);
    input.pipe(output);
  });
  const fd = fs.openSync(to, 'r');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  return hash.digest('hex');
}

function toInfo(row: ModelRow, ignored: string[] = []): ModelInfo {
  return {
    name: row.name,
    kind: 'imported',
    architecture: row.architecture,
    parameters: row.numParams,
    outputDim: row.outputDim,
    inputSize: row.inputSize,
    description: ignored.length ? `imported; ignored ${listNames(ignored)}` : 'imported',
    folder: row.folder,
    source: row.source,
  };
}

/** The built-in sizes, then the project's imported models. */
export function listModels(project: Project): ModelInfo[] {
  return [...MODEL_SIZES.map(builtinModelInfo), ...selectModels(project.db).map((r) => toInfo(r))];
}
