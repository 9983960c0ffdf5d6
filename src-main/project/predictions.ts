/**
 * Predictions into labels: after review, a user accepts a model's predictions of a task on chosen slides,
 * and each slide's label becomes its predicted value with the model as the source (`model:<run id>`). One
 * transaction and one edit, so a single Undo puts every label back as it was.
 */
import type { LabelSource } from '../contract/contract.js';
import { ApiError } from '../contract/errors.js';
import type { Db } from '../db/connection.js';
import { plural, type Edit } from './edits.js';
import { setLabels } from './labels.js';
import { selectPredictionsOfSource } from './predictions-repo.js';
import { selectTask } from './tasks-repo.js';

export function acceptPredictions(
  db: Db,
  source: LabelSource,
  taskId: number,
  slideIds: number[],
  author: string | null,
): { changed: number; unchanged: number; edit: Edit | null } {
  return db.transaction(() => {
    const task = selectTask(db, taskId);
    if (!task) throw new ApiError('not-found', `There is no task with id ${taskId} in this project.`);
    const wanted = new Set(slideIds);
    const byValue = new Map<string, number[]>();
    for (const p of selectPredictionsOfSource(db, source, taskId)) {
      if (!wanted.has(p.slideId)) continue;
      byValue.set(p.value, [...(byValue.get(p.value) ?? []), p.slideId]);
    }
    const found = [...byValue.values()].reduce((a, ids) => a + ids.length, 0);
    if (found === 0)
      throw new ApiError(
        'not-found',
        `None of these slides has a prediction of ${task.name} from ${source}.`,
      );
    const edit: Edit = { description: '', changes: [] };
    let changed = 0;
    for (const [value, ids] of byValue) {
      const r = setLabels(db, ids, { taskId, value, source, author });
      changed += r.changed;
      if (r.edit) edit.changes.push(...r.edit.changes);
    }
    edit.description = `accept ${source.replace('model:', 'model ')} predictions of ${task.name} on ${plural(changed, 'slide')}`;
    return { changed, unchanged: slideIds.length - changed, edit: changed ? edit : null };
  })();
}
