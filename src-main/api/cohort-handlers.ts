/** Handlers for cohorts and splits. */
import type { CohortCommandResults } from '../contract/contract.js';
import type { AppSession } from '../app-state/session.js';
import {
  changeCohortMembers,
  createExplicitCohort,
  createFilterCohort,
  deleteCohort,
  evaluateCohort,
  getCohort,
  listCohorts,
  renameCohort,
  replaceCohortFilter,
} from '../project/cohorts.js';
import { resolveSelection } from '../project/slide-selection.js';
import {
  createSplit,
  deleteSplit,
  getSplit,
  listSplits,
  previewSplit,
  renameSplit,
} from '../project/splits.js';
import type { Handlers } from './dispatch.js';
import { notifyLibrary } from './library-events.js';

export function cohortHandlers(session: AppSession): Pick<Handlers, keyof CohortCommandResults> {
  const db = () => session.requireProject().db;
  const changed = <T>(kind: 'cohorts' | 'splits', value: T): T => {
    notifyLibrary(session, [kind], []);
    if (kind === 'cohorts') session.emit('onProjectChanged', session.info());
    return value;
  };
  return {
    'cohorts.list': () => ({ cohorts: listCohorts(db()) }),
    'cohorts.create': (input) => {
      const d = db();
      const cohort =
        'filter' in input
          ? createFilterCohort(d, input.name, input.filter)
          : createExplicitCohort(d, input.name, resolveSelection(d, input.selection));
      return changed('cohorts', cohort);
    },
    'cohorts.rename': ({ cohortId, name }) => changed('cohorts', renameCohort(db(), cohortId, name)),
    'cohorts.setFilter': ({ cohortId, filter }) =>
      changed('cohorts', replaceCohortFilter(db(), cohortId, filter)),
    'cohorts.addSlides': ({ cohortId, selection }) => {
      const d = db();
      getCohort(d, cohortId);
      return changed('cohorts', changeCohortMembers(d, cohortId, resolveSelection(d, selection), 'add'));
    },
    'cohorts.removeSlides': ({ cohortId, selection }) => {
      const d = db();
      getCohort(d, cohortId);
      return changed('cohorts', changeCohortMembers(d, cohortId, resolveSelection(d, selection), 'remove'));
    },
    'cohorts.delete': ({ cohortId }) => {
      deleteCohort(db(), cohortId);
      return changed('cohorts', null);
    },
    'cohorts.evaluate': ({ cohortId }) => ({ slideIds: evaluateCohort(db(), cohortId) }),
    'splits.preview': (req) => previewSplit(db(), req),
    'splits.create': (req) => changed('splits', createSplit(db(), req)),
    'splits.list': () => ({ splits: listSplits(db()) }),
    'splits.get': ({ splitId }) => getSplit(db(), splitId),
    'splits.rename': ({ splitId, name }) => changed('splits', renameSplit(db(), splitId, name)),
    'splits.delete': ({ splitId }) => {
      deleteSplit(db(), splitId);
      return changed('splits', null);
    },
  };
}
