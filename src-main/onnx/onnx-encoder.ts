/**
 * A patch encoder a lab already has as ONNX (a ResNet, a Swin, ...: architectures the native engine does not
 * build), checked before use and run through onnxruntime-node. Two input layouts are taken:
 *
 *   images  float32 (batch, 3, H, W) with H = W fixed: pixels are scaled to [0, 1] and normalised here with the
 *           mean and std the model was trained with (given by the user, or stored in the file's metadata as
 *           `mean` / `std`, comma-separated or JSON);
 *   pixels  uint8 (batch, H, W, 3): raw RGB, normalised inside the graph (what `tessera export onnx` writes).
 *
 * The output must be one feature vector per image: (batch, D), or (batch, D, 1, 1) as a CNN's pooled map.
 * Anything else is refused with one sentence naming the file and what does not fit.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { ApiError } from '../contract/errors.js';
import { decodeModel, DataType, type ModelProto, type ValueInfoProto } from './onnx-proto.js';

export type Normalisation = { mean: [number, number, number]; std: [number, number, number] };

export interface OnnxEncoderInfo {
  file: string;
  layout: 'images' | 'pixels';
  inputName: string;
  outputName: string;
  inputSize: number;
  outputDim: number;
  /** A fixed batch size the graph demands, or null when it is dynamic. */
  fixedBatch: number | null;
  /** Images layout only. */
  normalisation: Normalisation | null;
  /** The file's name without .onnx, for listings (graph names are mostly generic: torch_jit, main_graph). */
  architecture: string;
  parameters: number;
}

const TYPE_NAMES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  6: 'int32',
  7: 'int64',
  10: 'float16',
  11: 'float64',
};

function fail(file: string, why: string): never {
  throw new ApiError('bad-input', `${file} ${why}`);
}

function dimsOf(v: ValueInfoProto): (number | string | null)[] | null {
  const shape = v.type?.tensor_type?.shape;
  if (!shape) return null;
  return (shape.dim ?? []).map((d) => (d.dim_value ? Number(d.dim_value) : (d.dim_param ?? null)));
}

function showDims(dims: (number | string | null)[]): string {
  return `(${dims.map((d) => d ?? '?').join(', ')})`;
}

function parseTriple(text: string | undefined): [number, number, number] | null {
  if (!text) return null;
  const values = text.trim().startsWith('[') ? (JSON.parse(text) as unknown[]) : text.split(',');
  const nums = values.map((v) => Number(v));
  return nums.length === 3 && nums.every((n) => Number.isFinite(n))
    ? (nums as [number, number, number])
    : null;
}

/** Reads and checks the graph's declared inputs and outputs (no inference yet). */
export function describeOnnxEncoder(
  file: string,
  given?: Normalisation,
): Omit<OnnxEncoderInfo, 'outputDim'> & { outputDim: number | null } {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    fail(file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
  }
  let model: ModelProto;
  try {
    model = decodeModel(bytes);
  } catch {
    fail(file, 'is not an ONNX model: it cannot be read as an ONNX ModelProto.');
  }
  const graph = model.graph;
  if (!model.ir_version || !graph || !(graph.node ?? []).length || !(graph.output ?? []).length)
    fail(file, 'is not an ONNX model: it holds no graph with operators and outputs.');
  const weights = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((i) => !weights.has(i.name));
  if (inputs.length !== 1)
    fail(
      file,
      `has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ') || 'none'}); a patch encoder takes one batch of images.`,
    );
  const input = inputs[0]!;
  const type = input.type?.tensor_type?.elem_type ?? 0;
  const dims = dimsOf(input);
  if (!dims || dims.length !== 4)
    fail(
      file,
      `has input "${input.name}" of shape ${dims ? showDims(dims) : 'unknown'}; a patch encoder takes images (batch, 3, height, width).`,
    );
  let layout: OnnxEncoderInfo['layout'];
  let h: number | string | null;
  let w: number | string | null;
  if (type === DataType.FLOAT && dims[1] === 3) {
    layout = 'images';
    [h, w] = [dims[2]!, dims[3]!];
  } else if (type === DataType.UINT8 && dims[3] === 3) {
    layout = 'pixels';
    [h, w] = [dims[1]!, dims[2]!];
  } else if (type === DataType.FLOAT && dims[3] === 3)
    fail(
      file,
      `has input "${input.name}" of shape ${showDims(dims)}, channels last; export it channels first (batch, 3, height, width).`,
    );
  else
    fail(
      file,
      `has input "${input.name}" of ${TYPE_NAMES[type] ?? `type ${type}`} ${showDims(dims)}; a patch encoder takes float32 images (batch, 3, height, width).`,
    );
  if (typeof h !== 'number' || typeof w !== 'number')
    fail(
      file,
      `has input "${input.name}" with a dynamic height or width ${showDims(dims)}; export it with a fixed size such as 224 x 224.`,
    );
  if (h !== w)
    fail(file, `takes ${w} x ${h} images; Tessera's patches are square, so the input must be too.`);
  const output = graph.output![0]!;
  const out = dimsOf(output);
  const featureShape = out && (out.length === 2 || (out.length === 4 && out[2] === 1 && out[3] === 1));
  if (out && !featureShape)
    fail(
      file,
      `has output "${output.name}" of shape ${showDims(out)}; a patch encoder outputs one feature vector per image, (batch, features).`,
    );
  let normalisation: Normalisation | null = null;
  if (layout === 'images') {
    const meta = new Map((model.metadata_props ?? []).map((p) => [p.key, p.value]));
    const mean = given?.mean ?? parseTriple(meta.get('mean') ?? meta.get('tessera.mean'));
    const std = given?.std ?? parseTriple(meta.get('std') ?? meta.get('tessera.std'));
    if (!mean || !std)
      fail(
        file,
        "does not say how its input is normalised; give the mean and std it was trained with (ImageNet's are 0.485,0.456,0.406 and 0.229,0.224,0.225).",
      );
    if (std.some((s) => !(s > 0)))
      fail(file, `is given a std of ${std.join(',')}; every std must be positive.`);
    normalisation = { mean, std };
  }
  const batch = dims[0];
  let parameters = 0;
  for (const t of graph.initializer ?? []) parameters += (t.dims ?? []).reduce((a, b) => a * Number(b), 1);
  return {
    file,
    layout,
    inputName: input.name,
    outputName: output.name,
    inputSize: h,
    outputDim: out && typeof out[1] === 'number' ? out[1] : null,
    fixedBatch: typeof batch === 'number' ? batch : null,
    normalisation,
    architecture: path.basename(file).replace(/\.onnx$/i, ''),
    parameters,
  };
}

/** An ONNX patch encoder open in onnxruntime-node. */
export class OnnxEncoder {
  private constructor(
    readonly info: OnnxEncoderInfo,
    private readonly session: ort.InferenceSession,
  ) {}

  get inputSize(): number {
    return this.info.inputSize;
  }
  get outputDim(): number {
    return this.info.outputDim;
  }

  /**
   * Checks `file` (describeOnnxEncoder), opens it, and runs one batch to learn and check the feature width.
   * `threads`: onnxruntime's intra-op threads (default: its own choice).
   */
  static async open(file: string, normalisation?: Normalisation, threads?: number): Promise<OnnxEncoder> {
    const described = describeOnnxEncoder(file, normalisation);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(file, threads ? { intraOpNumThreads: threads } : {});
    } catch (err) {
      fail(file, `cannot be loaded by onnxruntime: ${firstLine(err)}`);
    }
    const encoder = new OnnxEncoder({ ...described, outputDim: described.outputDim ?? 0 }, session);
    const probe = described.fixedBatch ?? 2;
    let out: Float32Array;
    try {
      out = await encoder.run(new Uint8Array(probe * described.inputSize ** 2 * 3).fill(128), probe);
    } catch (err) {
      await session.release();
      fail(file, `fails on a batch of ${probe} images: ${firstLine(err)}`);
    }
    const dim = out.length / probe;
    if (!Number.isInteger(dim) || dim < 1 || (described.outputDim !== null && dim !== described.outputDim)) {
      await session.release();
      fail(
        file,
        `gives ${out.length} values for ${probe} images; a patch encoder gives one feature vector per image.`,
      );
    }
    encoder.info.outputDim = dim;
    return encoder;
  }

  /** Features of n patches (RGB uint8, n x S x S x 3, the engine's layout) → n x outputDim floats. */
  async embed(
    pixels: Uint8Array,
    n: number,
    options: { signal?: AbortSignal; batchSize?: number } = {},
  ): Promise<Float32Array> {
    const S = this.info.inputSize;
    if (pixels.length !== n * S * S * 3)
      throw new Error(`${n} patches of ${S} x ${S} need ${n * S * S * 3} bytes, got ${pixels.length}.`);
    const batch = this.info.fixedBatch ?? options.batchSize ?? 32;
    const out = new Float32Array(n * this.info.outputDim);
    for (let start = 0; start < n; start += batch) {
      options.signal?.throwIfAborted();
      const count = Math.min(batch, n - start);
      let chunk = pixels.subarray(start * S * S * 3, (start + count) * S * S * 3);
      if (this.info.fixedBatch && count < batch) {
        const padded = new Uint8Array(batch * S * S * 3);
        padded.set(chunk);
        chunk = padded;
      }
      const features = await this.run(chunk, this.info.fixedBatch ?? count);
      out.set(features.subarray(0, count * this.info.outputDim), start * this.info.outputDim);
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }

  private async run(pixels: Uint8Array, n: number): Promise<Float32Array> {
    const S = this.info.inputSize;
    let input: ort.Tensor;
    if (this.info.layout === 'pixels')
      // onnxruntime-node refuses views of shared memory (the patch loader's batches): copy those
      input = new ort.Tensor('uint8', pixels.buffer instanceof ArrayBuffer ? pixels : pixels.slice(), [
        n,
        S,
        S,
        3,
      ]);
    else {
      const { mean, std } = this.info.normalisation!;
      const plane = S * S;
      const data = new Float32Array(n * 3 * plane);
      for (let i = 0; i < n; i++)
        for (let c = 0; c < 3; c++) {
          const m = mean[c]!;
          const s = std[c]!;
          const dst = data.subarray((i * 3 + c) * plane, (i * 3 + c + 1) * plane);
          const src = i * plane * 3 + c;
          for (let p = 0; p < plane; p++) dst[p] = (pixels[src + p * 3]! / 255 - m) / s;
        }
      input = new ort.Tensor('float32', data, [n, 3, S, S]);
    }
    const result = await this.session.run({ [this.info.inputName]: input }, [this.info.outputName]);
    return result[this.info.outputName]!.data as Float32Array;
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
}
