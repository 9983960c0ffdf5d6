import path from 'node:path';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EncoderModel, SlideModel } from '../../../src-main/engine/model.js';
import { readSafetensors } from '../../../src-main/engine/safetensors.js';
import type { SlidePatches, TrainOptions } from '../../../src-main/engine/types.js';
import { tempDir } from '../../helpers/temp.js';
import { patches, smallSpec } from './helpers.js';

const AGG = {
  hiddenDim: 8,
  dropout: 0.25, // dropout masks must also continue identically after a resume
  tasks: [
    { name: 'msi', kind: 'binary' as const },
    { name: 'subtype', kind: 'categorical' as const, numClasses: 3, lossWeight: 0.5 },
  ],
};
const SPEC = smallSpec({ regTokens: 1, initValues: 0.1 });
const OPTIONS: TrainOptions = {
  chunkSize: 2,
  lrEncoder: 1e-3,
  lrAggregator: 5e-3,
  warmupSteps: 2,
  totalSteps: 6,
  clipNorm: 1,
  seed: 11,
};

function batch(i: number): SlidePatches[] {
  return [
    { pixels: patches(3, 16, 100 + i), numPatches: 3, labels: [i % 2, i % 3] },
    { pixels: patches(5, 16, 200 + i), numPatches: 5, labels: [(i + 1) % 2, -1] },
  ];
}

async function train(model: SlideModel, from: number, to: number, options: TrainOptions): Promise<number[]> {
  const losses: number[] = [];
  for (let i = from; i < to; i++) losses.push((await model.trainStepEndToEnd(batch(i), options)).loss);
  return losses;
}

function allParams(model: SlideModel): Map<string, number[]> {
  return new Map(model.parameterInfo().map((p) => [p.name, Array.from(model.getParameter(p.name))]));
}

describe('checkpoints', () => {
  for (const accumulationSteps of [1, 2]) {
    it(`resuming gives exactly the losses and parameters of an uninterrupted run (accumulation ${accumulationSteps})`, async () => {
      const options = { ...OPTIONS, accumulationSteps };
      const straight = SlideModel.create(SPEC, AGG, 7);
      const resumedFrom = SlideModel.create(SPEC, AGG, 7);
      const dir = path.join(tempDir(), 'ckpt');
      try {
        const expected = await train(straight, 0, 5, options);
        // Stop after 3 train-step calls: with accumulation 2 that is mid-accumulation (gradients pending).
        const first = await train(resumedFrom, 0, 3, options);
        expect(first).toEqual(expected.slice(0, 3));
        await resumedFrom.saveCheckpoint(dir);
        resumedFrom.dispose();

        const resumed = await SlideModel.loadCheckpoint(dir);
        try {
          expect(resumed.step).toBe(accumulationSteps === 1 ? 3 : 1);
          expect(resumed.tasks.map((t) => t.name)).toEqual(['msi', 'subtype']);
          const rest = await train(resumed, 3, 5, options);
          expect(rest).toEqual(expected.slice(3)); // bit for bit
          expect(allParams(resumed)).toEqual(allParams(straight));
        } finally {
          resumed.dispose();
        }
      } finally {
        straight.dispose();
      }
    });
  }

  it('the folder is a Hub-style model: config.json + timm-named model.safetensors load as an encoder', async () => {
    const model = SlideModel.create(SPEC, AGG, 9);
    const dir = path.join(tempDir(), 'ckpt');
    try {
      await train(model, 0, 1, OPTIONS);
      await model.saveCheckpoint(dir);
      expect(fs.readdirSync(dir).sort()).toEqual([
        'config.json',
        'model.safetensors',
        'optimizer.safetensors',
      ]);
      const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      expect(config).toMatchObject({ architecture: 'test', model_args: { embed_dim: 16, reg_tokens: 1 } });
      const names = readSafetensors(path.join(dir, 'model.safetensors')).tensors.map((t) => t.name);
      expect(names).toContain('blocks.0.attn.qkv.weight');
      expect(names).toContain('heads.subtype.weight');
      const opt = readSafetensors(path.join(dir, 'optimizer.safetensors'));
      expect(opt.metadata.step).toBe('1');
      expect(opt.tensors.map((t) => t.name)).toContain('exp_avg_sq.aggregator.attention_a.weight');

      const encoder = await EncoderModel.open(
        path.join(dir, 'config.json'),
        path.join(dir, 'model.safetensors'),
      );
      try {
        const px = patches(4, 16, 5);
        expect(Array.from(await encoder.embed(px, 4))).toEqual(Array.from(await model.embed(px, 4)));
      } finally {
        encoder.dispose();
      }
    } finally {
      model.dispose();
    }
  });

  it('a damaged checkpoint is a clear error', async () => {
    const model = SlideModel.create(SPEC, AGG, 9);
    const dir = path.join(tempDir(), 'ckpt');
    try {
      await train(model, 0, 1, OPTIONS);
      await model.saveCheckpoint(dir);
    } finally {
      model.dispose();
    }
    const opt = path.join(dir, 'optimizer.safetensors');
    fs.truncateSync(opt, fs.statSync(opt).size - 8);
    await expect(SlideModel.loadCheckpoint(dir)).rejects.toMatchObject({
      code: 'ERR_BAD_WEIGHTS',
      message: expect.stringMatching(/optimizer.safetensors: the file is truncated/),
    });
    fs.rmSync(path.join(dir, 'config.json'));
    await expect(SlideModel.loadCheckpoint(dir)).rejects.toMatchObject({
      code: 'ERR_BAD_CONFIG',
      message: expect.stringMatching(/Cannot open .*config.json/),
    });
  });

  it('a pretrained encoder starts a new slide model with other tasks; its aggregator in the file is ignored', async () => {
    const model = SlideModel.create(SPEC, AGG, 9);
    const dir = path.join(tempDir(), 'ckpt');
    try {
      await train(model, 0, 1, OPTIONS);
      await model.saveCheckpoint(dir);
      const other = await SlideModel.fromPretrainedEncoder(
        path.join(dir, 'config.json'),
        path.join(dir, 'model.safetensors'),
        { tasks: [{ name: 'tmb', kind: 'binary' }] },
        1,
      );
      try {
        expect(other.tasks.map((t) => t.name)).toEqual(['tmb']);
        expect(other.step).toBe(0);
        expect(Array.from(other.getParameter('blocks.0.mlp.fc1.weight'))).toEqual(
          Array.from(model.getParameter('blocks.0.mlp.fc1.weight')),
        );
        // Loading the same file with the default scope insists the heads match this model.
        await expect(other.loadWeights(path.join(dir, 'model.safetensors'))).rejects.toMatchObject({
          code: 'ERR_BAD_WEIGHTS',
          message: expect.stringMatching(
            /unexpected tensors: heads.msi.weight, heads.msi.bias, heads.subtype/,
          ),
        });
      } finally {
        other.dispose();
      }
    } finally {
      model.dispose();
    }
  });
});
