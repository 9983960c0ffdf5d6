/** Handlers for models and training runs: wiring to the training service. */
import type { Handlers } from './dispatch.js';
import type { TrainingService } from '../jobs/training-service.js';
import { runDefaults } from '../training/runs/run-config.js';

type TrainingCommand =
  | 'models.list'
  | 'models.import'
  | 'runs.start'
  | 'runs.list'
  | 'runs.get'
  | 'runs.pause'
  | 'runs.resume'
  | 'runs.cancel'
  | 'runs.rerun'
  | 'runs.defaults';

export function trainingHandlers(training: TrainingService): Pick<Handlers, TrainingCommand> {
  return {
    'models.list': () => training.models(),
    'models.import': ({ folder, name }) => training.importModel(folder, name),
    'runs.start': ({ config }) => training.start(config),
    'runs.list': () => training.list(),
    'runs.get': ({ id }) => training.get(id),
    'runs.pause': ({ id }) => training.pause(id),
    'runs.resume': ({ id }) => training.resume(id),
    'runs.cancel': ({ id }) => training.cancel(id),
    'runs.rerun': ({ id }) => training.rerun(id),
    'runs.defaults': () => runDefaults(),
  };
}
