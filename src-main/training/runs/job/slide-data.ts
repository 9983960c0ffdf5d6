/**
 * The job's view of its slides: each plan slide with its patch grid (tissue from the project's cache, or
 * detected and kept there), ready for the patch loader. A slide that cannot be opened, or has no patch
 * with enough tissue, is left out with a warning naming it.
 */
import path from 'node:path';
import type { Project } from '../../../project/project.js';
import type { SlideService } from '../../../slides/index.js';
import { buildPatchGrid, type PatchGrid } from '../../patch-grid.js';
import type { LoaderSlide } from '../../patches/patch-loader.js';
import { regionFilter, type PatchRegions, type RegionFilter } from '../../patch-regions.js';
import { projectTissueMask } from '../../tissue/cache.js';
import type { PlanSlide } from '../run-plan.js';

export interface RunSlide extends LoaderSlide {
  plan: PlanSlide;
  grid: PatchGrid;
}

export interface GridOptions {
  mpp: number;
  patchSize: number;
  tissueThreshold: number;
  /** Annotation classes patches must lie inside or outside; absent or empty lists: no limit. */
  regions?: PatchRegions;
}

/**
 * The patches a run takes from one slide: the grid at the run's resolution and patch size, kept where there
 * is tissue and where the run's annotation regions allow. Training, inference and the Viewer's patch
 * overlay all call this, so the overlay shows exactly what a run samples.
 */
export async function slidePatchGrid(
  project: Project,
  slides: SlideService,
  slide: Pick<PlanSlide, 'id' | 'name' | 'path' | 'fingerprint'>,
  options: GridOptions,
): Promise<{ grid: PatchGrid; regions: RegionFilter | null }> {
  const regions = options.regions ? regionFilter(project.db, slide.id, options.regions) : null;
  const grid = await slides.withReader(slide.path, async (reader) => {
    const { mask } = await projectTissueMask(project, slide.fingerprint, async () => reader);
    return buildPatchGrid(reader.metadata, slide.name, mask, {
      targetMpp: options.mpp,
      patchSize: options.patchSize,
      tissueThreshold: options.tissueThreshold,
      regions,
    });
  });
  return { grid, regions };
}

export async function prepareSlide(
  project: Project,
  slides: SlideService,
  plan: PlanSlide,
  options: GridOptions,
): Promise<{ slide: RunSlide } | { warning: string }> {
  try {
    const { grid, regions } = await slidePatchGrid(project, slides, plan, options);
    if (grid.x.length === 0)
      return {
        warning: regions
          ? `Slide ${plan.name} is left out: none of its patches with tissue over ${options.tissueThreshold} of its area lies ${regions.note}.`
          : `Slide ${plan.name} is left out: none of its patches has tissue over ${options.tissueThreshold} of its area.`,
      };
    return { slide: { id: plan.id, path: plan.path, grid, plan } };
  } catch (err) {
    return {
      warning: `Slide ${plan.name} is left out: it cannot be read (${err instanceof Error ? err.message : String(err)}).`,
    };
  }
}

export function slideFileName(slide: { path: string }): string {
  return path.basename(slide.path);
}
