import type { Command } from 'commander';
import type { CliIo } from '../index.js';
import { register as registerDemo } from './demo.js';
import { register as registerEngine } from './engine.js';
import { register as registerImport } from './import.js';
import { register as registerProject } from './project.js';
import { register as registerServe } from './serve.js';
import { register as registerSlides } from './slides.js';

/** Every subcommand group; each area adds its own `commands/<area>.ts` and one line here. */
export function registerAll(program: Command, io: CliIo): void {
  registerProject(program, io);
  registerServe(program, io);
  registerImport(program, io);
  registerSlides(program, io);
  registerEngine(program, io);
  registerDemo(program, io);
}
