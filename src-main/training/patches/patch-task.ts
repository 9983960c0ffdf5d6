/**
 * What a patch worker does with a strip read from a slide (one or more grid patches side by side, each
 * readSize x readSize): cut each patch out, resample it to the patch size (Lanczos, as Pillow's
 * Image.resize(LANCZOS) on the patch alone), drop alpha (Pillow's convert('RGB')), augment, and write it
 * into its place in the batch. Shared by the workers and callable in-thread.
 */
import { FastResizeFilter, ResizeFit, Transformer } from '@napi-rs/image';
import { applyAugmentation, type PatchAugmentation } from '../augment.js';
import { alphaDropper, lanczosResampler } from '../pixel-helpers.js';

export interface StripPatch {
  /** Left edge of the patch in the strip (pixels). */
  column: number;
  /** Where the patch starts in the batch (bytes). */
  offset: number;
  augmentation: PatchAugmentation | null;
}

export interface StripTask {
  /** RGBA strip, stripWidth x readSize (shared memory). */
  strip: Uint8Array;
  stripWidth: number;
  readSize: number;
  /** The batch (shared memory): N x size x size x 3. */
  batch: Uint8Array;
  size: number;
  patches: StripPatch[];
}

/** Scratch buffers, one set per thread. */
let square = new Uint8Array(0);
let turned = new Uint8Array(0);

export function processStrip(task: StripTask): void {
  const { strip, stripWidth, readSize, batch, size } = task;
  if (strip.length < stripWidth * readSize * 4) throw new RangeError('the strip does not fit its buffer');
  const n = size * size;
  const dropAlpha = alphaDropper();
  for (const patch of task.patches) {
    const { column, offset } = patch;
    if (column < 0 || column + readSize > stripWidth) throw new RangeError('the patch is not in its strip');
    if (offset < 0 || offset + n * 3 > batch.length) throw new RangeError('the patch does not fit its batch');
    let rgba: Uint8Array;
    let stride: number;
    let start: number;
    if (readSize === size) {
      rgba = strip;
      stride = stripWidth * 4;
      start = column * 4;
    } else {
      // Resampled on its own, as Pillow resizes the patch image: the kernel never reaches a neighbour.
      if (square.length < readSize * readSize * 4) square = new Uint8Array(readSize * readSize * 4);
      for (let y = 0; y < readSize; y++) {
        const from = (y * stripWidth + column) * 4;
        square.set(strip.subarray(from, from + readSize * 4), y * readSize * 4);
      }
      rgba = resize(square, readSize, size);
      stride = size * 4;
      start = 0;
    }
    dropAlpha(rgba, start, stride, batch, offset, size, size);
    if (patch.augmentation) {
      if (turned.length < n * 3) turned = new Uint8Array(n * 3);
      applyAugmentation(batch.subarray(offset, offset + n * 3), size, patch.augmentation, turned);
    }
  }
}

function resize(square: Uint8Array, readSize: number, size: number): Uint8Array {
  const lanczos = lanczosResampler();
  if (lanczos) return lanczos(square, readSize, readSize, readSize, readSize, size, size);
  // Without the tessera_pixels addon: fast_image_resize's Lanczos-3 (within rounding of Pillow's).
  return Transformer.fromRgbaPixels(square.slice(0, readSize * readSize * 4), readSize, readSize)
    .fastResize({ width: size, height: size, filter: FastResizeFilter.Lanczos3, fit: ResizeFit.Fill })
    .rawPixelsSync();
}
