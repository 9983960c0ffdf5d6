/**
 * The addresses of slide pixels, written by the renderer (for <img> and OpenSeadragon) and read back by
 * both shells: one format, one module. The transport decides the base: browser mode serves
 * `/tiles/<id>/...` on the page's own origin (authorised by its cookie); Electron serves
 * `slide://tessera/<id>/...` through its protocol handler. Deep Zoom tiles are JPEG.
 *
 * Slide ids restart in every project while the responses may be cached for an hour, so each URL carries
 * the project's id as a query the servers ignore: another project's slide 1 is another URL.
 *
 * Pure string work, no imports: the renderer bundles this file.
 */

/** Where browser mode serves slide pixels, on the page's own origin. */
export const BROWSER_SLIDE_IMAGE_PREFIX = '/tiles/';
/** Where Electron serves slide pixels: its privileged `slide:` scheme. */
export const ELECTRON_SLIDE_IMAGE_BASE = 'slide://tessera/';

export interface SlideImageUrls {
  tile(slideId: number, level: number, col: number, row: number): string;
  thumbnail(slideId: number): string;
  /** A label, macro or scanner thumbnail image stored in the slide file (PNG). */
  associated(slideId: number, name: string): string;
  /**
   * The slide's tissue mask as a see-through overlay (PNG) spanning exactly the slide's level-0 extent:
   * tissue tinted, pen ink marked, background clear. Detected on first request and kept in the project.
   */
  tissue(slideId: number): string;
  /**
   * A model's heatmap of the slide (attention, or a task value's per-patch probability) painted with a colour
   * map: Deep Zoom tiles (PNG, see-through where there is no patch) over the slide's level-0 extent, and the
   * whole overlay as one PNG for export.
   */
  heatmapTile(slideId: number, layer: HeatmapLayerRef, level: number, col: number, row: number): string;
  heatmapOverlay(slideId: number, layer: HeatmapLayerRef): string;
  /** A square region (level-0 corner and side) as a small JPEG: a heatmap's top-k gallery. */
  patch(slideId: number, x: number, y: number, size: number): string;
}

/** Which heatmap: the model's raster key, `attention` or `task-<t>-<v>`, and the colour map. */
export interface HeatmapLayerRef {
  modelKey: string;
  layer: string;
  colorMap: string;
}

/** Heatmap tiles are square PNGs of this side, without overlap. */
export const HEATMAP_TILE_SIZE = 256;

export function createSlideImageUrls(base: string, projectId: string): SlideImageUrls {
  const root = base.endsWith('/') ? base : `${base}/`;
  const scope = `?project=${encodeURIComponent(projectId)}`;
  return {
    tile: (slideId, level, col, row) => `${root}${slideId}/${level}/${col}_${row}.jpg${scope}`,
    thumbnail: (slideId) => `${root}${slideId}/thumbnail.jpg${scope}`,
    associated: (slideId, name) => `${root}${slideId}/associated/${encodeURIComponent(name)}.png${scope}`,
    tissue: (slideId) => `${root}${slideId}/tissue.png${scope}`,
    heatmapTile: (slideId, h, level, col, row) =>
      `${root}${slideId}/heatmap/${h.modelKey}/${h.layer}/${h.colorMap}/${level}/${col}_${row}.png${scope}`,
    patch: (slideId, x, y, size) =>
      `${root}${slideId}/patch/${Math.round(x)}_${Math.round(y)}_${Math.round(size)}.jpg${scope}`,
    heatmapOverlay: (slideId, h) =>
      `${root}${slideId}/heatmap/${h.modelKey}/${h.layer}/${h.colorMap}/overlay.png${scope}`,
  };
}

/** What a slide-image path (below the base) asks for. */
export type SlideImageRequest =
  | { kind: 'tile'; slideId: number; level: number; col: number; row: number }
  | { kind: 'thumbnail'; slideId: number }
  | { kind: 'associated'; slideId: number; name: string }
  | { kind: 'tissue'; slideId: number }
  | { kind: 'patch'; slideId: number; x: number; y: number; size: number }
  | {
      kind: 'heatmap';
      slideId: number;
      heatmap: HeatmapLayerRef;
      /** Null: the whole overlay (export). */
      tile: { level: number; col: number; row: number } | null;
    };

/**
 * The inverse of createSlideImageUrls, below the base: `<id>/<level>/<col>_<row>.jpg`, `<id>/thumbnail.jpg`,
 * `<id>/associated/<name>.png` or `<id>/tissue.png`; null for anything else (the caller answers 404).
 */
export function parseSlideImagePath(p: string): SlideImageRequest | null {
  let m = /^(\d{1,9})\/(\d{1,2})\/(\d{1,7})_(\d{1,7})\.jpe?g$/.exec(p);
  if (m) return { kind: 'tile', slideId: +m[1]!, level: +m[2]!, col: +m[3]!, row: +m[4]! };
  m = /^(\d{1,9})\/thumbnail\.jpg$/.exec(p);
  if (m) return { kind: 'thumbnail', slideId: +m[1]! };
  m = /^(\d{1,9})\/associated\/([a-z0-9_-]{1,40})\.png$/.exec(p);
  if (m) return { kind: 'associated', slideId: +m[1]!, name: m[2]! };
  m = /^(\d{1,9})\/tissue\.png$/.exec(p);
  if (m) return { kind: 'tissue', slideId: +m[1]! };
  m = /^(\d{1,9})\/patch\/(\d{1,7})_(\d{1,7})_(\d{1,5})\.jpg$/.exec(p);
  if (m) return { kind: 'patch', slideId: +m[1]!, x: +m[2]!, y: +m[3]!, size: +m[4]! };
  m =
    /^(\d{1,9})\/heatmap\/(run-\d{1,15}|folder-[0-9a-f]{16})\/(attention|task-\d{1,2}-\d{1,3})\/([a-z]{1,16})\/(?:(\d{1,2})\/(\d{1,7})_(\d{1,7})|overlay)\.png$/.exec(
      p,
    );
  if (m)
    return {
      kind: 'heatmap',
      slideId: +m[1]!,
      heatmap: { modelKey: m[2]!, layer: m[3]!, colorMap: m[4]! },
      tile: m[5] === undefined ? null : { level: +m[5], col: +m[6]!, row: +m[7]! },
    };
  return null;
}
