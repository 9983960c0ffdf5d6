/**
 * What a patch worker does to one region read from a slide: resample it to the patch size (Lanczos, as
 * Pillow's Image.resize(LANCZOS)), drop alpha (Pillow's convert('RGB')), augment, and write it into its
 * place in the batch. Shared by the workers and, for tests, callable in-thread.
 */
import { FastResizeFilter, ResizeFit, Transformer } from '@napi-rs/image';
import { applyAugmentation, type PatchAugmentation } from '../augment.js';
import { lanczosResampler } from '../pixel-helpers.js';

export interface PatchTask {
  /** RGBA region, readSize x readSize (shared memory). */
  region: Uint8Array;
  readSize: number;
  /** The batch (shared memory): N x size x size x 3; this patch starts at `offset`. */
  batch: Uint8Array;
  offset: number;
  size: number;
  augmentation: PatchAugmentation | null;
}

/** Scratch for the geometric transforms, one per thread. */
let scratch = new Uint8Array(0);

export function processPatch(task: PatchTask): void {
  const { region, readSize, batch, offset, size } = task;
  let rgba: Uint8Array = region;
  if (readSize !== size) {
    const lanczos = lanczosResampler();
    rgba = lanczos
      ? lanczos(region, readSize, readSize, readSize, readSize, size, size)
      : fallbackResize(region, readSize, size);
  }
  const n = size * size;
  if (offset < 0 || offset + n * 3 > batch.length) throw new RangeError('the patch does not fit its batch');
  for (let p = 0, q = offset; p < n; p++, q += 3) {
    batch[q] = rgba[p * 4]!;
    batch[q + 1] = rgba[p * 4 + 1]!;
    batch[q + 2] = rgba[p * 4 + 2]!;
  }
  if (task.augmentation) {
    if (scratch.length < n * 3) scratch = new Uint8Array(n * 3);
    applyAugmentation(batch.subarray(offset, offset + n * 3), size, task.augmentation, scratch);
  }
}

/** Without the tessera_pixels addon: fast_image_resize's Lanczos-3 (within rounding of Pillow's, not bit-exact). */
function fallbackResize(region: Uint8Array, readSize: number, size: number): Uint8Array {
  return Transformer.fromRgbaPixels(region.slice(), readSize, readSize)
    .fastResize({ width: size, height: size, filter: FastResizeFilter.Lanczos3, fit: ResizeFit.Fill })
    .rawPixelsSync();
}
