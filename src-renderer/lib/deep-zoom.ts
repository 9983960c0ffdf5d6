/**
 * Deep Zoom arithmetic of the viewer. Levels follow the DZI convention: level 0 is
 * 1 x 1 pixel, each level doubles, and the top level (full resolution) is ceil(log2(max(w, h))).
 */

/** Index of the full-resolution Deep Zoom level for an image of this size. */
export function deepZoomTopLevel(width: number, height: number): number {
  return Math.ceil(Math.log2(Math.max(width, height, 1)));
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
