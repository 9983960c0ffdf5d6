/**
 * Loads the native addon (native/build/Release/tessera_engine.node, built by node-gyp) and describes its
 * raw interface. Everything else goes through the typed classes in model.ts; only this file knows where
 * the binary lives. TESSERA_ENGINE_ADDON overrides the path (packaged apps, tests of other builds).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { buildHint } from '../build-hint.js';
import { packageRoot } from '../package-root.js';
import { EngineError } from './errors.js';
import type {
  AggregatorConfig,
  EncoderSpec,
  ParameterInfo,
  SlideEmbeddings,
  SlidePatches,
  StepResult,
  TrainOptions,
  EngineProgress,
  EngineCpuInfo,
  EngineCudaInfo,
  EngineDevice,
  MatmulPrecision,
  PeakUnit,
} from './types.js';

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsContents {
  metadata: Record<string, string>;
  /** In file order; `data` (converted to float32) only for the tensors asked for. */
  tensors: { name: string; dtype: string; shape: number[]; data?: Float32Array }[];
}

type ProgressCallback = ((p: EngineProgress) => void) | undefined;

export interface NativeModel {
  readonly encoder: EncoderSpec;
  readonly aggregator: (Required<AggregatorConfig> & { inputDim: number }) | null;
  readonly step: number;
  readonly numParams: number;
  readonly disposed: boolean;
  readonly busy: boolean;
  matmulPrecision: MatmulPrecision;
  device: EngineDevice;
  loadWeights(path: string, scope?: 'encoder' | 'all' | 'encoder+optional-aggregator'): Promise<void>;
  saveWeights(path: string): Promise<void>;
  saveCheckpoint(dir: string): Promise<void>;
  initRandom(seed: number): void;
  embed(
    pixels: Uint8Array,
    n: number,
    options?: { chunkSize?: number },
    onProgress?: ProgressCallback,
  ): Promise<Float32Array>;
  predictSlide(
    pixels: Uint8Array,
    n: number,
    options?: { chunkSize?: number },
    onProgress?: ProgressCallback,
  ): Promise<{ probabilities: Record<string, Float32Array>; attention: Float32Array }>;
  predictFromEmbeddings(
    embeddings: Float32Array,
    n: number,
  ): Promise<{ probabilities: Record<string, Float32Array>; attention: Float32Array }>;
  trainStepEndToEnd(
    slides: SlidePatches[],
    options?: TrainOptions,
    onProgress?: ProgressCallback,
  ): Promise<StepResult>;
  trainStepFrozen(
    slides: SlideEmbeddings[],
    options?: TrainOptions,
    onProgress?: ProgressCallback,
  ): Promise<StepResult>;
  cancel(): void;
  dispose(): void;
  parameterInfo(): ParameterInfo[];
  getParameter(name: string): Float32Array;
  setParameter(name: string, values: Float32Array): void;
}

export interface NativeEngine {
  Model: {
    new (encoder: EncoderSpec, aggregator?: (AggregatorConfig & { inputDim?: number }) | null): NativeModel;
    loadCheckpoint(dir: string): Promise<NativeModel>;
  };
  readEncoderConfig(path: string): EncoderSpec;
  parseEncoderConfig(text: string, source?: string): EncoderSpec;
  setNumThreads(n: number): void;
  numThreads(): number;
  measurePeakGflops(threads: number, seconds: number, unit?: PeakUnit): number;
  cpuInfo(): EngineCpuInfo;
  setCpuPath(path: EngineCpuInfo['path']): EngineCpuInfo['path'];
  cudaInfo(): EngineCudaInfo;
  selectCudaDevice(index: number): void;
  readSafetensors(path: string, names?: string[] | boolean): SafetensorsContents;
  writeSafetensors(path: string, tensors: NamedTensor[], metadata?: Record<string, string>): void;
  abiVersion: number;
}

export function addonPath(): string {
  return (
    process.env.TESSERA_ENGINE_ADDON ??
    path.join(packageRoot(), 'native', 'build', 'Release', 'tessera_engine.node')
  );
}

let loaded: NativeEngine | null = null;

/** The addon, loaded once. Throws EngineError ERR_NOT_BUILT with the fix when it is missing or broken. */
export function loadEngine(): NativeEngine {
  if (loaded) return loaded;
  const file = addonPath();
  if (!fs.existsSync(file)) {
    throw new EngineError(
      `The native engine ${file} is missing${buildHint('npm run build:native', packageRoot())}.`,
      'ERR_NOT_BUILT',
    );
  }
  const require = createRequire(import.meta.url);
  try {
    loaded = require(file) as NativeEngine;
  } catch (err) {
    throw new EngineError(
      `The native engine ${file} could not be loaded (${(err as Error).message})${buildHint('npm run build:native', packageRoot())}.`,
      'ERR_NOT_BUILT',
    );
  }
  return loaded;
}
