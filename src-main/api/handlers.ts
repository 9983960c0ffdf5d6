/**
 * The command handlers: plain functions over services, one per contract entry. No transport, window
 * or Electron knowledge here.
 */
import type { AppInfo } from '../contract/contract.js';
import type { Handlers } from './dispatch.js';
import type { ImportJobs } from '../project/import-jobs.js';
import type { AppSession } from '../app-state/session.js';
import type { SlideToolkit } from '../project/import.js';
import { annotationHandlers } from './annotation-handlers.js';
import { cohortHandlers } from './cohort-handlers.js';
import { labelHandlers } from './label-handlers.js';
import { libraryHandlers } from './library-handlers.js';
import { trainingHandlers } from './training-handlers.js';
import { inferenceHandlers } from './inference-handlers.js';
import type { InferenceService } from '../jobs/inference-service.js';
import type { TrainingService } from '../jobs/training-service.js';
import type { SlideImages } from '../viewer-pixels/slide-images.js';
import { appVersion } from '../version.js';

export interface HandlerContext {
  session: AppSession;
  mode: AppInfo['mode'];
  slideImages: SlideImages;
  imports: ImportJobs;
  /** Opening and fingerprinting slide files (relink). */
  toolkit: Pick<SlideToolkit, 'open' | 'fingerprint'>;
  training: TrainingService;
  inference: InferenceService;
}

export function createHandlers({
  session,
  mode,
  slideImages,
  imports,
  toolkit,
  training,
  inference,
}: HandlerContext): Handlers {
  return {
    ...libraryHandlers(session, toolkit),
    ...labelHandlers(session),
    ...cohortHandlers(session),
    ...annotationHandlers(session),
    ...trainingHandlers(training),
    ...inferenceHandlers(session, inference, slideImages.heatmaps),
    'app.info': () => ({ name: 'Tessera', version: appVersion(), mode, canPickFolders: mode === 'electron' }),
    'project.create': ({ dir, name }) => session.create(dir, name),
    'project.open': ({ dir }) => session.open(dir),
    'project.close': () => {
      session.close();
      return null;
    },
    'project.current': () => session.info(),
    'project.recent': () => session.recent.list(),
    'project.forgetRecent': ({ dir }) => {
      session.recent.forget(dir);
      return session.recent.list();
    },
    'slides.get': ({ id }) => slideImages.detail(id),
    'runs.patchGrid': ({ slideId, runId }) => slideImages.patchGrid(slideId, runId),
    'slides.import': ({ folder }) => imports.start(folder),
    'slides.cancelImport': ({ importId }) => {
      imports.cancel(importId);
      return null;
    },
  };
}
