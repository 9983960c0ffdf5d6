/**
 * Deep Zoom arithmetic shared by the viewer and its tests. Levels follow the DZI convention: level 0 is
 * 1 x 1 pixel, each level doubles, and the top level (full resolution) is ceil(log2(max(w, h))).
 */

/** Index of the full-resolution Deep Zoom level for an image of this size. */
export function deepZoomTopLevel(width: number, height: number): number {
  return Math.ceil(Math.log2(Math.max(width, height, 1)));
}

/** Size in pixels of a Deep Zoom level (level `top` is the image itself). */
export function deepZoomLevelSize(
  width: number,
  height: number,
  level: number,
): { width: number; height: number } {
  const scale = 2 ** (deepZoomTopLevel(width, height) - level);
  return { width: Math.ceil(width / scale), height: Math.ceil(height / scale) };
}

/** Number of tile columns and rows of a Deep Zoom level. */
export function deepZoomTileGrid(
  width: number,
  height: number,
  tileSize: number,
  level: number,
): { cols: number; rows: number } {
  const size = deepZoomLevelSize(width, height, level);
  return { cols: Math.ceil(size.width / tileSize), rows: Math.ceil(size.height / tileSize) };
}

/**
 * The lowest Deep Zoom level worth showing: the first one whose whole image fits in one tile. Smaller
 * levels are single tiles too, so they add requests (each one a downsample of the whole slide where
 * the file has no small level) without showing anything sooner.
 */
export function deepZoomLowestUsefulLevel(width: number, height: number, tileSize: number): number {
  const top = deepZoomTopLevel(width, height);
  const steps = Math.ceil(Math.log2(Math.max(width, height, 1) / Math.max(tileSize, 1)));
  return Math.max(0, top - Math.max(0, steps));
}
