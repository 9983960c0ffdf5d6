/** `tessera models import|list`: encoder models a run can start from (built-in sizes and imported folders). */
import type { Command } from 'commander';
import type { ModelInfo } from '../../contract/contract.js';
import { openProject } from '../../project/project.js';
import { importModel, listModels } from '../../training/models/model-import.js';
import { openProjectForReading } from '../read-only-project.js';
import type { CliIo } from '../index.js';

export function register(program: Command, io: CliIo): void {
  const models = program.command('models').description('encoder models for training runs');
  models
    .command('import')
    .description(
      "check a model folder (timm's config.json + model.safetensors) and copy it into the project's models/",
    )
    .argument('<dir>', 'project folder')
    .argument('<folder>', 'the model folder')
    .option('--name <name>', 'name in the project (default: the folder name)')
    .option('--json', 'print the imported model as JSON')
    .action(async (dir: string, folder: string, opts: { name?: string; json?: boolean }) => {
      const project = await openProject(dir);
      let model: ModelInfo;
      try {
        model = await importModel(project, folder, opts.name);
      } finally {
        project.close();
      }
      io.out(
        opts.json
          ? JSON.stringify(model, null, 2) + '\n'
          : `Imported ${model.name}: ${model.architecture}, ${model.parameters.toLocaleString('en-US')} parameters, ` +
              `${model.inputSize} px patches, ${model.outputDim}-wide embeddings (${model.folder}).\n`,
      );
    });
  models
    .command('list')
    .description('list the built-in model sizes and the models imported into the project')
    .argument('<dir>', 'project folder')
    .option('--json', 'print JSON')
    .action(async (dir: string, opts: { json?: boolean }) => {
      const project = await openProjectForReading(dir);
      let list: ModelInfo[];
      try {
        list = listModels(project);
      } finally {
        project.close();
      }
      if (opts.json) {
        io.out(JSON.stringify({ models: list }, null, 2) + '\n');
        return;
      }
      const rows = list.map((m) => [
        m.name,
        m.architecture,
        m.parameters.toLocaleString('en-US'),
        `${m.inputSize}px`,
        String(m.outputDim),
        m.description,
      ]);
      const header = ['name', 'architecture', 'parameters', 'input', 'dim', 'about'];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      const line = (r: string[]) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd() + '\n';
      io.out(line(header) + rows.map(line).join(''));
    });
}
