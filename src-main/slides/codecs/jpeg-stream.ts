/**
 * JPEG byte-stream surgery for TIFF tiles: merge the shared JPEGTables into an abbreviated tile
 * stream, and mark RGB-coded tiles with an Adobe APP14 segment so standard decoders (and browsers)
 * skip the YCbCr conversion.
 *
 * Why the Adobe marker: libtiff (and so OpenSlide) decodes a JPEG tile in a TIFF whose Photometric
 * is RGB with colour conversion switched off, i.e. the components are R, G, B as stored. Aperio
 * writes such tiles without any marker saying so, and a stand-alone decoder would assume YCbCr. An
 * Adobe segment with transform 0 makes every libjpeg-family decoder treat them as RGB. Tiles with
 * Photometric YCbCr need nothing: YCbCr is the default for 3-component JPEG.
 */

/** Adobe APP14, version 100, flags 0, 0, transform 0 (= no colour transform). */
const ADOBE_RGB = Uint8Array.from([
  0xff, 0xee, 0x00, 0x0e, 0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00,
]);

/**
 * Builds a complete JPEG from a TIFF tile: tables (SOI..EOI, may be absent) + tile (SOI..EOI).
 * `rgbComponents` inserts the Adobe transform-0 marker right after SOI. With `scratch` (large enough), the
 * stream is built there and a view of it returned: decoders that keep nothing of their input then cost no
 * allocation per tile.
 */
export function completeJpeg(
  tile: Uint8Array,
  tables: Uint8Array | undefined,
  rgbComponents: boolean,
  scratch?: Uint8Array,
): Uint8Array {
  if (tile.length < 4 || tile[0] !== 0xff || tile[1] !== 0xd8)
    throw new Error('JPEG tile does not start with SOI');
  const useTables = tables !== undefined && tables.length > 4 && tables[0] === 0xff && tables[1] === 0xd8;
  // tables without their EOI (last 2 bytes) and without SOI; tile without SOI.
  const tablesBody = useTables ? tables.subarray(2, endWithoutEoi(tables)) : new Uint8Array(0);
  const tileBody = tile.subarray(2);
  const extra = rgbComponents ? ADOBE_RGB.length : 0;
  const length = 2 + extra + tablesBody.length + tileBody.length;
  const out = scratch && scratch.length >= length ? scratch.subarray(0, length) : new Uint8Array(length);
  out[0] = 0xff;
  out[1] = 0xd8;
  let p = 2;
  if (rgbComponents) {
    out.set(ADOBE_RGB, p);
    p += ADOBE_RGB.length;
  }
  out.set(tablesBody, p);
  p += tablesBody.length;
  out.set(tileBody, p);
  return out;
}

function endWithoutEoi(tables: Uint8Array): number {
  const n = tables.length;
  return tables[n - 2] === 0xff && tables[n - 1] === 0xd9 ? n - 2 : n;
}

/** Reads width and height from the first SOFn segment (0 if none found). */
export function jpegSize(jpeg: Uint8Array): { width: number; height: number; components: number } {
  let p = 2;
  while (p + 4 <= jpeg.length) {
    if (jpeg[p] !== 0xff) {
      p++;
      continue;
    }
    const marker = jpeg[p + 1]!;
    if (marker === 0xff) {
      p++;
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      p += 2;
      continue;
    }
    const len = (jpeg[p + 2]! << 8) | jpeg[p + 3]!;
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof && p + 9 < jpeg.length) {
      return {
        height: (jpeg[p + 5]! << 8) | jpeg[p + 6]!,
        width: (jpeg[p + 7]! << 8) | jpeg[p + 8]!,
        components: jpeg[p + 9]!,
      };
    }
    if (marker === 0xda) break;
    p += 2 + len;
  }
  return { width: 0, height: 0, components: 0 };
}
