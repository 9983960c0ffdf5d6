/**
 * A trained model as a folder PyTorch and timm read: the encoder as timm's `config.json` + `model.safetensors`
 * (timm's parameter names, F32, "format": "pt"), and the slide aggregator beside it as
 * `aggregator.safetensors` + `aggregator.json` (its width, the tasks in head order with their class names).
 * The folder is written as `<folder>.partial` and renamed in, so a failure leaves nothing half-written.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeSafetensors, type NamedTensor, type SlideModel } from '../engine/index.js';

export interface ExportTask {
  name: string;
  kind: 'binary' | 'categorical';
  /** Binary: [negative, positive]; categorical: the classes in head order. */
  values: string[];
}

/**
 * `checkpointConfig` is the checkpoint's config.json (timm's fields plus Tessera's own section, which is
 * left out here). Returns the files written.
 */
export function exportTimmFolder(
  model: SlideModel,
  checkpointConfig: Record<string, unknown>,
  tasks: ExportTask[],
  folder: string,
  metadata: Record<string, string> = {},
): string[] {
  const encoder: NamedTensor[] = [];
  const aggregator: NamedTensor[] = [];
  for (const p of model.parameterInfo()) {
    const t = { name: p.name, shape: p.shape, data: model.getParameter(p.name) };
    (p.group === 'encoder' ? encoder : aggregator).push(t);
  }
  const config: Record<string, unknown> = { ...checkpointConfig };
  const tessera = config.tessera as { aggregator?: { input_dim?: number; hidden_dim?: number } } | undefined;
  delete config.tessera;
  const partial = `${folder}.partial`;
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(partial, { recursive: true });
  try {
    fs.writeFileSync(path.join(partial, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    writeSafetensors(path.join(partial, 'model.safetensors'), encoder, { format: 'pt', ...metadata });
    writeSafetensors(path.join(partial, 'aggregator.safetensors'), aggregator, { format: 'pt', ...metadata });
    const about = {
      about:
        "Gated-attention MIL (Ilse et al. 2018) over the encoder's embeddings h (N, input_dim): a = tanh(attention_a(h)), " +
        'g = sigmoid(attention_b(h)), attention = softmax over patches of attention_c(a * g) (no bias), z = attention^T h, ' +
        'then one linear head per task on z: sigmoid for binary tasks (p of values[1]), softmax for categorical ones.',
      input_dim: tessera?.aggregator?.input_dim ?? model.outputDim,
      hidden_dim: tessera?.aggregator?.hidden_dim,
      tasks: model.tasks.map((t, i) => ({
        name: t.name,
        kind: t.kind,
        values: tasks.find((x) => x.name === t.name)?.values ?? tasks[i]?.values ?? [],
      })),
    };
    fs.writeFileSync(path.join(partial, 'aggregator.json'), JSON.stringify(about, null, 2) + '\n');
    fs.rmSync(folder, { recursive: true, force: true });
    fs.renameSync(partial, folder);
  } catch (err) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw err;
  }
  return ['config.json', 'model.safetensors', 'aggregator.safetensors', 'aggregator.json'].map((f) =>
    path.join(folder, f),
  );
}
