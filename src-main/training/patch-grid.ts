/**
 * The patch grid of a slide at a target resolution: squares of `patchSize` pixels at `targetMpp` µm/px,
 * laid edge to edge from the slide's top-left corner, kept where they lie inside the slide and tissue
 * covers at least `tissueThreshold` of them. Each is read from the coarsest level at least as fine as the
 * target (CLAM's and Trident's choice) as a square of `readSize` level pixels, then resampled to
 * `patchSize` with Lanczos (Pillow's Image.resize(LANCZOS)) where the two differ.
 *
 * All coordinates are level-0 pixels. The grid is laid in pixels of the level read: readSize =
 * round(patchSize * targetMpp / (mpp * downsample)), and the step is readSize level pixels, extent =
 * readSize * downsample level-0 pixels, so that every patch starts on a whole pixel of its level (OpenSlide
 * interpolates a region that starts between level pixels; Tessera's reader, like OpenSlide's callers
 * expect, does not).
 */
import type { SlideMetadata } from '../slides/index.js';
import { slideResolution, type SlideResolution } from './resolution.js';
import type { RegionFilter } from './patch-regions.js';
import { TissueCoverage, type TissueMask } from './tissue/mask.js';

export interface PatchGridOptions {
  /** µm per pixel of the patches the encoder sees (default 0.5, "20x"). */
  targetMpp?: number;
  /** Side of a patch in pixels: the encoder's input size (default 224). */
  patchSize?: number;
  /** Smallest tissue fraction of a kept patch (default 0.5). */
  tissueThreshold?: number;
  /** Level-0 µm/px for slides that do not say (see slideResolution). */
  defaultMpp?: number;
  /** Annotation regions a patch must lie inside or outside (patch-regions.ts). */
  regions?: RegionFilter | null;
}

export const PATCH_GRID_DEFAULTS = { targetMpp: 0.5, patchSize: 224, tissueThreshold: 0.5 } as const;

/** A level this much coarser than the target still counts as "at the target" (scanners round their mpp). */
const LEVEL_TOLERANCE = 1.01;

export interface PatchGrid {
  patchSize: number;
  targetMpp: number;
  tissueThreshold: number;
  resolution: SlideResolution;
  /** Slide level the patches are read from. */
  level: number;
  /** Side of the square read at that level (level pixels); resampled to patchSize where it differs. */
  readSize: number;
  /** Side of a patch in level-0 pixels, the grid step: readSize x the level's downsample (maybe fractional). */
  extent: number;
  /** Grid cells across and down (kept or not). */
  columns: number;
  rows: number;
  /** Level-0 top-left corners of the kept patches, in row-major grid order. */
  x: Int32Array;
  y: Int32Array;
  /** Tissue fraction of each kept patch. */
  tissue: Float32Array;
  /** One sentence for the run's log: where the resolution came from and how patches are read. */
  summary: string;
}

export function buildPatchGrid(
  metadata: Pick<SlideMetadata, 'levels' | 'mppX' | 'mppY' | 'objectivePower'>,
  slideName: string,
  mask: TissueMask | null,
  options: PatchGridOptions = {},
): PatchGrid {
  const { targetMpp, patchSize, tissueThreshold } = { ...PATCH_GRID_DEFAULTS, ...options };
  if (!(targetMpp > 0)) throw new RangeError(`the target resolution must be positive, not ${targetMpp}`);
  if (!Number.isInteger(patchSize) || patchSize < 1) throw new RangeError(`invalid patch size ${patchSize}`);
  if (!(tissueThreshold >= 0 && tissueThreshold <= 1)) {
    throw new RangeError(`the tissue threshold must be between 0 and 1, not ${tissueThreshold}`);
  }
  const level0 = metadata.levels[0];
  if (!level0) throw new Error(`${slideName} has no image levels.`);
  const resolution = slideResolution(metadata, slideName, options.defaultMpp);
  const wanted = targetMpp / resolution.mpp;
  let level = 0;
  metadata.levels.forEach((l, i) => {
    if (l.downsample <= wanted * LEVEL_TOLERANCE && l.downsample > metadata.levels[level]!.downsample)
      level = i;
  });
  const downsample = metadata.levels[level]!.downsample;
  const readSize = Math.max(1, Math.round((patchSize * targetMpp) / (resolution.mpp * downsample)));
  const extent = readSize * downsample;
  const columns = Math.floor(level0.width / extent);
  const rows = Math.floor(level0.height / extent);
  const coverage = mask ? new TissueCoverage(mask) : null;
  const xs: number[] = [];
  const ys: number[] = [];
  const fractions: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const x = Math.round(c * extent);
      const y = Math.round(r * extent);
      const f = coverage ? coverage.fraction(x, y, x + extent, y + extent) : 1;
      if (f < tissueThreshold) continue;
      if (options.regions && !options.regions.keep(x, y, extent)) continue;
      xs.push(x);
      ys.push(y);
      fractions.push(f);
    }
  }
  const levelMpp = resolution.mpp * metadata.levels[level]!.downsample;
  const how =
    readSize === patchSize
      ? `read as ${patchSize} px squares from level ${level} (${fmt(levelMpp)} µm/px)`
      : `read as ${readSize} px squares from level ${level} (${fmt(levelMpp)} µm/px) and resampled to ${patchSize} px`;
  const summary =
    `${slideName}: ${xs.length} of ${columns * rows} patches of ${patchSize} px at ${fmt(targetMpp)} µm/px kept ` +
    `(tissue ≥ ${fmt(tissueThreshold)}${options.regions ? `; ${options.regions.note}` : ''}), ${how}.` +
    (resolution.note ? ` ${resolution.note}` : '');
  return {
    patchSize,
    targetMpp,
    tissueThreshold,
    resolution,
    level,
    readSize,
    extent,
    columns,
    rows,
    x: Int32Array.from(xs),
    y: Int32Array.from(ys),
    tissue: Float32Array.from(fractions),
    summary,
  };
}

function fmt(v: number): string {
  return String(Number(v.toPrecision(4)));
}
