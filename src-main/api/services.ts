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

export interface AppServices {
  session: AppSession;
  slideImages: SlideImages;
  imports: ImportJobs;
  handlers: Handlers;
  close(): Promise<void>;
}

export function createAppServices(userDataDir: string, mode: AppInfo['mode']): AppServices {
  const session = new AppSession(userDataDir);
  const slides = new SlideService();
  const slideImages = new SlideImages(session, slides);
  const toolkit = slideToolkit();
  const imports = new ImportJobs(session, toolkit);
  const handlers = createHandlers({ session, mode, slideImages, imports, toolkit });
  return {
    session,
    slideImages,
    imports,
    handlers,
    close: async () => {
      session.close();
      await slides.closeAll();
    },
  };
}
