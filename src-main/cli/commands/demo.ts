/**
 * `tessera demo create DIR`: a ready-made project of synthetic slides (training/demo/cohort.ts) to try
 * training on without data of one's own.
 */
import type { Command } from 'commander';
import { createDemoCohort } from '../../training/demo/cohort.js';
import { parseIntegerOption, UsageError } from '../errors.js';
import type { CliIo } from '../index.js';

interface CreateOptions {
  slides: string;
  seed: string;
  labelNoise: string;
  json?: boolean;
}

export function register(program: Command, io: CliIo): void {
  const demo = program.command('demo').description('the demo cohort');
  demo
    .command('create')
    .description(
      'create project DIR with synthetic pyramidal slides (two per patient), a labels CSV (patient,slide,atypia) and the slides imported',
    )
    .argument('<dir>', 'project folder to create')
    .option('--slides <n>', 'number of slides (even)', '96')
    .option('--seed <s>', 'random seed (the same seed makes the same cohort)', '1')
    .option('--label-noise <fraction>', 'share of patients whose CSV label is flipped', '0')
    .option('--json', 'print the summary as JSON')
    .action(async (dir: string, opts: CreateOptions) => {
      const slides = parseIntegerOption('--slides', opts.slides, 4, 10_000);
      if (slides % 2 !== 0)
        throw new UsageError(`--slides must be even (two slides per patient), got ${slides}.`);
      const seed = parseIntegerOption('--seed', opts.seed, 0, 2 ** 32 - 1);
      const labelNoise = Number(opts.labelNoise);
      if (!(labelNoise >= 0 && labelNoise <= 0.5)) {
        throw new UsageError(`--label-noise must be a fraction between 0 and 0.5, got "${opts.labelNoise}".`);
      }
      const started = Date.now();
      const cohort = await createDemoCohort(dir, {
        slides,
        seed,
        labelNoise,
        onProgress: (p) => {
          if (!opts.json) io.err(`[${p.done}/${p.total}] painted ${p.file}\n`);
        },
      });
      const positives = cohort.slides.filter((s) => s.positive).length;
      if (opts.json) {
        io.out(
          JSON.stringify(
            {
              dir: cohort.dir,
              slidesDir: cohort.slidesDir,
              labelsCsv: cohort.labelsCsv,
              task: cohort.task,
              slides: cohort.slides.length,
              positive: positives,
              imported: cohort.import.imported,
              labelled: cohort.labelled,
              seconds: (Date.now() - started) / 1000,
            },
            null,
            2,
          ) + '\n',
        );
        return;
      }
      io.out(
        `Created the demo project ${cohort.dir}: ${cohort.slides.length} slides of ${cohort.slides.length / 2} patients ` +
          `(${positives} slides positive for "${cohort.task}"), imported in ${((Date.now() - started) / 1000).toFixed(1)} s.\n` +
          `Labels: ${cohort.labelsCsv}` +
          (cohort.labelled ? ' (imported, with a split).\n' : ' (not yet imported into the project).\n'),
      );
    });
}
