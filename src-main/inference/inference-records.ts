/**
 * The supervisor's side of an inference job: the module the job process runs, and how what it sends is
 * stored: each predicted slide's probabilities become predictions (one per task, source `model:<run>`),
 * written in one transaction per slide, so a slide is stored whole or not at all.
 */
import { fileURLToPath } from 'node:url';
import type { Db } from '../db/connection.js';
import { upsertPrediction } from '../project/predictions-repo.js';
import { slideExists } from '../project/slides-repo.js';
import { selectTask } from '../project/tasks-repo.js';
import type { InferenceParams, InferenceRecord } from './job/inference-job.js';

export function inferenceJobModule(): string {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return fileURLToPath(new URL(`./job/inference-job${ext}`, import.meta.url));
}

/** The job kind "inference" as the job runner takes it (structurally its JobKind). */
export const inferenceJobKind = {
  module: inferenceJobModule(),
  onRecord(db: Db, job: { id: number; params: string }, record: unknown): void {
    const r = record as InferenceRecord;
    if (r.type !== 'slide') return;
    const { model } = JSON.parse(job.params) as InferenceParams;
    // A slide or task removed while the job ran has nothing to hold its prediction: it is left out.
    if (!slideExists(db, r.slideId)) return;
    db.transaction(() => {
      model.tasks.forEach((task, i) => {
        if (!selectTask(db, task.taskId)) return;
        const probabilities = r.probabilities[i]!;
        let best = 0;
        for (let c = 1; c < probabilities.length; c++) if (probabilities[c]! > probabilities[best]!) best = c;
        upsertPrediction(db, {
          slideId: r.slideId,
          taskId: task.taskId,
          source: model.source,
          runId: model.runId,
          jobId: job.id,
          modelKey: model.key,
          probabilities,
          value: task.values[best]!,
        });
      });
    })();
  },
};
