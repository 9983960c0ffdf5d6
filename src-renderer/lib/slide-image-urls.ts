/**
 * Addresses of slide pixels for <img> and OpenSeadragon. The transport decides the base: browser mode
 * serves `/tiles/<id>/...` on the page's own origin (authorised by its cookie); Electron serves
 * `slide://tessera/<id>/...` through its protocol handler. Deep Zoom tiles are JPEG.
 *
 * Slide ids restart in every project while the responses may be cached for an hour, so each URL carries
 * the project's id as a query the servers ignore: another project's slide 1 is another URL.
 */
export interface SlideImageUrls {
  tile(slideId: number, level: number, col: number, row: number): string;
  thumbnail(slideId: number): string;
  /** A label, macro or scanner thumbnail image stored in the slide file (PNG). */
  associated(slideId: number, name: string): string;
}

export function createSlideImageUrls(base: string, projectId: string): SlideImageUrls {
  const root = base.endsWith('/') ? base : `${base}/`;
  const scope = `?project=${encodeURIComponent(projectId)}`;
  return {
    tile: (slideId, level, col, row) => `${root}${slideId}/${level}/${col}_${row}.jpg${scope}`,
    thumbnail: (slideId) => `${root}${slideId}/thumbnail.jpg${scope}`,
    associated: (slideId, name) => `${root}${slideId}/associated/${encodeURIComponent(name)}.png${scope}`,
  };
}
