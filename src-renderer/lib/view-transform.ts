/**
 * Where level-0 pixels of the open slide fall on an overlay canvas over OpenSeadragon: the one mapping the
 * annotation layer and the Patches overlay both draw with.
 */
import OpenSeadragon from 'openseadragon';

/** Screen position = level-0 position × scale + offset (CSS pixels; the canvas has dpr device pixels each). */
export interface ViewTransform {
  scale: number;
  offsetX: number;
  offsetY: number;
  width: number;
  height: number;
  dpr: number;
}

/** The transform of the viewer's first image onto `canvas`, or null while nothing is open. */
export function viewTransformOf(
  viewer: OpenSeadragon.Viewer | null,
  canvas: HTMLCanvasElement | undefined | null,
): ViewTransform | null {
  if (!viewer || !canvas || viewer.world.getItemCount() === 0) return null;
  const item = viewer.world.getItemAt(0);
  const a = item.imageToViewerElementCoordinates(new OpenSeadragon.Point(0, 0));
  const b = item.imageToViewerElementCoordinates(new OpenSeadragon.Point(10_000, 0));
  return {
    scale: (b.x - a.x) / 10_000,
    offsetX: a.x,
    offsetY: a.y,
    width: canvas.clientWidth,
    height: canvas.clientHeight,
    dpr: window.devicePixelRatio || 1,
  };
}
