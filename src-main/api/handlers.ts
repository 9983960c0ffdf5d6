/**
 * The command handlers: plain functions over services, one per contract entry. No transport, window
 * or Electron knowledge here.
 */
import type { AppInfo, SlideSummary } from './contract.js';
import type { Handlers } from './dispatch.js';
import type { ImportJobs } from '../project/import-jobs.js';
import type { AppSession } from '../project/session.js';
import type { SlideImages } from '../project/slide-images.js';
import { appVersion } from '../version.js';

export interface HandlerContext {
  session: AppSession;
  mode: AppInfo['mode'];
  slideImages: SlideImages;
  imports: ImportJobs;
}

export function createHandlers({ session, mode, slideImages, imports }: HandlerContext): Handlers {
  return {
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
    'slides.list': ({ offset, limit }) => {
      const { db } = session.requireProject();
      const total = (db.prepare('SELECT count(*) AS n FROM slides').get() as { n: number }).n;
      const slides = db
        .prepare(
          `SELECT s.id, s.name, s.path, p.external_id AS patient, s.width, s.height, s.mpp_x AS mppX, s.vendor
           FROM slides s LEFT JOIN patients p ON p.id = s.patient_id
           ORDER BY s.name, s.id LIMIT ? OFFSET ?`,
        )
        .all(limit, offset) as SlideSummary[];
      return { total, slides };
    },
    'slides.get': ({ id }) => slideImages.detail(id),
    'slides.import': ({ folder }) => imports.start(folder),
    'slides.cancelImport': ({ importId }) => {
      imports.cancel(importId);
      return null;
    },
  };
}
