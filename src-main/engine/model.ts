/**
 * The typed face of the native engine: EncoderModel (a ViT patch encoder: embeddings) and SlideModel
 * (encoder + gated-attention MIL aggregator + one head per task: training and slide prediction).
 * Long calls run on the addon's threads and return promises; an AbortSignal cancels them; every failure
 * is an EngineError with a code. dispose() frees the parameters at once (or when a running call ends).
 */
import { EngineError, toEngineError } from './errors.js';
import { loadEngine, type NativeModel } from './native.js';
import type {
  AggregatorConfig,
  CallOptions,
  EncoderSpec,
  EngineCpuInfo,
  EngineCudaInfo,
  EngineDevice,
  EngineProgress,
  MatmulPrecision,
  ParameterInfo,
  PeakUnit,
  SlideEmbeddings,
  SlidePatches,
  SlidePrediction,
  StepResult,
  TaskSpec,
  TrainOptions,
} from './types.js';

/** Which tensors a weights file must provide: see loadWeights. */
export type WeightsScope = 'encoder' | 'all' | 'encoder+optional-aggregator';

export interface EmbedOptions extends CallOptions {
  /** As TrainOptions.chunkSize: default 32, 0 chosen from the device's free memory. */
  chunkSize?: number;
}

/** Reads a timm config.json (Hub form). Throws EngineError ERR_BAD_CONFIG naming the file and field. */
export function readEncoderConfig(configPath: string): EncoderSpec {
  try {
    return loadEngine().readEncoderConfig(configPath);
  } catch (err) {
    throw toEngineError(err);
  }
}

export function parseEncoderConfig(json: string, source = '<config>'): EncoderSpec {
  try {
    return loadEngine().parseEncoderConfig(json, source);
  } catch (err) {
    throw toEngineError(err);
  }
}

/** Threads the engine's CPU kernels use (default: all cores, or TESSERA_THREADS). */
export function setEngineThreads(n: number): void {
  try {
    loadEngine().setNumThreads(n);
  } catch (err) {
    throw toEngineError(err);
  }
}

export function engineThreads(): number {
  return loadEngine().numThreads();
}

/**
 * This machine's measured peak throughput in GFLOP/s on `threads` threads for one vector unit: by default the fp32
 * FMA unit of the CPU path in use (AVX-512 or AVX2; 0 on the portable path), or the unit named (0 where the CPU
 * lacks it).
 */
export function measurePeakGflops(threads: number, seconds = 0.5, unit?: PeakUnit): number {
  try {
    return loadEngine().measurePeakGflops(threads, seconds, unit);
  } catch (err) {
    throw toEngineError(err);
  }
}

/** Which CPU path and GEMM kernels the engine runs here (see EngineCpuInfo). */
export function engineCpuInfo(): EngineCpuInfo {
  return loadEngine().cpuInfo();
}

/**
 * Runs the engine's kernels on another CPU path from the next operation on (tests and benchmarks; the default is
 * the widest the CPU has, or TESSERA_CPU_PATH). A path wider than the CPU has falls back to the widest; returns
 * the path now in use.
 */
export function setEngineCpuPath(path: EngineCpuInfo['path']): EngineCpuInfo['path'] {
  try {
    return loadEngine().setCpuPath(path);
  } catch (err) {
    throw toEngineError(err);
  }
}

/** The CUDA backend's state: compiled in, a device usable, which one, driver, memory, cuBLASLt (EngineCudaInfo). */
export function engineCudaInfo(): EngineCudaInfo {
  return loadEngine().cudaInfo();
}

/** Chooses the GPU the CUDA backend uses (default: TESSERA_CUDA_DEVICE, else 0), before any model uses it. */
export function selectCudaDevice(index: number): void {
  try {
    loadEngine().selectCudaDevice(index);
  } catch (err) {
    throw toEngineError(err);
  }
}

abstract class EngineModel {
  protected constructor(protected readonly native: NativeModel) {}

  get spec(): EncoderSpec {
    return this.native.encoder;
  }
  /** Width of one embedding. */
  get outputDim(): number {
    const v = this.native.encoder.vit;
    return v.globalPool === 'token+avg' ? 2 * v.embedDim : v.embedDim;
  }
  get numParams(): number {
    return this.native.numParams;
  }
  get disposed(): boolean {
    return this.native.disposed;
  }

  /** Encoder output for n patches (RGB uint8, n x inputSize x inputSize x 3) → n x outputDim floats. */
  embed(pixels: Uint8Array, numPatches: number, options: EmbedOptions = {}): Promise<Float32Array> {
    return this.call(
      (onProgress) => this.native.embed(pixels, numPatches, { chunkSize: options.chunkSize }, onProgress),
      options,
    );
  }

  /**
   * Loads timm-named safetensors (F32/F16/BF16); a classifier head in the file is ignored. `scope`
   * "encoder" ignores any aggregator/heads in the file; the default for a SlideModel also loads them where
   * the file has them (a file saved by saveWeights).
   */
  loadWeights(path: string, options: CallOptions & { scope?: WeightsScope } = {}): Promise<void> {
    const scope = options.scope ?? this.weightsScope();
    return this.call(() => this.native.loadWeights(path, scope), options);
  }

  /** Writes every parameter as F32 safetensors with timm names. */
  saveWeights(path: string, options: CallOptions = {}): Promise<void> {
    return this.call(() => this.native.saveWeights(path), options);
  }

  /** Precision of the encoder's matrix products (see MatmulPrecision); 'fp32' until set. */
  get matmulPrecision(): MatmulPrecision {
    return this.sync(() => this.native.matmulPrecision);
  }
  /** Applies from the next call on; throws ERR_BUSY while a call runs. */
  setMatmulPrecision(precision: MatmulPrecision): void {
    this.sync(() => {
      this.native.matmulPrecision = precision;
    });
  }

  /** Where the model computes; 'cpu' until set. */
  get device(): EngineDevice {
    return this.sync(() => this.native.device);
  }
  /**
   * Moves the model's computation to the CPU or the GPU from the next call on (its parameters and optimizer state
   * follow, copied when first needed). 'cuda' without a usable device throws ERR_NO_DEVICE with the reason; throws
   * ERR_BUSY while a call runs.
   */
  setDevice(device: EngineDevice): void {
    this.sync(() => {
      this.native.device = device;
    });
  }

  parameterInfo(): ParameterInfo[] {
    return this.sync(() => this.native.parameterInfo());
  }
  getParameter(name: string): Float32Array {
    return this.sync(() => this.native.getParameter(name));
  }
  setParameter(name: string, values: Float32Array): void {
    this.sync(() => this.native.setParameter(name, values));
  }

  /** Frees the parameters now; a running call is cancelled and the memory freed when it ends. */
  dispose(): void {
    this.native.dispose();
  }

  protected abstract weightsScope(): WeightsScope;

  protected sync<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw toEngineError(err);
    }
  }

  /** Runs one native call: argument errors become rejections, the signal cancels, errors get codes. */
  protected async call<T>(
    start: (onProgress: ((p: EngineProgress) => void) | undefined) => Promise<T>,
    options: CallOptions,
  ): Promise<T> {
    const { signal, onProgress } = options;
    if (signal?.aborted) throw new EngineError('The operation was cancelled.', 'ERR_CANCELLED');
    const onAbort = (): void => this.native.cancel();
    let pending: Promise<T>;
    try {
      pending = start(onProgress);
    } catch (err) {
      throw toEngineError(err);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await pending;
    } catch (err) {
      throw toEngineError(err);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }
}

/** A ViT patch encoder alone: what timm's model with num_classes=0 computes. */
export class EncoderModel extends EngineModel {
  private constructor(native: NativeModel) {
    super(native);
  }

  /** An encoder with the given architecture; parameters random (seeded) until weights are loaded. */
  static create(spec: EncoderSpec, seed = 0): EncoderModel {
    const engine = loadEngine();
    try {
      const native = new engine.Model(spec, null);
      native.initRandom(seed);
      return new EncoderModel(native);
    } catch (err) {
      throw toEngineError(err);
    }
  }

  /** A Hub-style model: config.json plus safetensors weights. */
  static async open(
    configPath: string,
    weightsPath: string,
    options: CallOptions = {},
  ): Promise<EncoderModel> {
    const model = EncoderModel.create(readEncoderConfig(configPath));
    try {
      await model.loadWeights(weightsPath, options);
    } catch (err) {
      model.dispose();
      throw err;
    }
    return model;
  }

  protected weightsScope(): 'encoder' {
    return 'encoder';
  }
}

/** Encoder + gated-attention MIL aggregator + one head per task, trained end to end from slide labels. */
export class SlideModel extends EngineModel {
  private constructor(native: NativeModel) {
    super(native);
  }

  /** A model with random (seeded) parameters. */
  static create(spec: EncoderSpec, aggregator: AggregatorConfig, seed = 0): SlideModel {
    const engine = loadEngine();
    try {
      const native = new engine.Model(spec, aggregator);
      native.initRandom(seed);
      return new SlideModel(native);
    } catch (err) {
      throw toEngineError(err);
    }
  }

  /** A pretrained encoder (config.json + safetensors) with a new, seeded aggregator and heads. */
  static async fromPretrainedEncoder(
    configPath: string,
    weightsPath: string,
    aggregator: AggregatorConfig,
    seed = 0,
    options: CallOptions = {},
  ): Promise<SlideModel> {
    const model = SlideModel.create(readEncoderConfig(configPath), aggregator, seed);
    try {
      // A new aggregator: heads of another task set in the file are not this model's.
      await model.loadWeights(weightsPath, { ...options, scope: 'encoder' });
    } catch (err) {
      model.dispose();
      throw err;
    }
    return model;
  }

  /** Resumes a checkpoint folder written by saveCheckpoint (parameters, AdamW state, step). */
  static async loadCheckpoint(dir: string): Promise<SlideModel> {
    try {
      return new SlideModel(await loadEngine().Model.loadCheckpoint(dir));
    } catch (err) {
      throw toEngineError(err);
    }
  }

  get tasks(): TaskSpec[] {
    return this.native.aggregator?.tasks ?? [];
  }
  /** Optimizer steps taken. */
  get step(): number {
    return this.native.step;
  }

  /** One recompute-and-offload step over a batch of slides (docs/ARCHITECTURE.md, "Engine"). */
  trainStepEndToEnd(slides: SlidePatches[], options: TrainOptions & CallOptions = {}): Promise<StepResult> {
    const { signal, onProgress, ...train } = options;
    return this.call((p) => this.native.trainStepEndToEnd(slides, train, p), { signal, onProgress });
  }

  /** The two-stage baseline: only the aggregator and heads learn, on precomputed embeddings. */
  trainStepFrozen(slides: SlideEmbeddings[], options: TrainOptions & CallOptions = {}): Promise<StepResult> {
    const { signal, onProgress, ...train } = options;
    return this.call((p) => this.native.trainStepFrozen(slides, train, p), { signal, onProgress });
  }

  /** Per-task probabilities and per-patch attention for one slide's patches. */
  predictSlide(pixels: Uint8Array, numPatches: number, options: EmbedOptions = {}): Promise<SlidePrediction> {
    return this.call(
      (p) => this.native.predictSlide(pixels, numPatches, { chunkSize: options.chunkSize }, p),
      options,
    );
  }

  predictFromEmbeddings(
    embeddings: Float32Array,
    numPatches: number,
    options: CallOptions = {},
  ): Promise<SlidePrediction> {
    return this.call(() => this.native.predictFromEmbeddings(embeddings, numPatches), options);
  }

  /** Writes config.json, model.safetensors and optimizer.safetensors into `dir`. */
  saveCheckpoint(dir: string, options: CallOptions = {}): Promise<void> {
    return this.call(() => this.native.saveCheckpoint(dir), options);
  }

  protected weightsScope(): 'encoder+optional-aggregator' {
    return 'encoder+optional-aggregator';
  }
}
