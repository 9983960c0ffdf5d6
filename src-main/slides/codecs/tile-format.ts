/**
 * Everything a decoder needs to turn one stored TIFF tile (or strip) into RGBA. Plain data, so it
 * crosses to the decode workers by structured clone.
 */
export interface TileFormat {
  compression: number;
  photometric: number;
  samplesPerPixel: number;
  bitsPerSample: number;
  predictor: number;
  /** Stored tile size; strips are tiles as wide as the image. */
  tileWidth: number;
  tileHeight: number;
  /** Shared JPEG tables (TIFF tag 347), merged into each JPEG tile. */
  jpegTables?: Uint8Array;
  /** True if sample 4 is alpha (ExtraSamples 1 or 2). */
  hasAlpha: boolean;
}

export const RGBA = 4;
