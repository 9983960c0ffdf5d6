/**
 * The patches a run would train on for one slide, for the Viewer's patch overlay: the settings of a run
 * of the project (the chosen one, or the latest) or, in a project with no run, the default training
 * settings; the grid itself from slidePatchGrid, the function training and inference call, so that the
 * overlay and the run cannot disagree.
 */
import type { PatchGridPreview, RunConfig } from '../contract/contract.js';
import { ApiError } from '../contract/errors.js';
import type { Project } from '../project/project.js';
import { selectModelByName } from '../project/models-repo.js';
import { selectRun, selectRuns } from '../project/runs-repo.js';
import { getSlide } from '../project/slides-repo.js';
import type { SlideService } from '../slides/index.js';
import { builtinSpec } from './models/builtin.js';
import { checkRegionClasses } from './patch-regions.js';
import { resolveRunConfig } from './runs/run-config.js';
import { slidePatchGrid } from './runs/job/slide-data.js';

/** The side of the patches a run's model takes (what a training job passes as the patch size). */
export function runPatchSize(project: Project, model: RunConfig['model']): number {
  if (model.kind === 'builtin') return builtinSpec(model.size).inputSize;
  const row = selectModelByName(project.db, model.name);
  if (!row)
    throw new ApiError(
      'not-found',
      `The project has no model named ${model.name}, so the patch size of its runs is unknown.`,
    );
  return row.inputSize;
}

function settingsOf(
  project: Project,
  runId: number | null,
): { config: RunConfig; source: PatchGridPreview['source'] } {
  const row = runId === null ? selectRuns(project.db).at(-1) : selectRun(project.db, runId);
  if (runId !== null && !row) throw new ApiError('not-found', `There is no run ${runId} in this project.`);
  if (!row)
    return {
      config: resolveRunConfig({}, { split: '-', splitTask: '-', name: '-' }),
      source: { kind: 'defaults' },
    };
  const config = JSON.parse(row.config) as RunConfig;
  return { config, source: { kind: 'run', runId: row.id, name: row.name } };
}

export async function patchGridPreview(
  project: Project,
  slides: SlideService,
  slideId: number,
  runId: number | null,
): Promise<PatchGridPreview> {
  const slide = getSlide(project.db, slideId);
  if (!slide) throw new ApiError('not-found', `There is no slide ${slideId} in this project.`);
  const { config, source } = settingsOf(project, runId);
  // Runs stored before annotations had no regions.
  const stored = config.regions as RunConfig['regions'] | undefined;
  const regions = { include: [...(stored?.include ?? [])], exclude: [...(stored?.exclude ?? [])] };
  checkRegionClasses(project.db, regions);
  const { grid } = await slidePatchGrid(project, slides, slide, {
    mpp: config.mpp,
    patchSize: runPatchSize(project, config.model),
    tissueThreshold: config.tissueThreshold,
    regions,
  });
  return {
    slideId,
    source,
    patchSize: grid.patchSize,
    mpp: grid.targetMpp,
    tissueThreshold: grid.tissueThreshold,
    regions,
    extent: grid.extent,
    columns: grid.columns,
    rows: grid.rows,
    x: Array.from(grid.x),
    y: Array.from(grid.y),
    summary: grid.summary,
  };
}
