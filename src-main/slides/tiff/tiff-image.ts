/**
 * One TIFF image (an IFD) seen as a grid of stored tiles. Strips are treated as tiles as wide as the
 * image and RowsPerStrip tall, so the reader has one code path for both layouts.
 */
import { Compression, Photometric, Tag } from './tiff-tags.js';
import { type Ifd, tagBytes, tagNumber, tagNumbers, tagString } from './tiff-file.js';
import type { TileCodec, TileFormat } from '../codecs/tile-format.js';

export interface TiffImage {
  ifd: Ifd;
  width: number;
  height: number;
  tiled: boolean;
  tilesAcross: number;
  tilesDown: number;
  offsets: number[];
  byteCounts: number[];
  format: TileFormat;
  description: string;
  /** NewSubfileType bit 0: a reduced-resolution version of another image. */
  reduced: boolean;
}

/** The codec of each TIFF compression the built-in reader decodes. */
const CODEC_OF_COMPRESSION = new Map<number, TileCodec>([
  [Compression.None, 'raw'],
  [Compression.LZW, 'lzw'],
  [Compression.JPEG, 'jpeg'],
  [Compression.AdobeDeflate, 'deflate'],
  [Compression.Deflate, 'deflate'],
  [Compression.AperioJP2kYCbCr, 'jpeg2000'],
  [Compression.AperioJP2kRGB, 'jpeg2000'],
  [Compression.VipsJP2k, 'jpeg2000'],
  [Compression.JP2k, 'jpeg2000'],
]);

/**
 * Whether the stored components are YCbCr. JPEG: unless Photometric says RGB (Aperio writes RGB-coded
 * tiles without a marker; libtiff decodes them without colour conversion). JPEG 2000: Aperio 33003 and
 * libvips 33004 hold YCbCr whatever Photometric says; 34712 follows Photometric.
 */
function storedAsYcbcr(compression: number, photometric: number, spp: number): boolean {
  if (compression === Compression.JPEG) return !(photometric === Photometric.RGB && spp >= 3);
  if (compression === Compression.AperioJP2kYCbCr || compression === Compression.VipsJP2k) return true;
  return compression === Compression.JP2k && photometric === Photometric.YCbCr;
}

/** Builds the tile view of an IFD, or returns a reason why it cannot be read. */
export function describeImage(ifd: Ifd, fileSize: number): TiffImage | string {
  const width = tagNumber(ifd, Tag.ImageWidth) ?? 0;
  const height = tagNumber(ifd, Tag.ImageLength) ?? 0;
  if (width <= 0 || height <= 0 || width > 1 << 24 || height > 1 << 24)
    return `invalid image size ${width}x${height}`;
  const compression = tagNumber(ifd, Tag.Compression) ?? 1;
  const codec = CODEC_OF_COMPRESSION.get(compression);
  if (!codec) return `unsupported TIFF compression ${compression}`;
  const spp = tagNumber(ifd, Tag.SamplesPerPixel) ?? 1;
  const bps = tagNumber(ifd, Tag.BitsPerSample) ?? 1;
  const photometric =
    tagNumber(ifd, Tag.Photometric) ?? (spp >= 3 ? Photometric.RGB : Photometric.MinIsBlack);
  const planar = tagNumber(ifd, Tag.PlanarConfiguration) ?? 1;
  if (bps !== 8) return `unsupported bit depth ${bps}`;
  if (planar !== 1 && spp > 1) return 'separate colour planes are not supported';
  if (![1, 3, 4].includes(spp)) return `unsupported samples per pixel ${spp}`;
  if (![Photometric.MinIsBlack, Photometric.RGB, Photometric.YCbCr].includes(photometric as 1 | 2 | 6)) {
    return `unsupported photometric interpretation ${photometric}`;
  }
  if (photometric === Photometric.YCbCr && compression !== Compression.JPEG && compression < 33000) {
    return 'YCbCr pixels are only supported inside JPEG or JPEG 2000 tiles';
  }
  const grid = tileGrid(ifd, width, height, fileSize);
  if (typeof grid === 'string') return grid;
  const { tiled, tileWidth, tileHeight, tilesAcross, tilesDown, offsets, byteCounts } = grid;
  const extra = tagNumbers(ifd, Tag.ExtraSamples) ?? [];
  return {
    ifd,
    width,
    height,
    tiled,
    tilesAcross,
    tilesDown,
    offsets,
    byteCounts,
    description: tagString(ifd, Tag.ImageDescription) ?? '',
    reduced: ((tagNumber(ifd, Tag.NewSubfileType) ?? 0) & 1) === 1,
    format: {
      codec,
      ycbcr: storedAsYcbcr(compression, photometric, spp),
      samplesPerPixel: spp,
      bitsPerSample: bps,
      predictor: tagNumber(ifd, Tag.Predictor) ?? 1,
      tileWidth,
      tileHeight,
      jpegTables: tagBytes(ifd, Tag.JPEGTables),
      hasAlpha: spp === 4 && (extra[0] === 1 || extra[0] === 2),
    },
  };
}

interface TileGrid {
  tiled: boolean;
  tileWidth: number;
  tileHeight: number;
  tilesAcross: number;
  tilesDown: number;
  offsets: number[];
  byteCounts: number[];
}

/**
 * The tile (or strip) table of an image of width x height, checked against the file: a plausible tile
 * size, an offset and a byte count for every tile, each inside the file. Otherwise the reason, so that no
 * reader allocates or reads for a size the file cannot hold (a corrupt 65535 x 65535 in a 12 KB file).
 */
function tileGrid(ifd: Ifd, width: number, height: number, fileSize: number): TileGrid | string {
  const tileW = tagNumber(ifd, Tag.TileWidth);
  const tileH = tagNumber(ifd, Tag.TileLength);
  const tiled = tileW !== undefined && tileH !== undefined;
  const tileWidth = tiled ? tileW : width;
  const tileHeight = tiled ? tileH : Math.min(tagNumber(ifd, Tag.RowsPerStrip) ?? height, height);
  const offsets = tagNumbers(ifd, tiled ? Tag.TileOffsets : Tag.StripOffsets);
  const byteCounts = tagNumbers(ifd, tiled ? Tag.TileByteCounts : Tag.StripByteCounts);
  if (tileWidth <= 0 || tileHeight <= 0 || tileWidth > 1 << 16 || (tiled && tileHeight > 1 << 16)) {
    return `invalid tile size ${tileWidth}x${tileHeight}`;
  }
  if (tileWidth * tileHeight > 1 << 25) return `tiles of ${tileWidth}x${tileHeight} are too large`;
  const tilesAcross = Math.ceil(width / tileWidth);
  const tilesDown = Math.ceil(height / tileHeight);
  if (!offsets || !byteCounts) return 'the image has no tile or strip offsets';
  if (offsets.length < tilesAcross * tilesDown || byteCounts.length < tilesAcross * tilesDown) {
    return `the image has fewer tile offsets than tiles (${offsets.length} for ${tilesAcross * tilesDown})`;
  }
  for (let i = 0; i < tilesAcross * tilesDown; i++) {
    if (offsets[i]! + byteCounts[i]! > fileSize)
      return 'a tile lies beyond the end of the file (truncated file?)';
  }
  return { tiled, tileWidth, tileHeight, tilesAcross, tilesDown, offsets, byteCounts };
}

/**
 * Why a width x height image of this directory cannot be what the file holds (see tileGrid), or
 * undefined: for sizes another library (OpenSlide) reports from the same directory.
 */
export function imageSizeProblem(ifd: Ifd, fileSize: number): string | undefined {
  const width = tagNumber(ifd, Tag.ImageWidth) ?? 0;
  const height = tagNumber(ifd, Tag.ImageLength) ?? 0;
  if (width <= 0 || height <= 0 || width > 1 << 24 || height > 1 << 24)
    return `invalid image size ${width}x${height}`;
  const grid = tileGrid(ifd, width, height, fileSize);
  return typeof grid === 'string' ? grid : undefined;
}
