/**
 * The command handlers: plain functions over services, one per contract entry. No transport, window
 * or Electron knowledge here.
 */
import type { AppInfo } from '../contract/contract.js';
import type { Handlers } from './dispatch.js';
import type { ImportJobs } from '../project/import-jobs.js';
import type { AppSession } from '../app-state/session.js';
import { listSlides } from '../project/slides-repo.js';
import { ApiError } from '../contract/errors.js';
import { commandInputs, type CommandName } from '../contract/contract.js';
import type { SlideImages } from '../viewer-pixels/slide-images.js';
import { appVersion } from '../version.js';

export interface HandlerContext {
  session: AppSession;
  mode: AppInfo['mode'];
  slideImages: SlideImages;
  imports: ImportJobs;
}

// The library, label and cohort commands are in the contract; their handlers land in the next commits.
const pending = Object.fromEntries(
  Object.keys(commandInputs)
    .filter(
      (c) => !['app.info', 'slides.list', 'slides.get', 'slides.import', 'slides.cancelImport'].includes(c),
    )
    .filter((c) => !c.startsWith('project.'))
    .map((c) => [
      c,
      () => {
        throw new ApiError('internal', `${c} is not built yet.`);
      },
    ]),
) as unknown as Pick<
  Handlers,
  Exclude<
    CommandName,
    'app.info' | 'slides.get' | 'slides.import' | 'slides.cancelImport' | `project.${string}`
  >
>;

export function createHandlers({ session, mode, slideImages, imports }: HandlerContext): Handlers {
  return {
    ...pending,
    // Until the query builder lands: the old page by name, with empty label and QC columns.
    'slides.list': ({ offset, limit }) => {
      const page = listSlides(session.requireProject().db, offset, limit);
      return {
        total: page.total,
        slides: page.slides.map((s) => ({ ...s, addedAt: '', labels: {}, qcFlags: [], qcReason: null })),
      };
    },
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
    'slides.import': ({ folder }) => imports.start(folder),
    'slides.cancelImport': ({ importId }) => {
      imports.cancel(importId);
      return null;
    },
  };
}
