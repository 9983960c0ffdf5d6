import type { Command } from 'commander';
import type { CliIo } from '../index.js';
import { register as registerAnnotations } from './annotations.js';
import { register as registerCohorts } from './cohorts.js';
import { register as registerDemo } from './demo.js';
import { register as registerDoctor } from './doctor.js';
import { register as registerEngine } from './engine.js';
import { register as registerExport } from './export.js';
import { register as registerImport } from './import.js';
import { register as registerLabels } from './labels.js';
import { register as registerModels } from './models.js';
import { register as registerPatients } from './patients.js';
import { register as registerPredict } from './predict.js';
import { register as registerProject } from './project.js';
import { register as registerServe } from './serve.js';
import { register as registerSlides } from './slides.js';
import { register as registerSplit } from './split.js';
import { register as registerTasks } from './tasks.js';
import { register as registerTrain } from './train.js';

/** Every subcommand group; each area adds its own `commands/<area>.ts` and one line here. */
export function registerAll(program: Command, io: CliIo): void {
  registerProject(program, io);
  registerServe(program, io);
  registerImport(program, io);
  registerSlides(program, io);
  registerPatients(program, io);
  registerTasks(program, io);
  registerLabels(program, io);
  registerCohorts(program, io);
  registerSplit(program, io);
  registerAnnotations(program, io);
  registerEngine(program, io);
  registerDemo(program, io);
  registerModels(program, io);
  registerTrain(program, io);
  registerDoctor(program, io);
  registerPredict(program, io);
  registerExport(program, io);
}
