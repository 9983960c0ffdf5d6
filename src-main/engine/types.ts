/**
 * Types shared by everything that trains or runs models: the encoder (ViT) config in timm's terms, the
 * slide aggregator and its tasks, training options, step results and predictions. Field names are the
 * camelCase forms of timm's constructor arguments.
 */

/** timm's Mlp (exact GELU), SwiGLUPacked (GluMlp with SiLU: fc1 → [gate | value]) or SwiGLU (fc1_g / fc1_x). */
export type MlpKind = 'gelu' | 'swiglu_packed' | 'swiglu';

/** Class token, mean of patch tokens, or both concatenated (2 x embedDim). */
export type GlobalPool = 'token' | 'avg' | 'token+avg';

export interface ViTConfig {
  imgSize: number;
  patchSize: number;
  embedDim: number;
  depth: number;
  numHeads: number;
  mlpRatio: number;
  qkvBias: boolean;
  /** LayerScale init; 0 = no LayerScale. */
  initValues: number;
  regTokens: number;
  /** pos_embed covers patch tokens only. */
  noEmbedClass: boolean;
  classToken: boolean;
  globalPool: GlobalPool;
  /** Final LayerNorm on the pooled vector ("fc_norm.*") instead of on every token ("norm.*"). */
  fcNorm: boolean;
  normEps: number;
  mlp: MlpKind;
  mean: [number, number, number];
  std: [number, number, number];
  /** Width of one embedding (read-only; derived). */
  readonly outputDim?: number;
}

/** What a timm config.json says: the network plus how images are prepared for it. */
export interface EncoderSpec {
  /** timm architecture name, e.g. "vit_small_patch16_224". */
  architecture: string;
  vit: ViTConfig;
  dynamicImgSize: boolean;
  /** Side of the square RGB input the encoder takes (= vit.imgSize). */
  inputSize: number;
  cropPct: number;
  /** pretrained_cfg.interpolation: "bicubic", "bilinear", ... */
  interpolation: string;
}

export type TaskKind = 'binary' | 'categorical';

export interface TaskSpec {
  /** Used in parameter names (heads.<name>.weight): no '.'. */
  name: string;
  kind: TaskKind;
  /** Categorical: number of classes (>= 2). Binary tasks have one logit. */
  numClasses?: number;
  /** Weight of this task's loss in the sum (default 1). */
  lossWeight?: number;
}

export interface AggregatorConfig {
  /** Width of the tanh / sigmoid attention branches (default 128). */
  hiddenDim?: number;
  /** Dropout on the pooled slide vector during training (default 0). */
  dropout?: number;
  tasks: TaskSpec[];
}

export interface TrainOptions {
  /**
   * Patches per encoder chunk: the memory knob (results do not depend on it). Default 32. 0: the largest that fits
   * the device's free memory (on the GPU; 32 on the CPU). Out of GPU memory rejects with ERR_OUT_OF_MEMORY naming
   * the chunk size that fits.
   */
  chunkSize?: number;
  lrEncoder?: number;
  lrAggregator?: number;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  warmupSteps?: number;
  /** Cosine decay to minLrRatio * lr at totalSteps; 0 = constant after warm-up. */
  totalSteps?: number;
  minLrRatio?: number;
  /** Global gradient-norm clip; 0 = off. */
  clipNorm?: number;
  /** Optimizer step every this many train-step calls. */
  accumulationSteps?: number;
  seed?: number;
}

/** One slide's patches: numPatches RGB images of inputSize² pixels, uint8, row-major (N, H, W, 3). */
export interface SlidePatches {
  pixels: Uint8Array;
  numPatches: number;
  /** One per task, in task order: binary 0/1, categorical 0..C-1, -1 = missing (masked out of the loss). */
  labels: number[];
}

/** One slide's cached embeddings (frozen-encoder training): numPatches x outputDim floats. */
export interface SlideEmbeddings {
  embeddings: Float32Array;
  numPatches: number;
  labels: number[];
}

export interface TaskLoss {
  loss: number;
  labelled: number;
}

export interface StepResult {
  /** Sum over tasks of lossWeight * task loss. */
  loss: number;
  tasks: TaskLoss[];
  optimizerStepped: boolean;
  gradNorm: number;
  lrEncoder: number;
  lrAggregator: number;
  /** Optimizer steps taken so far. */
  step: number;
}

export interface SlidePrediction {
  /** Per task name: binary [p(1)], categorical softmax over classes. */
  probabilities: Record<string, Float32Array>;
  /** Per patch, softmax over the slide's patches (sums to 1): the heatmap. */
  attention: Float32Array;
}

export type EnginePhase = 'embed' | 'aggregate' | 'backward' | 'optimizer' | 'predict';

export interface EngineProgress {
  phase: EnginePhase;
  done: number;
  total: number;
}

/** Options every long call takes. */
export interface CallOptions {
  /** Aborting cancels the call; its promise rejects with an EngineError of code ERR_CANCELLED. */
  signal?: AbortSignal;
  onProgress?: (p: EngineProgress) => void;
}

export interface ParameterInfo {
  name: string;
  shape: number[];
  decay: boolean;
  group: 'encoder' | 'aggregator';
}

/**
 * Precision of the encoder's matrix products (linear layers, patch embedding and attention's products, forward and
 * backward): 'fp32', or 'bf16' operands with fp32 accumulation (parameters, gradients, optimizer state, softmax,
 * norms and the aggregator stay fp32). bf16 runs on vdpbf16ps where the CPU has AVX512-BF16 and is emulated (same
 * rounding, no speed-up) elsewhere. Off by default: its AUROC on the demo cohort stays within fp32's bootstrap
 * interval (test/bench/RESULTS.md), but its numbers differ from CPU to CPU, and on some CPUs it is slower.
 */
export type MatmulPrecision = 'fp32' | 'bf16';

/** The CPU kernels the engine runs on this machine (engineCpuInfo()). */
export interface EngineCpuInfo {
  /** The path in use: the widest this CPU has unless TESSERA_CPU_PATH (portable | avx2 | avx512) picks another. */
  path: 'portable' | 'avx2' | 'avx512';
  widestPath: 'portable' | 'avx2' | 'avx512';
  avx2Fma: boolean;
  /** AVX-512 F, BW, DQ and VL. */
  avx512: boolean;
  avx512Bf16: boolean;
  /** GEMM micro-kernel for fp32 products, e.g. "avx512-12x32", "avx2-fma", "portable". */
  gemmKernel: string;
  /** For bf16 products: "avx512-bf16-12x32", or the fp32 kernel + "+bf16-rounding" where bf16 is emulated. */
  gemmKernelBf16: string;
}

/** Where a model computes: the CPU engine, or the CUDA backend on the GPU chosen at run time (engineCudaInfo()). */
export type EngineDevice = 'cpu' | 'cuda';

/** The CUDA backend's state on this machine (engineCudaInfo()). */
export interface EngineCudaInfo {
  /** The addon was built with the CUDA backend (nvcc was found at install). */
  compiled: boolean;
  /** A device is usable: models can be moved to 'cuda'. */
  available: boolean;
  /** One line: the device in use, or why there is none (no driver, no device, a driver too old, not compiled). */
  message: string;
  /** GPU architectures compiled in, e.g. "sm_80 sm_86 sm_89 sm_90". */
  archs: string;
  deviceCount: number;
  device: {
    index: number;
    name: string;
    computeCapability: string;
    multiprocessors: number;
    totalBytes: number;
    freeBytes: number;
  } | null;
  /** CUDA versions as integers (13000 = 13.0); driverVersion 0: no driver was found. */
  driverVersion: number;
  runtimeVersion: number;
  /** cuBLASLt was loaded (matrix products go through it); cublasLtInfo says which file, or why not. */
  cublasLt: boolean;
  cublasLtInfo: string;
}

/** A vector unit whose peak measurePeakGflops measures. */
export type PeakUnit = 'avx2-fma' | 'avx512-fma' | 'avx512-bf16';
