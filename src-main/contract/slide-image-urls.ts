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
}

export function createSlideImageUrls(base: string, projectId: string): SlideImageUrls {
  const root = base.endsWith('/') ? base : `${base}/`;
  const scope = `?project=${encodeURIComponent(projectId)}`;
  return {
    tile: (slideId, level, col, row) => `${root}${slideId}/${level}/${col}_${row}.jpg${scope}`,
    thumbnail: (slideId) => `${root}${slideId}/thumbnail.jpg${scope}`,
    associated: (slideId, name) => `${root}${slideId}/associated/${encodeURIComponent(name)}.png${scope}`,
    tissue: (slideId) => `${root}${slideId}/tissue.png${scope}`,
  };
}

/** What a slide-image path (below the base) asks for. */
export type SlideImageRequest =
  | { kind: 'tile'; slideId: number; level: number; col: number; row: number }
  | { kind: 'thumbnail'; slideId: number }
  | { kind: 'associated'; slideId: number; name: string }
  | { kind: 'tissue'; slideId: number };

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
  return null;
}
