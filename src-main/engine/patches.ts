/**
 * Image files → the uint8 RGB patches the encoder takes (n x size x size x 3), the way timm's evaluation
 * transform prepares them with crop_pct = 1: resize so the shorter side is `size` (the longer side becomes
 * floor(size * long / short), as torchvision's Resize(int) does), then centre-crop size x size (offsets
 * rounded half-to-even, as Python's round). An image already size x size is used as it is.
 *
 * Decoding and resizing use @napi-rs/image. Its resize is fast_image_resize's separable convolution:
 * "bicubic" is the Catmull-Rom cubic (a = -0.5, support widened when downscaling: the same kernel as PIL's
 * BICUBIC), "bilinear" the triangle filter; results agree with PIL to within rounding of the 8-bit
 * intermediate, not bit for bit. Alpha is dropped (PIL's convert('RGB')); 16-bit images keep their high byte.
 */
import { FastResizeFilter, ResizeFit, Transformer } from '@napi-rs/image';
import { imageSize } from 'image-size';
import fs from 'node:fs/promises';

export interface PatchGeometry {
  size: number;
  /** pretrained_cfg.interpolation */
  interpolation: string;
}

function resizeFilter(interpolation: string): FastResizeFilter {
  switch (interpolation) {
    case 'bilinear':
      return FastResizeFilter.Bilinear;
    case 'lanczos':
      return FastResizeFilter.Lanczos3;
    case 'nearest':
    case 'box':
      return FastResizeFilter.Box;
    default:
      return FastResizeFilter.CatmullRom;
  }
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Channels and bytes per sample of each @napi-rs/image colour type we accept (JsColorType order). */
const LAYOUTS: Record<number, { channels: number; bytes: number }> = {
  0: { channels: 1, bytes: 1 },
  1: { channels: 2, bytes: 1 },
  2: { channels: 3, bytes: 1 },
  3: { channels: 4, bytes: 1 },
  4: { channels: 1, bytes: 2 },
  5: { channels: 2, bytes: 2 },
  6: { channels: 3, bytes: 2 },
  7: { channels: 4, bytes: 2 },
};

/** A decoded grey/grey-alpha/RGB/RGBA buffer (8 or 16 bit) → RGBA8. */
function toRgba(raw: Uint8Array, width: number, height: number, colorType: number, file: string): Uint8Array {
  const layout = LAYOUTS[colorType];
  const pixels = width * height;
  if (!layout || raw.length !== pixels * layout.channels * layout.bytes) {
    throw new Error(`Cannot use image ${file}: unsupported pixel format (colour type ${colorType}).`);
  }
  const { channels, bytes } = layout;
  const out = new Uint8Array(pixels * 4);
  // The high byte of a little-endian 16-bit sample is at offset 1.
  const at = (i: number, c: number): number => raw[(i * channels + c) * bytes + (bytes - 1)] ?? 0;
  for (let i = 0; i < pixels; i++) {
    const grey = channels <= 2;
    out[i * 4] = at(i, 0);
    out[i * 4 + 1] = grey ? at(i, 0) : at(i, 1);
    out[i * 4 + 2] = grey ? at(i, 0) : at(i, 2);
    out[i * 4 + 3] = 255;
  }
  return out;
}

/**
 * The largest image taken as a patch. Patches are hundreds of pixels; anything far larger is a slide or a
 * whole level, which decoding to squeeze into one embedding would take gigabytes for a meaningless row.
 */
export const MAX_PATCH_SIDE = 4096;
const MAX_PATCH_FILE_BYTES = 256 << 20;

/** Refuses an image too large to be a patch from its header, before anything decodes it (even metadata() does). */
function checkPatchSize(encoded: Buffer, file: string): void {
  let width: number | undefined;
  let height: number | undefined;
  try {
    ({ width, height } = imageSize(encoded));
  } catch {
    return; // not a format image-size knows: the decoder below says what is wrong with it
  }
  if ((width ?? 0) > MAX_PATCH_SIDE || (height ?? 0) > MAX_PATCH_SIDE) {
    throw new Error(
      `Cannot use image ${file}: it is ${width} x ${height} pixels, larger than an image patch may be (${MAX_PATCH_SIDE} x ${MAX_PATCH_SIDE}); cut patches from it first.`,
    );
  }
}

/** Decodes one image file and returns size x size x 3 RGB bytes. Errors name the file. */
export async function loadPatch(file: string, geometry: PatchGeometry): Promise<Uint8Array> {
  const { size } = geometry;
  let encoded: Buffer;
  try {
    const { size: bytes } = await fs.stat(file);
    if (bytes > MAX_PATCH_FILE_BYTES) {
      throw new Error(
        `Cannot use image ${file}: the file is ${Math.round(bytes / (1 << 20))} MiB, far larger than an image patch; cut patches from it first.`,
      );
    }
    encoded = await fs.readFile(file);
  } catch (err) {
    if ((err as Error).message.startsWith('Cannot use image')) throw err;
    throw new Error(
      `Cannot read image ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`,
    );
  }
  let rgba: Uint8Array;
  let width: number;
  let height: number;
  checkPatchSize(encoded, file);
  try {
    const meta = await new Transformer(encoded).metadata();
    width = meta.width;
    height = meta.height;
    rgba = toRgba(await new Transformer(encoded).rawPixels(), width, height, meta.colorType, file);
  } catch (err) {
    const reason = (err as Error).message.startsWith('Cannot use image') ? '' : `: ${(err as Error).message}`;
    if (reason === '') throw err;
    throw new Error(`Cannot decode image ${file}${reason}.`);
  }
  if (width !== size || height !== size) {
    const short = Math.min(width, height);
    const long = Math.max(width, height);
    const longSide = Math.floor((size * long) / short);
    const [rw, rh] = width <= height ? [size, longSide] : [longSide, size];
    const left = roundHalfEven((rw - size) / 2);
    const top = roundHalfEven((rh - size) / 2);
    const resized = await Transformer.fromRgbaPixels(rgba, width, height)
      .fastResize({
        width: rw,
        height: rh,
        filter: resizeFilter(geometry.interpolation),
        fit: ResizeFit.Fill,
      })
      .crop(left, top, size, size)
      .rawPixels();
    if (resized.length !== size * size * 4) {
      throw new Error(`Cannot use image ${file}: resizing produced an unexpected buffer.`);
    }
    rgba = resized;
  }
  const rgb = new Uint8Array(size * size * 3);
  for (let i = 0, n = size * size; i < n; i++) {
    rgb[i * 3] = rgba[i * 4] ?? 0;
    rgb[i * 3 + 1] = rgba[i * 4 + 1] ?? 0;
    rgb[i * 3 + 2] = rgba[i * 4 + 2] ?? 0;
  }
  return rgb;
}
