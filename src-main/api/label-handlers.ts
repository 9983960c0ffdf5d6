/** Handlers for tasks, labels, label CSV import/export and the session's undo/redo. */
import type { CsvLabelChange, CsvPreview, LabelCommandResults } from '../contract/contract.js';
import type { AppSession } from '../app-state/session.js';
import { writeTextFile, exportLabelsCsv } from '../project/label-csv-export.js';
import {
  applyCsvImport,
  previewCsvImportStamped,
  type CsvImportOptions,
} from '../project/label-csv-import.js';
import type { CsvPlan } from '../project/label-csv-plan.js';
import { readCsvSource } from '../project/label-csv-read.js';
import { selectHistory, selectSlideLabels } from '../project/labels-repo.js';
import { setLabel, setLabels } from '../project/labels.js';
import { resolveSelection } from '../project/slide-selection.js';
import {
  addValue,
  createTask,
  deleteTask,
  editValue,
  listTasks,
  removeValue,
  reorderValues,
  updateTask,
} from '../project/tasks.js';
import type { Handlers } from './dispatch.js';
import { notifyLibrary } from './library-events.js';

const FIRST_PAGE = 200;
const STATUS_ORDER = { new: 0, changed: 1, unchanged: 2 } as const;

/** New and changed first (what the import does), then unchanged, each in file order. */
function changesInShowOrder(plan: CsvPlan): CsvLabelChange[] {
  return [...plan.changes].sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || a.line - b.line);
}

export function labelHandlers(session: AppSession): Pick<Handlers, keyof LabelCommandResults> {
  const db = () => session.requireProject().db;
  const tasksChanged = () => {
    notifyLibrary(session, ['tasks', 'labels'], null);
    session.emit('onProjectChanged', session.info());
  };
  return {
    'tasks.list': () => ({ tasks: listTasks(db()) }),
    'tasks.create': (t) => {
      const task = createTask(db(), t);
      tasksChanged();
      return task;
    },
    'tasks.update': ({ taskId, ...change }) => {
      const task = updateTask(db(), taskId, change);
      tasksChanged();
      return task;
    },
    'tasks.addValue': ({ taskId, value }) => {
      const task = addValue(db(), taskId, value);
      tasksChanged();
      return task;
    },
    'tasks.editValue': ({ taskId, value, ...change }) => {
      const result = editValue(db(), taskId, value, change);
      tasksChanged();
      return result;
    },
    'tasks.removeValue': ({ taskId, value, clearLabels }) => {
      const result = removeValue(db(), taskId, value, clearLabels);
      tasksChanged();
      return result;
    },
    'tasks.reorderValues': ({ taskId, values }) => {
      const task = reorderValues(db(), taskId, values);
      tasksChanged();
      return task;
    },
    'tasks.delete': ({ taskId }) => {
      const result = deleteTask(db(), taskId);
      tasksChanged();
      return result;
    },
    'labels.set': ({ slideId, taskId, value, source, author }) => {
      const { label, edit } = setLabel(db(), slideId, {
        taskId,
        value,
        source,
        author: author ?? session.author,
      });
      session.edits.push(edit);
      if (edit) notifyLibrary(session, ['labels'], [slideId]);
      return { label, changed: edit !== null, undo: session.edits.state() };
    },
    'labels.setMany': ({ selection, taskId, value, source, author }) => {
      const d = db();
      const { edit, ...result } = setLabels(d, resolveSelection(d, selection), {
        taskId,
        value,
        source,
        author: author ?? session.author,
      });
      session.edits.push(edit);
      if (edit)
        notifyLibrary(
          session,
          ['labels'],
          edit.changes.map((c) => c.slideId),
        );
      return { ...result, undo: session.edits.state() };
    },
    'labels.forSlide': ({ slideId }) => ({ labels: selectSlideLabels(db(), slideId) }),
    'labels.history': ({ slideId, taskId, offset, limit }) =>
      selectHistory(db(), { slideId, taskId }, offset, limit),
    'labels.previewCsv': async ({ source, mapping, createTasks }) => {
      const d = db();
      const table = await readCsvSource(source);
      const options: CsvImportOptions = { mapping, createTasks };
      const planned = previewCsvImportStamped(d, table, options);
      const { plan } = planned;
      const kept = session.csvPreviews.keep(table, options, planned);
      return {
        previewId: kept.id,
        fileName: table.fileName,
        delimiter: table.delimiter,
        columns: plan.columns,
        summary: plan.summary,
        changes: changesInShowOrder(plan).slice(0, FIRST_PAGE),
        rejected: plan.rejected.slice(0, FIRST_PAGE),
        warnings: plan.warnings,
      } satisfies CsvPreview;
    },
    'labels.csvPreviewPage': ({ previewId, list, status, offset, limit }) => {
      const { plan } = session.csvPreviews.get(previewId).planned;
      if (list === 'rejected')
        return {
          total: plan.rejected.length,
          changes: [],
          rejected: plan.rejected.slice(offset, offset + limit),
        };
      const changes = changesInShowOrder(plan).filter((c) => !status || c.status === status);
      return { total: changes.length, changes: changes.slice(offset, offset + limit), rejected: [] };
    },
    'labels.applyCsv': async (input) => {
      const d = db();
      const author = input.author ?? session.author;
      const { table, options, planned } =
        'previewId' in input
          ? session.csvPreviews.get(input.previewId)
          : {
              table: await readCsvSource(input.source),
              options: { mapping: input.mapping, createTasks: input.createTasks },
              planned: undefined,
            };
      const { plan, edit, createdTasks } = applyCsvImport(d, table, options, author, planned);
      session.edits.push(edit);
      session.csvPreviews.clear();
      if (edit || createdTasks.length) {
        notifyLibrary(
          session,
          createdTasks.length ? ['labels', 'patients', 'tasks'] : ['labels', 'patients'],
          edit ? [...new Set(edit.changes.map((c) => c.slideId))] : [],
        );
        if (createdTasks.length || plan.patients.length) session.emit('onProjectChanged', session.info());
      }
      return {
        summary: plan.summary,
        rejected: plan.rejected,
        warnings: plan.warnings,
        createdTaskIds: createdTasks,
        undo: session.edits.state(),
      };
    },
    'labels.exportCsv': ({ path, taskIds }) => {
      const { csv, rows } = exportLabelsCsv(db(), taskIds);
      if (path) return { path: writeTextFile(path, csv), csv: null, rows };
      return { path: null, csv, rows };
    },
    'edit.undo': () => {
      const done = session.edits.undo(db());
      if (done) notifyLibrary(session, done.outcome.kinds, done.outcome.slideIds, done.outcome.annotationIds);
      return { undone: done ? done.edit.description : null, undo: session.edits.state() };
    },
    'edit.redo': () => {
      const done = session.edits.redo(db());
      if (done) notifyLibrary(session, done.outcome.kinds, done.outcome.slideIds, done.outcome.annotationIds);
      return { redone: done ? done.edit.description : null, undo: session.edits.state() };
    },
    'edit.state': () => session.edits.state(),
  };
}
