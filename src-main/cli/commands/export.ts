/**
 * `tessera export onnx|safetensors DIR --run R -o OUT`: a completed run's kept (best) model as ONNX graphs
 * (onnxruntime and every current runtime) or as timm's config.json + model.safetensors with the aggregator
 * beside it (PyTorch and timm).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ApiError } from '../../contract/errors.js';
import { SlideModel } from '../../engine/index.js';
import { exportOnnx } from '../../onnx/index.js';
import { exportTimmFolder, type ExportTask } from '../../onnx/timm-export.js';
import { selectJob } from '../../project/jobs-repo.js';
import { selectRun } from '../../project/runs-repo.js';
import { ONNX_PLACEHOLDER_ARCHITECTURE } from '../../training/models/onnx-model-import.js';
import { bestDir } from '../../training/runs/job/checkpoints.js';
import { appVersion } from '../../version.js';
import { parseIntegerOption } from '../errors.js';
import { checkOutputFolder, folderOutputCommands } from '../file-checks.js';
import { openProjectForReading } from '../read-only-project.js';
import type { CliIo } from '../index.js';

interface RunModel {
  dir: string;
  tasks: ExportTask[];
  runName: string;
}

async function runModel(projectDir: string, runId: number): Promise<RunModel> {
  const project = await openProjectForReading(projectDir);
  try {
    const run = selectRun(project.db, runId);
    if (!run) throw new ApiError('not-found', `There is no run ${runId} in ${project.dir}.`);
    if (run.state !== 'completed')
      throw new ApiError(
        'conflict',
        `Run ${runId} is ${run.state}; only a completed run's model can be exported.`,
      );
    const dir = bestDir(path.join(project.dir, run.workDir));
    if (!dir) throw new ApiError('not-found', `Run ${runId} kept no model (its best/ folder is missing).`);
    const params = JSON.parse(selectJob(project.db, run.jobId)?.params ?? '{}') as {
      plan?: { tasks?: ExportTask[] };
    };
    return { dir, tasks: params.plan?.tasks ?? [], runName: run.name };
  } finally {
    project.close();
  }
}

async function withRunModel<T>(dir: string, run: string, fn: (m: SlideModel, r: RunModel) => T): Promise<T> {
  const r = await runModel(dir, parseIntegerOption('--run', run, 1));
  const model = await SlideModel.loadCheckpoint(r.dir);
  try {
    if (model.spec.architecture === ONNX_PLACEHOLDER_ARCHITECTURE)
      throw new ApiError(
        'bad-input',
        `Run ${run} trained only an aggregator, on an imported ONNX encoder; there is no engine encoder to export (the encoder is the imported model.onnx).`,
      );
    return fn(model, r);
  } finally {
    model.dispose();
  }
}

function metadataFor(runId: string, r: RunModel): Record<string, string> {
  return {
    'tessera.run': runId,
    'tessera.run_name': r.runName,
    'tessera.classes': JSON.stringify(Object.fromEntries(r.tasks.map((t) => [t.name, t.values]))),
  };
}

export function register(program: Command, io: CliIo): void {
  const exp = program.command('export').description("export a run's trained model for other tools");
  exp
    .command('onnx')
    .description(
      'write the model as ONNX (opset 17): OUT (a whole slide in one call), OUT.encoder.onnx and OUT.aggregator.onnx',
    )
    .argument('<dir>', 'project folder')
    .requiredOption('--run <id>', 'the completed run whose kept model to export')
    .requiredOption('-o, --output <file>', 'the .onnx file to write')
    .action(async (dir: string, opts: { run: string; output: string }) => {
      const files = await withRunModel(dir, opts.run, (model, r) =>
        exportOnnx(model, path.resolve(opts.output), {
          producerVersion: appVersion(),
          metadata: metadataFor(opts.run, r),
        }),
      );
      io.out(files.map((f) => `Wrote ${f} (${(fs.statSync(f).size / 1e6).toFixed(1)} MB)\n`).join(''));
    });
  const safetensors = exp
    .command('safetensors')
    .description(
      "write timm's config.json + model.safetensors (the encoder) and aggregator.safetensors + aggregator.json into a folder",
    )
    .argument('<dir>', 'project folder')
    .requiredOption('--run <id>', 'the completed run whose kept model to export')
    .requiredOption('-o, --output <folder>', 'the folder to write (an earlier export there is replaced)')
    .action(async (dir: string, opts: { run: string; output: string }) => {
      checkOutputFolder(opts.output, (f) => fs.existsSync(path.join(f, 'aggregator.json')));
      const files = await withRunModel(dir, opts.run, (model, r) => {
        const config = JSON.parse(fs.readFileSync(path.join(r.dir, 'config.json'), 'utf8')) as Record<
          string,
          unknown
        >;
        return exportTimmFolder(model, config, r.tasks, path.resolve(opts.output), metadataFor(opts.run, r));
      });
      io.out(files.map((f) => `Wrote ${f}\n`).join(''));
    });
  folderOutputCommands.add(safetensors);
}
