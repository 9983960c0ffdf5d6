/**
 * Importing a patch encoder a lab has as ONNX (a ResNet, a Swin, ...) into the project's models/: checked
 * first (OnnxEncoder.open: an image input of fixed square size, one feature vector out, the normalisation
 * stated or given, a batch run through onnxruntime), then copied into models/imported/<name>/ as model.onnx
 * with encoder.json (what the check found) and listed. Such a model trains frozen only: the engine cannot
 * back-propagate through a graph it does not build.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ApiError } from '../../contract/errors.js';
import type { EncoderSpec } from '../../engine/index.js';
import { OnnxEncoder, type Normalisation, type OnnxEncoderInfo } from '../../onnx/index.js';
import { insertModel, selectModelByName } from '../../project/models-repo.js';
import type { Project } from '../../project/project.js';

export const ONNX_MODEL_FILES = { model: 'model.onnx', about: 'encoder.json' } as const;

/** What encoder.json holds: the checked input and output, and the normalisation. */
export type OnnxModelAbout = Omit<OnnxEncoderInfo, 'file'> & { format: 'onnx' };

/** The ONNX encoder kept in an imported model folder, or null for a timm folder. */
export function onnxModelAbout(dir: string): OnnxModelAbout | null {
  const file = path.join(dir, ONNX_MODEL_FILES.about);
  if (!fs.existsSync(file)) return null;
  const about = JSON.parse(fs.readFileSync(file, 'utf8')) as OnnxModelAbout;
  return about.format === 'onnx' ? about : null;
}

/** Opens an imported ONNX model folder's encoder with its recorded normalisation. */
export function openOnnxModel(dir: string, threads?: number): Promise<OnnxEncoder> {
  const about = onnxModelAbout(dir);
  if (!about) throw new ApiError('bad-input', `${dir} holds no imported ONNX encoder.`);
  return OnnxEncoder.open(path.join(dir, ONNX_MODEL_FILES.model), about.normalisation ?? undefined, threads);
}

/**
 * The engine's model around an ONNX encoder: the aggregator and heads need a SlideModel, whose encoder here is
 * a minimal placeholder (one 1-pixel patch, no blocks) of the ONNX encoder's output width. It is never run:
 * the ONNX encoder embeds, and only the aggregator trains (frozen mode).
 */
export const ONNX_PLACEHOLDER_ARCHITECTURE = 'onnx_encoder_placeholder';

export function onnxPlaceholderSpec(outputDim: number): EncoderSpec {
  return {
    architecture: ONNX_PLACEHOLDER_ARCHITECTURE,
    vit: {
      imgSize: 1,
      patchSize: 1,
      embedDim: outputDim,
      depth: 0,
      numHeads: 1,
      mlpRatio: 1,
      qkvBias: true,
      initValues: 0,
      regTokens: 0,
      noEmbedClass: false,
      classToken: true,
      globalPool: 'token',
      fcNorm: false,
      normEps: 1e-6,
      mlp: 'gelu',
      mean: [0, 0, 0],
      std: [1, 1, 1],
    },
    dynamicImgSize: false,
    inputSize: 1,
    cropPct: 1,
    interpolation: 'bicubic',
  };
}

export interface OnnxImported {
  name: string;
  folder: string;
  info: OnnxEncoderInfo;
  sha256: string;
}

/** Checks `file` and copies it into the project (through a temporary folder renamed when complete). */
export async function importOnnxModel(
  project: Project,
  file: string,
  name: string,
  normalisation?: Normalisation,
): Promise<OnnxImported> {
  const encoder = await OnnxEncoder.open(file, normalisation, 1);
  const info = { ...encoder.info };
  await encoder.dispose();
  const relative = path.join('models', 'imported', name);
  const dest = path.join(project.dir, relative);
  if (fs.existsSync(dest))
    throw new ApiError('conflict', `${dest} already exists; remove it or choose another name.`);
  const tmp = `${dest}.importing-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  let sha256: string;
  try {
    const bytes = fs.readFileSync(file);
    sha256 = createHash('sha256').update(bytes).digest('hex');
    fs.writeFileSync(path.join(tmp, ONNX_MODEL_FILES.model), bytes);
    const { file: _source, ...rest } = info;
    void _source;
    const about: OnnxModelAbout = { format: 'onnx', ...rest };
    fs.writeFileSync(path.join(tmp, ONNX_MODEL_FILES.about), JSON.stringify(about, null, 2) + '\n');
    fs.renameSync(tmp, dest);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new ApiError('unreadable', `Cannot copy the model into ${dest}: ${(err as Error).message}`);
  }
  try {
    insertModel(project.db, {
      name,
      folder: relative,
      architecture: `onnx:${info.architecture}`,
      numParams: info.parameters,
      outputDim: info.outputDim,
      inputSize: info.inputSize,
      weightsSha256: sha256,
      source: path.resolve(file),
    });
  } catch (err) {
    fs.rmSync(dest, { recursive: true, force: true });
    throw err;
  }
  if (!selectModelByName(project.db, name)) throw new Error(`model ${name} was not listed`);
  return { name, folder: relative, info, sha256 };
}
