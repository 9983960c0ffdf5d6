import { deepZoomFor } from '../slides/deepzoom.js';
import { fingerprint } from '../slides/fingerprint.js';
import { defaultRegistry } from '../slides/registry.js';
import { makeThumbnail } from '../slides/thumbnail.js';
import type { SlideToolkit } from './import.js';
import { REDUCED_COPY_MIN_PIXELS } from './reduced-copies.js';

/** The slide operations the import needs, from the slides layer. */
export function slideToolkit(): SlideToolkit {
  return {
    // Import reads each file once: it opens files outside the viewer's LRU so a big import does not evict it.
    open: (file) => defaultRegistry().open(file),
    thumbnail: (reader, maxSize) => makeThumbnail(reader, maxSize, { type: 'jpeg', quality: 85 }),
    fingerprint: async (reader) => (await fingerprint(reader.path, reader)).id,
    reducedCopy: (reader) => deepZoomFor(reader).firstReducedCopy(REDUCED_COPY_MIN_PIXELS),
  };
}
