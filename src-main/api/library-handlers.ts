/** Handlers for the library's commands: the slide list, removal and relink, QC, patients. */
import type { LibraryCommandResults } from '../contract/contract.js';
import type { AppSession } from '../app-state/session.js';
import { applyPatientPattern, previewPatientPattern, setPatients } from '../project/patients.js';
import { selectPatients } from '../project/patients-repo.js';
import { setQc } from '../project/qc.js';
import { missingSlides, relinkSlides } from '../project/relink.js';
import type { SlideToolkit } from '../project/import.js';
import { selectLibraryPage, selectSlideIds } from '../project/slide-query-repo.js';
import { removeSlides } from '../project/slide-removal.js';
import { slideFileCaches } from './slide-file-caches.js';
import { resolveSelection } from '../project/slide-selection.js';
import type { Handlers } from './dispatch.js';
import { notifyLibrary } from './library-events.js';

export function libraryHandlers(
  session: AppSession,
  toolkit: Pick<SlideToolkit, 'open' | 'fingerprint'>,
): Pick<Handlers, keyof LibraryCommandResults> {
  const db = () => session.requireProject().db;
  // The project summary counts patients, so it changes too.
  const patientsChanged = (slideIds: number[]) => {
    notifyLibrary(session, ['patients'], slideIds);
    session.emit('onProjectChanged', session.info());
  };
  return {
    'slides.list': (q) => selectLibraryPage(db(), q),
    'slides.ids': (q) => ({ ids: [...selectSlideIds(db(), q)] }),
    'slides.remove': ({ selection }) => {
      const project = session.requireProject();
      const result = removeSlides(project, resolveSelection(project.db, selection), (fingerprint) =>
        slideFileCaches(project, fingerprint),
      );
      if (result.removed) {
        notifyLibrary(session, ['slides', 'labels', 'cohorts'], null);
        session.emit('onProjectChanged', session.info());
      }
      return result;
    },
    'slides.missing': () => ({ slides: missingSlides(session.requireProject()) }),
    'slides.relink': async ({ folder, dryRun }) => {
      const result = await relinkSlides(session.requireProject(), folder, toolkit, dryRun);
      if (!dryRun && result.matched.length)
        notifyLibrary(
          session,
          ['slides'],
          result.matched.map((m) => m.slideId),
        );
      return result;
    },
    'qc.set': ({ selection, flags, reason }) => {
      const d = db();
      const { changed, edit } = setQc(d, resolveSelection(d, selection), { flags, reason });
      session.edits.push(edit);
      if (edit)
        notifyLibrary(
          session,
          ['qc'],
          edit.changes.map((c) => c.slideId),
        );
      return { changed, undo: session.edits.state() };
    },
    'patients.list': () => ({ patients: selectPatients(db()) }),
    'patients.set': ({ selection, patient }) => {
      const d = db();
      const { changed, edit } = setPatients(d, resolveSelection(d, selection), patient);
      session.edits.push(edit);
      if (edit) patientsChanged(edit.changes.map((c) => c.slideId));
      return { changed, undo: session.edits.state() };
    },
    'patients.previewPattern': (q) => previewPatientPattern(db(), q),
    'patients.applyPattern': (q) => {
      const { edit, ...result } = applyPatientPattern(db(), q);
      session.edits.push(edit);
      if (edit) patientsChanged(edit.changes.map((c) => c.slideId));
      return { ...result, undo: session.edits.state() };
    },
  };
}
