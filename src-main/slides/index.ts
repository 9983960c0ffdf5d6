/**
 * Slides: reading whole-slide images (main-process side; no electron imports).
 *
 *   const reader = await openSlide(path);          // best backend for the file; SlideError if unreadable
 *   reader.metadata                                 // vendor, backend ('tiff' | 'openslide'), levels
 *                                                   // (width, height, downsample, tile size), mppX/Y,
 *                                                   // objectivePower, properties, associatedImages
 *   await reader.readRegion(level, x, y, w, h)      // RGBA bytes; x, y in level-0 pixels; transparent outside
 *   await reader.readAssociatedImage('label')       // { width, height, rgba }
 *   const dz = deepZoomFor(reader);                 // tile grid chosen per slide (stored JPEG tiles pass through)
 *   dz.descriptor().xml / .json                     // what OpenSeadragon needs
 *   await dz.tile(level, col, row)                  // JPEG bytes (RangeError if no such tile)
 *   await makeThumbnail(reader, 512)                // JPEG bytes (or { type: 'png' })
 *   await fingerprint(path, reader)                 // { size, width, height, headerSha256, sampleSha256, id }
 *   await reader.close();
 *
 * For the app: one `SlideService` keeps readers open by path (LRU of open files) and hands out
 * `reader(path)` and `deepZoom(path)`. All decoding, resizing and encoding runs in a worker pool
 * (`sharedDecodePool()`, size set with `setSharedDecodePool(new DecodePool(n))`); decoded tiles live
 * in one byte-bounded LRU (`sharedTileCache().setCapacity(bytes)`) whose memory is slabs of shared
 * memory: workers decode straight into cache slots, and tile churn allocates nothing on the main
 * thread. Rendered Deep Zoom tiles take one worker task each (`reader.encodeRegion`: decode the
 * missing tiles, compose from cache slots, flatten, resize, encode); the main thread only routes.
 *
 * Backends: the built-in TIFF reader (Aperio SVS, generic pyramidal TIFF/BigTIFF, both byte
 * orders, tiled or stripped, levels from the directory chain or SubIFDs; JPEG, JPEG 2000 (Aperio
 * 33003/33005, libvips 33004, 34712), LZW and deflate with or without predictor, none) and OpenSlide
 * through koffi where libopenslide is installed (MIRAX, NDPI, SCN, VMS, BIF, ...; the built-in
 * reader refuses those layouts so they reach OpenSlide). Each file goes to the backend that scores
 * it best; `reader.metadata.backend` says which one opened it.
 *
 * Codecs (in the workers): JPEG through libjpeg-turbo everywhere, so a slide gives the same pixels on
 * every machine: its TurboJPEG API (koffi, libturbojpeg0) where installed, else the same library in
 * WebAssembly; JPEG 2000 through OpenJPEG (WebAssembly); deflate through zlib; LZW hand-written.
 * TESSERA_WITHOUT hides optional native libraries (optional-libraries.ts). Errors a user can cause are
 * SlideErrors: "Cannot read slide NAME: reason."; what could not be read of a slide that opens is in
 * `metadata.problems`. A region read is at most MAX_REGION_PIXELS (regionSizeProblem says why not).
 */
import { defaultRegistry } from './registry.js';
import type { SlideBackendName, SlideReader } from './types.js';

export { MAX_REGION_PIXELS, regionSizeProblem } from './types.js';
export type {
  SlideReader,
  RegionEncoding,
  RegionReadOptions,
  SlideMetadata,
  SlideLevel,
  RgbaImage,
  SlideBackend,
  SlideBackendName,
} from './types.js';
export { SlideError } from './errors.js';
export { SlideRegistry } from './registry.js';
export {
  DeepZoom,
  deepZoomFor,
  deepZoomDescriptor,
  type DeepZoomOptions,
  type DeepZoomDescriptor,
  type DeepZoomTileInfo,
  type ReducedCopy,
} from './deepzoom.js';
export { makeThumbnail, encodePng, type ThumbnailOptions } from './thumbnail.js';
export { fingerprint, type SlideFingerprint } from './fingerprint.js';
export { SlideService, type SlideServiceOptions } from './slide-service.js';
export { TileCache, sharedTileCache } from './tile-cache.js';
export { DecodePool, sharedDecodePool, setSharedDecodePool } from './worker/decode-pool.js';

/** Opens a slide with the best backend for it (or only with `backend`). Rejects with a SlideError. */
export function openSlide(path: string, backend?: SlideBackendName): Promise<SlideReader> {
  return defaultRegistry().open(path, backend);
}
