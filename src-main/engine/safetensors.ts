/**
 * safetensors files from TypeScript: list a file's tensors, read some as float32 (F32, F16 and BF16 are
 * converted), write F32. Synchronous, for headers and small tensors; models load through loadWeights().
 */
import { toEngineError } from './errors.js';
import { loadEngine, type NamedTensor, type SafetensorsContents } from './native.js';

export type { NamedTensor, SafetensorsContents };

/** Header and metadata; with `names` (or true for all) also the data of those tensors. */
export function readSafetensors(path: string, names: string[] | boolean = false): SafetensorsContents {
  try {
    return loadEngine().readSafetensors(path, names);
  } catch (err) {
    throw toEngineError(err);
  }
}

export function writeSafetensors(
  path: string,
  tensors: NamedTensor[],
  metadata: Record<string, string> = {},
): void {
  try {
    loadEngine().writeSafetensors(path, tensors, metadata);
  } catch (err) {
    throw toEngineError(err);
  }
}
