/**
 * Models: the built-in sizes (parameter counts as the engine builds them) and importing a model folder into
 * a project: checked (architecture, tensors missing or unexpected, shapes) before anything is copied, listed
 * after, refused with one sentence and nothing changed when it is wrong.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EncoderModel, readSafetensors, writeSafetensors } from '../../../src-main/engine/index.js';
import { createProject } from '../../../src-main/project/project.js';
import { builtinSpec, encoderParameterCount } from '../../../src-main/training/models/builtin.js';
import { importModel, listModels } from '../../../src-main/training/models/model-import.js';
import { cli } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/temp.js';
import { tinyVit } from '../engine/helpers.js';

/** A copy of the tiny ViT fixture folder with its tensors changed by `edit`. */
function modelFolder(edit?: (names: string[]) => { drop?: string[]; add?: string[] }): string {
  const dir = path.join(tempDir(), 'model');
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(tinyVit, 'config.json'), path.join(dir, 'config.json'));
  const src = path.join(tinyVit, 'model.safetensors');
  if (!edit) fs.copyFileSync(src, path.join(dir, 'model.safetensors'));
  else {
    const all = readSafetensors(src, true).tensors;
    const { drop = [], add = [] } = edit(all.map((t) => t.name));
    const kept = all
      .filter((t) => !drop.includes(t.name))
      .map((t) => ({ name: t.name, shape: t.shape, data: t.data! }));
    for (const name of add) kept.push({ name, shape: [4], data: new Float32Array(4) });
    writeSafetensors(path.join(dir, 'model.safetensors'), kept);
  }
  return dir;
}

describe('built-in models', () => {
  it.each(['micro', 'tiny'] as const)('%s: the parameter count is what the engine allocates', (size) => {
    const spec = builtinSpec(size);
    const model = EncoderModel.create(spec);
    expect(encoderParameterCount(spec)).toBe(model.numParams);
    model.dispose();
  });
});

describe('model import', () => {
  it('imports a timm folder: checked, copied into models/, listed with its architecture and size', async () => {
    const project = await createProject(path.join(tempDir(), 'p'));
    const folder = modelFolder();
    const info = await importModel(project, folder, 'tiny-path');
    const reference = await EncoderModel.open(
      path.join(folder, 'config.json'),
      path.join(folder, 'model.safetensors'),
    );
    expect(info).toMatchObject({
      name: 'tiny-path',
      kind: 'imported',
      architecture: 'vit_small_patch16_224',
      parameters: reference.numParams,
      inputSize: 32,
      outputDim: 32,
      folder: path.join('models', 'imported', 'tiny-path'),
    });
    reference.dispose();
    const copied = path.join(project.dir, info.folder!, 'model.safetensors');
    expect(fs.readFileSync(copied)).toEqual(fs.readFileSync(path.join(folder, 'model.safetensors')));
    const sha = createHash('sha256').update(fs.readFileSync(copied)).digest('hex');
    expect((project.db.prepare('SELECT weights_sha256 AS s FROM models').get() as { s: string }).s).toBe(sha);
    expect(listModels(project).map((m) => m.name)).toEqual([
      'builtin:micro',
      'builtin:tiny',
      'builtin:small',
      'builtin:base',
      'tiny-path',
    ]);
    await expect(importModel(project, folder, 'tiny-path')).rejects.toThrow(
      /already has a model named tiny-path/,
    );
    project.close();
  });

  it('names missing and unexpected tensors and changes nothing; a classifier head is ignored', async () => {
    const project = await createProject(path.join(tempDir(), 'p'));
    const missing = modelFolder((names) => ({ drop: names.filter((n) => n.startsWith('blocks.1.')) }));
    await expect(importModel(project, missing, 'm')).rejects.toThrow(
      /model\.safetensors lacks \d+ of the \d+ tensors vit_small_patch16_224 \(\d[\d,]* parameters\) needs: blocks\.1\./,
    );
    const extra = modelFolder(() => ({ add: ['blocks.7.attn.qkv.weight'] }));
    await expect(importModel(project, extra, 'm')).rejects.toThrow(
      /holds 1 tensors vit_small_patch16_224 .* does not have \(blocks\.7\.attn\.qkv\.weight\)/,
    );
    expect(fs.readdirSync(path.join(project.dir, 'models'))).toEqual([]);
    expect(listModels(project).filter((m) => m.kind === 'imported')).toEqual([]);

    // The fixture carries timm's classifier head: ignored (said), not refused.
    const info = await importModel(project, modelFolder(), 'headed');
    expect(info.description).toMatch(/ignored head\.weight, head\.bias/);
    const headless = modelFolder((names) => ({ drop: names.filter((n) => n.startsWith('head.')) }));
    expect((await importModel(project, headless, 'headless')).description).toBe('imported');
    project.close();
  });

  it('refuses a folder without config.json, a bad name, and a config the engine cannot build', async () => {
    const project = await createProject(path.join(tempDir(), 'p'));
    const folder = modelFolder();
    fs.rmSync(path.join(folder, 'config.json'));
    await expect(importModel(project, folder)).rejects.toThrow(/has no config\.json/);
    await expect(importModel(project, modelFolder(), '../evil')).rejects.toThrow(/cannot name a model/);
    const bad = modelFolder();
    fs.writeFileSync(path.join(bad, 'config.json'), JSON.stringify({ architecture: 'resnet50' }));
    await expect(importModel(project, bad)).rejects.toThrow(/resnet50/);
    project.close();
  });

  it('tessera models import and models list [--json]', async () => {
    const dir = path.join(tempDir(), 'p');
    (await createProject(dir)).close();
    const folder = modelFolder();
    const imported = await cli('models', 'import', dir, folder, '--name', 'uni-test');
    expect(imported.code).toBe(0);
    expect(imported.out).toMatch(
      /^Imported uni-test: vit_small_patch16_224, [\d,]+ parameters, 32 px patches/,
    );
    const listed = await cli('models', 'list', dir, '--json');
    const names = (JSON.parse(listed.out) as { models: { name: string }[] }).models.map((m) => m.name);
    expect(names).toContain('uni-test');
    const table = await cli('models', 'list', dir);
    expect(table.out).toMatch(/^name\s+architecture\s+parameters/);
    expect(table.out).toMatch(/builtin:micro\s+vit_micro_patch8_32/);
    const missing = modelFolder((n) => ({ drop: n.filter((x) => x.startsWith('norm.')) }));
    const refused = await cli('models', 'import', dir, missing, '--name', 'broken');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(
      /^tessera: .*lacks 2 of the \d+ tensors .* needs: norm\.(weight|bias), norm\.(weight|bias)\.\n$/,
    );
  });
});
