/**
 * What an inference job is asked to do, resolved before it is queued: the slides (chosen ids, a cohort, or
 * the whole project) with their paths and fingerprints, and the model (model-source.ts). What cannot make a
 * job (no such slide or cohort, no slide at all, a slide never fingerprinted) is refused with one sentence.
 */
import { ApiError } from '../contract/errors.js';
import { evaluateCohort, getCohortByName } from '../project/cohorts.js';
import type { Project } from '../project/project.js';
import { getSlide, selectSlideFiles } from '../project/slides-repo.js';
import type { InferenceParams, InferenceSlide } from './job/inference-job.js';
import type { InferenceModel } from './model-source.js';

export interface SlideChoice {
  slideIds?: number[];
  cohort?: string;
}

export function chooseSlides(project: Project, choice: SlideChoice): InferenceSlide[] {
  const db = project.db;
  if (choice.slideIds && choice.cohort)
    throw new ApiError('bad-input', 'Choose slides or a cohort, not both.');
  let ids: number[];
  if (choice.slideIds) ids = [...new Set(choice.slideIds)];
  else if (choice.cohort) ids = evaluateCohort(db, getCohortByName(db, choice.cohort).id);
  else ids = selectSlideFiles(db).map((s) => s.id);
  if (!ids.length)
    throw new ApiError(
      'bad-input',
      choice.cohort ? `Cohort ${choice.cohort} has no slides.` : 'This project has no slides to predict.',
    );
  return ids.map((id) => {
    const row = getSlide(db, id);
    if (!row) throw new ApiError('not-found', `There is no slide ${id} in this project.`);
    if (!row.fingerprint)
      throw new ApiError('bad-input', `Slide ${row.name} was not read at import; import it again first.`);
    return {
      id: row.id,
      name: row.name,
      path: row.path,
      fingerprint: row.fingerprint,
      width: row.width,
      height: row.height,
    };
  });
}

export function inferenceParams(model: InferenceModel, slides: InferenceSlide[]): InferenceParams {
  return { model, slides };
}

/** The job's folder (its log), relative to the project. */
export function inferenceWorkDir(jobId: number): string {
  return `models/inference/job-${jobId}`;
}
