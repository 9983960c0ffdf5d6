/**
 * Builds the services behind the API for one process (Electron main or browser mode): the session, the
 * slide readers, the import runner and the handler table. Knows nothing of transports or windows.
 */
import type { AppInfo } from '../contract/contract.js';
import { createHandlers } from './handlers.js';
import type { Handlers } from './dispatch.js';
import { ImportJobs } from '../project/import-jobs.js';
import { AppSession } from '../app-state/session.js';
import { SlideImages } from '../viewer-pixels/slide-images.js';
import { slideToolkit } from '../project/slide-toolkit.js';
import { SlideService } from '../slides/slide-service.js';
import { TrainingService } from '../jobs/training-service.js';
import type { JobProcessLauncher } from '../jobs/job-process-launcher.js';

export interface AppServices {
  session: AppSession;
  slideImages: SlideImages;
  imports: ImportJobs;
  training: TrainingService;
  handlers: Handlers;
  close(): Promise<void>;
}

/** `launchJobProcess`: how job processes start (Electron passes its utilityProcess launcher; default fork). */
export function createAppServices(
  userDataDir: string,
  mode: AppInfo['mode'],
  launchJobProcess?: JobProcessLauncher,
): AppServices {
  const session = new AppSession(userDataDir);
  const slides = new SlideService();
  const slideImages = new SlideImages(session, slides);
  const toolkit = slideToolkit();
  const imports = new ImportJobs(session, toolkit);
  const training = new TrainingService(session, launchJobProcess);
  const handlers = createHandlers({ session, mode, slideImages, imports, toolkit, training });
  return {
    session,
    slideImages,
    imports,
    training,
    handlers,
    close: async () => {
      // Training first: a running job checkpoints before the session's project closes.
      await training.close();
      session.close();
      await slides.closeAll();
    },
  };
}
