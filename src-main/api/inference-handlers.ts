/** Handlers for inference jobs, predictions (library columns, accepting them as labels) and heatmaps. */
import type { InferenceCommandResults, LabelSource } from '../contract/contract.js';
import type { AppSession } from '../app-state/session.js';
import type { InferenceService } from '../jobs/inference-service.js';
import { acceptPredictions } from '../project/predictions.js';
import { selectPredictionSources } from '../project/predictions-repo.js';
import { resolveSelection } from '../project/slide-selection.js';
import { selectTask, selectValuesOfTask } from '../project/tasks-repo.js';
import type { Heatmaps } from '../viewer-pixels/heatmaps.js';
import { ApiError } from '../contract/errors.js';
import type { Handlers } from './dispatch.js';
import { notifyLibrary } from './library-events.js';

export function inferenceHandlers(
  session: AppSession,
  inference: InferenceService,
  heatmaps: Heatmaps,
): Pick<Handlers, keyof InferenceCommandResults> {
  const db = () => session.requireProject().db;
  return {
    'inference.start': (input) => inference.start(input),
    'inference.list': () => inference.list(),
    'inference.pause': ({ jobId }) => inference.pause(jobId),
    'inference.resume': ({ jobId }) => inference.resume(jobId),
    'inference.cancel': ({ jobId }) => inference.cancel(jobId),
    'predictions.sources': () => {
      const d = db();
      const sources = selectPredictionSources(d).flatMap((s) => {
        const task = selectTask(d, s.taskId);
        if (!task) return [];
        return [{ ...s, taskName: task.name, values: selectValuesOfTask(d, s.taskId).map((v) => v.name) }];
      });
      return { sources };
    },
    'predictions.accept': ({ source, taskId, selection }) => {
      const d = db();
      const slideIds = resolveSelection(d, selection);
      const { edit, ...result } = acceptPredictions(
        d,
        source as LabelSource,
        taskId,
        slideIds,
        session.author,
      );
      session.edits.push(edit);
      if (edit)
        notifyLibrary(
          session,
          ['labels'],
          edit.changes.map((c) => c.slideId),
        );
      return { ...result, undo: session.edits.state() };
    },
    'heatmaps.list': ({ slideId }) => heatmaps.list(slideId),
    'heatmaps.get': ({ slideId, modelKey }) => heatmaps.get(slideId, modelKey),
    'heatmaps.overlayPng': async ({ slideId, modelKey, layer, colorMap }) => {
      const r = await heatmaps.serve(slideId, { modelKey, layer, colorMap }, null);
      if (r.status !== 200) throw new ApiError('not-found', r.message);
      return { pngBase64: Buffer.from(r.bytes).toString('base64') };
    },
    'heatmaps.geojson': ({ slideId, modelKey, layer, threshold }) =>
      heatmaps.geojson(slideId, modelKey, layer, threshold),
  };
}
