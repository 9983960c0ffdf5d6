/**
 * Predictions in the database: the latest job's answer replaces the earlier one for a slide, task and
 * source; sources are listed for the library's columns; a removed slide or task takes its predictions along.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  selectPredictionSources,
  selectPredictionsOfSlides,
  upsertPrediction,
} from '../../../src-main/project/predictions-repo.js';
import { createProject } from '../../../src-main/project/project.js';
import { upsertSlide } from '../../../src-main/project/slides-repo.js';
import { createTask, deleteTask } from '../../../src-main/project/tasks.js';
import { tempDir } from '../../helpers/temp.js';

describe('predictions repository', () => {
  it('replaces by (slide, task, source), lists sources, and goes with its slide or task', async () => {
    const project = await createProject(path.join(tempDir(), 'p'));
    try {
      const db = project.db;
      const slide = (n: number) =>
        upsertSlide(db, {
          path: `/s/${n}.svs`,
          name: `${n}.svs`,
          vendor: 'aperio',
          backend: 'tiff',
          width: 100,
          height: 100,
          levelCount: 1,
          mppX: 0.5,
          mppY: 0.5,
          objectivePower: 20,
          fileSize: 1,
          fingerprint: `f${n}`,
        }).id;
      const [a, b] = [slide(1), slide(2)];
      const task = createTask(db, { name: 'tumour', kind: 'binary' });
      const write = (slideId: number, source: string, p: number, jobId: number) =>
        upsertPrediction(db, {
          slideId,
          taskId: task.id,
          source,
          runId: source === 'model:3' ? 3 : null,
          jobId,
          modelKey: source === 'model:3' ? 'run-3' : 'folder-0123456789abcdef',
          probabilities: [1 - p, p],
          value: p > 0.5 ? 'yes' : 'no',
        });
      write(a, 'model:3', 0.2, 1);
      write(a, 'model:3', 0.9, 2);
      write(b, 'model:3', 0.4, 2);
      write(a, 'model:mine', 0.6, 3);
      expect(
        selectPredictionsOfSlides(db, [a]).map((p) => [p.source, p.jobId, p.value, p.probabilities]),
      ).toEqual([
        ['model:3', 2, 'yes', [expect.closeTo(0.1, 6), 0.9]],
        ['model:mine', 3, 'yes', [expect.closeTo(0.4, 6), 0.6]],
      ]);
      expect(selectPredictionSources(db)).toEqual([
        { source: 'model:3', runId: 3, taskId: task.id, modelKey: 'run-3', slides: 2 },
        {
          source: 'model:mine',
          runId: null,
          taskId: task.id,
          modelKey: 'folder-0123456789abcdef',
          slides: 1,
        },
      ]);
      db.prepare('DELETE FROM slides WHERE id = ?').run(a);
      expect(selectPredictionsOfSlides(db, [a, b]).map((p) => p.slideId)).toEqual([b]);
      deleteTask(db, task.id);
      expect(selectPredictionSources(db)).toEqual([]);
    } finally {
      project.close();
    }
  });
});
