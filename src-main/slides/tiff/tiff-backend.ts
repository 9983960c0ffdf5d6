/** Registers the built-in TIFF reader with the slide registry and says which files it claims. */
import path from 'node:path';
import type { SlideBackend } from '../types.js';
import { looksLikeTiff } from './tiff-file.js';
import { TiffSlideReader, type TiffReaderOptions } from './tiff-reader.js';

/**
 * TIFF-based formats whose structure the built-in reader does not model (multi-image collections,
 * vendor tile layouts, NDPI's restart-marker JPEGs); OpenSlide should take them when present.
 */
const LEAVE_TO_OPENSLIDE = new Set(['.ndpi', '.scn', '.bif', '.vms', '.vmu', '.mrxs']);

export function tiffBackend(options: TiffReaderOptions = {}): SlideBackend {
  return {
    name: 'tiff',
    async score(file, head) {
      if (!looksLikeTiff(head)) return 0;
      const ext = path.extname(file).toLowerCase();
      if (LEAVE_TO_OPENSLIDE.has(ext)) return 0.05;
      if (ext === '.svs' || ext === '.tif' || ext === '.tiff') return 1;
      return 0.8;
    },
    open: (file) => TiffSlideReader.open(file, options),
  };
}
