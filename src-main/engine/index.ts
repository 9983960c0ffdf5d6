/** The native engine's TypeScript face: models, config reading, errors, .npy and patch preparation. */
export * from './types.js';
export { EngineError, toEngineError, type EngineErrorCode } from './errors.js';
export {
  EncoderModel,
  SlideModel,
  readEncoderConfig,
  parseEncoderConfig,
  setEngineThreads,
  engineThreads,
  measurePeakGflops,
  engineCpuInfo,
  setEngineCpuPath,
  engineCudaInfo,
  selectCudaDevice,
  type EmbedOptions,
  type WeightsScope,
} from './model.js';
export { addonPath, loadEngine } from './native.js';
export { encodeNpy, decodeNpy, npyHeader } from './npy.js';
export { loadPatch, type PatchGeometry } from './patches.js';
export {
  readSafetensors,
  writeSafetensors,
  type NamedTensor,
  type SafetensorsContents,
} from './safetensors.js';
