/**
 * Export of a model trained for real: a small demo cohort, `tessera train` (a few epochs of the built-in micro
 * ViT, end to end), then `tessera export onnx` (the three graphs run in onnxruntime-node with the engine's
 * outputs within relative L2 1e-4, and pass ONNX's checker) and `tessera export safetensors` (timm's names;
 * scripts/check-timm-export.py loads the encoder into a PyTorch ViT and matches the engine's embeddings).
 * Bad input: an unknown run, a folder that holds other files. Then an ONNX patch encoder (a torch-exported CNN,
 * test/fixtures/onnx/make_cnn.py) imported with `tessera models import` and trained on frozen: its features in
 * the embedding cache, the aggregator trained on them; refused end to end, without a normalisation, or when
 * the file is not a model, each with one sentence and nothing listed.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlideModel, decodeNpy, encodeNpy, readSafetensors } from '../../../src-main/engine/index.js';
import { openProject } from '../../../src-main/project/project.js';
import { selectRun } from '../../../src-main/project/runs-repo.js';
import { createDemoCohort } from '../../../src-main/training/demo/cohort.js';
import { cli } from '../../helpers/cli.js';
import { pythonModule } from '../../helpers/prerequisites.js';
import { repoRoot, tempDir } from '../../helpers/temp.js';
import { onnxCheck } from '../../helpers/onnx.js';
import { patches, relL2 } from '../../unit/engine/helpers.js';

let dir: string;
let runId: number;
let bestDir: string;

beforeAll(async () => {
  dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-export-')), 'demo');
  await createDemoCohort(dir, { slides: 20, seed: 5, scale: 0.4, workers: 2 });
  const res = await cli(
    'train',
    dir,
    '--split',
    'demo',
    '--epochs',
    '2',
    '--patches-per-slide',
    '8',
    '--seed',
    '3',
    '--json',
  );
  expect(res.code, res.err).toBe(0);
  runId = (JSON.parse(res.out) as { runId: number }).runId;
  const project = await openProject(dir, { readOnly: true });
  bestDir = path.join(dir, selectRun(project.db, runId)!.workDir, 'best');
  project.close();
}, 300_000);
afterAll(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

async function outputs(
  file: string,
  feeds: Record<string, ort.Tensor>,
): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 2 });
  try {
    const out = await session.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await session.release();
  }
}

describe('tessera export', () => {
  it("onnx: the trained run's model runs in onnxruntime-node with the engine's outputs and passes ONNX's checker", async (ctx) => {
    const out = tempDir();
    const res = await cli('export', 'onnx', dir, '--run', String(runId), '-o', path.join(out, 'demo.onnx'));
    expect(res.code, res.err).toBe(0);
    expect(res.out).toMatch(/Wrote .*demo\.onnx .*\n.*demo\.encoder\.onnx.*\n.*demo\.aggregator\.onnx/);
    const model = await SlideModel.loadCheckpoint(bestDir);
    try {
      const S = model.spec.inputSize;
      const n = 23;
      const px = patches(n, S, 7);
      const embeddings = await model.embed(px, n);
      const prediction = await model.predictSlide(px, n);
      const slide = await outputs(path.join(out, 'demo.onnx'), {
        patches: new ort.Tensor('uint8', px, [n, S, S, 3]),
      });
      expect(relL2(slide.embeddings!, embeddings)).toBeLessThan(1e-4);
      expect(relL2(slide.attention!, prediction.attention)).toBeLessThan(1e-4);
      const tasks = Object.entries(prediction.probabilities);
      expect(tasks.length).toBeGreaterThan(0);
      for (const [task, p] of tasks)
        expect(relL2(slide[`probabilities.${task}`]!, p), task).toBeLessThan(1e-4);
      const encoded = await outputs(path.join(out, 'demo.encoder.onnx'), {
        pixels: new ort.Tensor('uint8', px.subarray(0, 5 * S * S * 3), [5, S, S, 3]),
      });
      expect(relL2(encoded.embeddings!, embeddings.subarray(0, 5 * model.outputDim))).toBeLessThan(1e-4);
    } finally {
      model.dispose();
    }
    if (!pythonModule('onnx', 'python3-onnx')) return ctx.skip('needs python3-onnx for ONNX checker');
    for (const f of ['demo.onnx', 'demo.encoder.onnx', 'demo.aggregator.onnx'])
      expect(onnxCheck(path.join(out, f)), f).toBeNull();
  }, 120_000);

  it("safetensors: timm's config.json and names for the encoder, the aggregator beside it; PyTorch embeds alike", async (ctx) => {
    const folder = path.join(tempDir(), 'timm');
    const res = await cli('export', 'safetensors', dir, '--run', String(runId), '-o', folder);
    expect(res.code, res.err).toBe(0);
    expect(fs.readdirSync(folder).sort()).toEqual([
      'aggregator.json',
      'aggregator.safetensors',
      'config.json',
      'model.safetensors',
    ]);
    const config = JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(config.tessera).toBeUndefined();
    expect(config.model_args).toBeTruthy();
    const model = await SlideModel.loadCheckpoint(bestDir);
    try {
      const info = model.parameterInfo();
      const names = (group: string) =>
        info
          .filter((p) => p.group === group)
          .map((p) => p.name)
          .sort();
      const file = (f: string) =>
        readSafetensors(path.join(folder, f))
          .tensors.map((t) => t.name)
          .sort();
      expect(file('model.safetensors')).toEqual(names('encoder'));
      expect(file('aggregator.safetensors')).toEqual(names('aggregator'));
      const about = JSON.parse(fs.readFileSync(path.join(folder, 'aggregator.json'), 'utf8')) as {
        tasks: { name: string; values: string[] }[];
      };
      expect(about.tasks.map((t) => t.name)).toEqual(model.tasks.map((t) => t.name));
      expect(about.tasks[0]!.values.length).toBeGreaterThanOrEqual(2);

      // A second export into the same folder replaces it; a folder holding other files is refused.
      expect((await cli('export', 'safetensors', dir, '--run', String(runId), '-o', folder)).code).toBe(0);
      const other = tempDir();
      fs.writeFileSync(path.join(other, 'notes.txt'), 'mine');
      const refused = await cli('export', 'safetensors', dir, '--run', String(runId), '-o', other);
      expect(refused.code).toBe(2);
      expect(refused.err).toContain('already holds other files');
      expect(fs.readdirSync(other)).toEqual(['notes.txt']);

      if (!pythonModule('torch', 'python3-torch'))
        return ctx.skip('needs python3-torch to load the export in PyTorch');
      const S = model.spec.inputSize;
      const n = 6;
      const px = patches(n, S, 11);
      const work = tempDir();
      fs.writeFileSync(path.join(work, 'pixels.npy'), encodeNpy(Float32Array.from(px), [n, S, S, 3]));
      fs.writeFileSync(
        path.join(work, 'embeddings.npy'),
        encodeNpy(await model.embed(px, n), [n, model.outputDim]),
      );
      const check = spawnSync(
        '/usr/bin/python3',
        [
          path.join(repoRoot, 'scripts', 'check-timm-export.py'),
          folder,
          path.join(work, 'pixels.npy'),
          path.join(work, 'embeddings.npy'),
        ],
        { encoding: 'utf8', timeout: 120_000 },
      );
      expect(check.status, check.stderr + check.stdout).toBe(0);
      expect((JSON.parse(check.stdout) as { relL2: number }).relL2).toBeLessThan(1e-4);
    } finally {
      model.dispose();
    }
  }, 120_000);

  it('refuses an unknown run with one sentence and writes nothing', async () => {
    const out = tempDir();
    const res = await cli('export', 'onnx', dir, '--run', '99', '-o', path.join(out, 'x.onnx'));
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/There is no run 99 in /);
    expect(fs.readdirSync(out)).toEqual([]);
  });
});

describe('ONNX encoder in frozen training', () => {
  const cnn = path.join(repoRoot, 'test', 'fixtures', 'onnx', 'cnn.onnx');
  const IMAGENET = ['--mean', '0.485,0.456,0.406', '--std', '0.229,0.224,0.225'];

  it('imports a torch-exported CNN and trains the aggregator on its features', async () => {
    const res = await cli('models', 'import', dir, cnn, '--name', 'tiny-resnet', ...IMAGENET, '--json');
    expect(res.code, res.err).toBe(0);
    const info = JSON.parse(res.out) as {
      architecture: string;
      inputSize: number;
      outputDim: number;
      description: string;
    };
    expect(info).toMatchObject({ architecture: 'onnx:cnn', inputSize: 32, outputDim: 16 });
    expect(info.description).toContain('ONNX');
    expect(fs.readdirSync(path.join(dir, 'models', 'imported', 'tiny-resnet')).sort()).toEqual([
      'encoder.json',
      'model.onnx',
    ]);

    const e2e = await cli(
      'train',
      dir,
      '--split',
      'demo',
      '--model',
      'tiny-resnet',
      '--epochs',
      '1',
      '--json',
    );
    expect(e2e.code).toBe(1);
    expect(e2e.err).toContain(
      'Model tiny-resnet is an ONNX encoder, which the engine cannot train through; use it frozen (--mode frozen).',
    );

    const cache = path.join(dir, 'cache', 'embeddings');
    const before = new Set(fs.existsSync(cache) ? fs.readdirSync(cache) : []);
    const run = await cli(
      'train',
      dir,
      '--split',
      'demo',
      '--mode',
      'frozen',
      '--model',
      'tiny-resnet',
      '--epochs',
      '2',
      '--seed',
      '3',
      '--json',
    );
    expect(run.code, run.err).toBe(0);
    const out = JSON.parse(run.out) as { metrics: Record<string, { slides: number }> };
    expect(Object.values(out.metrics)[0]!.slides).toBeGreaterThan(0);
    const frozenRun = (JSON.parse(run.out) as { runId: number }).runId;
    const exported = await cli(
      'export',
      'onnx',
      dir,
      '--run',
      String(frozenRun),
      '-o',
      path.join(tempDir(), 'x.onnx'),
    );
    expect(exported.code).toBe(1);
    expect(exported.err).toContain('trained only an aggregator, on an imported ONNX encoder');
    const made = fs.readdirSync(cache).filter((f) => !before.has(f));
    expect(made.length).toBe(20);
    for (const f of made.slice(0, 3)) {
      const { shape } = decodeNpy(fs.readFileSync(path.join(cache, f)));
      expect(shape[1]).toBe(16);
    }

    // The run applied to slides embeds through the same ONNX encoder again (its checkpoint's encoder is only
    // a placeholder): `tessera predict` gives the run's own test probabilities.
    const project = await openProject(dir, { readOnly: true });
    const tested = project.db
      .prepare(
        'SELECT slide_id AS slideId, probabilities FROM run_predictions WHERE run_id = ? ORDER BY slide_id',
      )
      .all(frozenRun) as { slideId: number; probabilities: string }[];
    project.close();
    const ids = tested.slice(0, 2).map((t) => t.slideId);
    const predicted = await cli(
      'predict',
      dir,
      '--run',
      String(frozenRun),
      '--slides',
      ids.join(','),
      '--json',
    );
    expect(predicted.code, predicted.err).toBe(0);
    const lines = predicted.out
      .trim()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { slideId: number; probabilities: Record<string, Record<string, number>> },
      );
    expect(lines.map((l) => l.slideId)).toEqual(ids);
    for (const line of lines) {
      const own = JSON.parse(tested.find((t) => t.slideId === line.slideId)!.probabilities) as Record<
        string,
        number
      >;
      const got = Object.values(line.probabilities)[0]!;
      for (const [value, prob] of Object.entries(own)) expect(got[value]).toBeCloseTo(prob, 4);
    }
  }, 180_000);

  it('refuses a file that is not a model and one without its normalisation, listing nothing', async () => {
    const work = tempDir();
    const text = path.join(work, 'notes.onnx');
    fs.writeFileSync(text, 'not a model');
    const bad = await cli('models', 'import', dir, text, ...IMAGENET);
    expect(bad.code).toBe(1);
    expect(bad.err).toBe(`tessera: ${text} is not an ONNX model: it cannot be read as an ONNX ModelProto.\n`);
    const bare = await cli('models', 'import', dir, cnn, '--name', 'bare');
    expect(bare.code).toBe(1);
    expect(bare.err).toContain('does not say how its input is normalised');
    const list = JSON.parse((await cli('models', 'list', dir, '--json')).out) as {
      models: { name: string }[];
    };
    expect(list.models.map((m) => m.name)).not.toContain('bare');
    expect(list.models.map((m) => m.name)).not.toContain('notes');
    expect(fs.existsSync(path.join(dir, 'models', 'imported', 'bare'))).toBe(false);
  });
});
