/**
 * Everything a decoder needs to turn one stored tile (or strip) into RGBA, in the codecs' own terms:
 * the container (TIFF today) maps its tags onto this. Plain data, so it crosses to the decode workers
 * by structured clone.
 */
export interface TileFormat {
  /** How the stored bytes are coded ('raw': uncompressed samples). */
  codec: TileCodec;
  /**
   * The stored colour components are YCbCr: JPEG's default (false marks RGB-coded JPEG tiles, decoded
   * without colour conversion as libtiff does); JPEG 2000 components are converted after decoding.
   */
  ycbcr: boolean;
  samplesPerPixel: number;
  bitsPerSample: number;
  /** Horizontal differencing (TIFF predictor 2) before LZW or deflate; 1 = none. */
  predictor: number;
  /** Stored tile size; strips are tiles as wide as the image. */
  tileWidth: number;
  tileHeight: number;
  /** Shared JPEG tables (TIFF tag 347), merged into each JPEG tile. */
  jpegTables?: Uint8Array;
  /** True if sample 4 is alpha (ExtraSamples 1 or 2). */
  hasAlpha: boolean;
}

export type TileCodec = 'raw' | 'lzw' | 'deflate' | 'jpeg' | 'jpeg2000';

/**
 * True for JPEG tiles whose components are R, G, B as stored (not YCbCr): decoded without colour conversion,
 * as libtiff does, by marking the stream with an Adobe segment (jpeg-stream.ts).
 */
export function hasRgbJpegComponents(format: TileFormat): boolean {
  return !format.ycbcr && format.samplesPerPixel >= 3;
}
