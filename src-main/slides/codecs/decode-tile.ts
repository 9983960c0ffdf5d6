/**
 * Turns the stored bytes of one tile into RGBA (tileWidth x tileHeight x 4, straight alpha).
 * Runs inside the decode workers; pure apart from the codec libraries.
 */
import zlib from 'node:zlib';
import { jpegCodec } from './jpeg-codec.js';
import { partialJpegDecoder, type JpegPart } from './native-pixels.js';
import { expandToRgba } from './rgba.js';
import { decodeLzw } from './lzw.js';
import { undoHorizontalPredictor8 } from './predictor.js';
import { completeJpeg, jpegSize } from './jpeg-stream.js';
import { decodeJ2k, ycbcrToRgbInPlace } from './jpeg2000.js';
import { hasRgbJpegComponents, type TileFormat } from './tile-format.js';

/**
 * Decodes one tile; with `into` (a tile-sized view), the pixels land there (JPEG tiles are decoded
 * straight into it) and `into` is returned.
 */
export async function decodeTile(
  format: TileFormat,
  stored: Uint8Array,
  into?: Uint8Array,
): Promise<Uint8Array> {
  if (format.codec === 'jpeg') return decodeJpegTile(format, stored, into);
  const rgba = await decodeOtherTile(format, stored);
  if (!into) return rgba;
  into.set(rgba);
  return into;
}

async function decodeOtherTile(format: TileFormat, stored: Uint8Array): Promise<Uint8Array> {
  const { tileWidth: w, tileHeight: h, samplesPerPixel: spp } = format;
  switch (format.codec) {
    case 'raw':
      return samplesToRgba(stored, w, h, spp, format.hasAlpha, w, Math.floor(stored.length / (w * spp)));
    case 'lzw':
    case 'deflate': {
      const expected = w * h * spp;
      const raw =
        format.codec === 'lzw'
          ? decodeLzw(stored, expected)
          : new Uint8Array(
              zlib.inflateSync(stored, {
                finishFlush: zlib.constants.Z_SYNC_FLUSH,
                maxOutputLength: expected,
              }),
            );
      const rows = Math.min(h, Math.floor(raw.length / (w * spp)));
      if (format.predictor === 2) undoHorizontalPredictor8(raw, w, rows, spp);
      else if (format.predictor !== 1) throw new Error(`unsupported TIFF predictor ${format.predictor}`);
      return samplesToRgba(raw, w, h, spp, format.hasAlpha, w, rows);
    }
    case 'jpeg2000': {
      const j2k = await decodeJ2k(stored, w + 16, h + 16);
      if (format.ycbcr && j2k.components >= 3)
        ycbcrToRgbInPlace(j2k.samples, j2k.width * j2k.height, j2k.components);
      return samplesToRgba(j2k.samples, w, h, j2k.components, j2k.components === 4, j2k.width, j2k.height);
    }
    default:
      throw new Error(`unsupported tile codec ${String(format.codec)}`);
  }
}

/** True where `decodeTilePart` can decode part of this format's tiles (JPEG, with the partial decoder). */
export function canDecodeTilePart(format: TileFormat): boolean {
  return format.codec === 'jpeg' && partialJpegDecoder() !== undefined;
}

/**
 * Decodes only `part` (tile pixels) of one JPEG tile, as RGBA, into out[outOffset + row * outStride ...].
 * Pixels of the part that the JPEG frame does not cover become transparent, as in a whole decode (the
 * region buffer may hold an earlier region's pixels).
 */
export function decodeTilePart(
  format: TileFormat,
  stored: Uint8Array,
  part: JpegPart,
  out: Uint8Array,
  outOffset: number,
  outStride: number,
): void {
  const decoder = partialJpegDecoder();
  if (!decoder || format.codec !== 'jpeg')
    throw new Error('partial decoding needs JPEG tiles and the tessera_pixels addon built with libjpeg');
  const { jpeg, size } = checkedJpeg(format, stored);
  const w = Math.max(0, Math.min(part.x + part.w, size.width) - part.x);
  const h = Math.max(0, Math.min(part.y + part.h, size.height) - part.y);
  for (let y = 0; y < part.h && (w < part.w || h < part.h); y++) {
    const row = outOffset + y * outStride;
    out.fill(0, row + (y < h ? w : 0) * 4, row + part.w * 4);
  }
  if (w === 0 || h === 0) return;
  decoder.decodePart(jpeg, { x: part.x, y: part.y, w, h }, out, outOffset, outStride);
}

/**
 * Where complete JPEG streams are built, reused tile after tile: the JPEG decoders here run synchronously
 * and keep nothing of their input (a fresh buffer per tile was four zero-filled allocations per request).
 */
let jpegScratch = new Uint8Array(1 << 16);

/** The complete JPEG stream of a tile (valid until the next call) and its frame size, refusing frames larger than the tile. */
function checkedJpeg(format: TileFormat, stored: Uint8Array) {
  const length = stored.length + (format.jpegTables?.length ?? 0) + 32;
  if (jpegScratch.length < length) jpegScratch = new Uint8Array(Math.max(length, 2 * jpegScratch.length));
  const jpeg = completeJpeg(stored, format.jpegTables, hasRgbJpegComponents(format), jpegScratch);
  const size = jpegSize(jpeg);
  if (size.width === 0 || size.height === 0) throw new Error('JPEG tile has no frame header');
  // Never let a corrupt header make the decoder allocate more than a tile's worth of pixels.
  if (size.width > format.tileWidth + 16 || size.height > format.tileHeight + 16) {
    throw new Error(
      `JPEG tile is ${size.width}x${size.height}, larger than the ${format.tileWidth}x${format.tileHeight} tile`,
    );
  }
  return { jpeg, size };
}

function decodeJpegTile(format: TileFormat, stored: Uint8Array, into?: Uint8Array): Uint8Array {
  const { jpeg, size } = checkedJpeg(format, stored);
  const exact = size.width === format.tileWidth && size.height === format.tileHeight;
  const decoded = jpegCodec().decode(jpeg, size.width, size.height, exact ? into : undefined);
  if (exact) return decoded.rgba;
  // Short strips and odd-sized frames: copy into a tile-sized buffer (the rest stays transparent).
  const tile = samplesToRgba(
    decoded.rgba,
    format.tileWidth,
    format.tileHeight,
    4,
    true,
    decoded.width,
    decoded.height,
  );
  if (!into) return tile;
  into.set(tile);
  return into;
}

/**
 * Expands interleaved 1/3/4-sample pixels (srcWidth x srcRows) into an RGBA tile; pixels the source
 * does not cover stay transparent.
 */
export function samplesToRgba(
  src: Uint8Array,
  w: number,
  h: number,
  spp: number,
  hasAlpha: boolean,
  srcWidth: number,
  srcRows: number,
): Uint8Array {
  if (srcWidth === w && srcRows >= h && spp === 4 && hasAlpha) return src.slice(0, w * h * 4);
  if (srcWidth === w && srcRows >= h && (spp === 3 || spp === 1)) return expandToRgba(src, w * h, spp);
  const out = new Uint8Array(w * h * 4);
  const rows = Math.min(h, srcRows);
  const cols = Math.min(w, srcWidth);
  for (let y = 0; y < rows; y++) {
    let s = y * srcWidth * spp;
    let d = y * w * 4;
    if (spp === 1) {
      for (let x = 0; x < cols; x++, s++, d += 4) {
        const v = src[s]!;
        out[d] = v;
        out[d + 1] = v;
        out[d + 2] = v;
        out[d + 3] = 255;
      }
    } else {
      for (let x = 0; x < cols; x++, s += spp, d += 4) {
        out[d] = src[s]!;
        out[d + 1] = src[s + 1]!;
        out[d + 2] = src[s + 2]!;
        out[d + 3] = hasAlpha && spp >= 4 ? src[s + 3]! : 255;
      }
    }
  }
  return out;
}
