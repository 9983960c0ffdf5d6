/**
 * ONNX export against the native engine: each PyTorch fixture's model exported (slide, encoder and aggregator
 * graphs), run in onnxruntime-node, and its embeddings, attention and probabilities compared with the engine's
 * within relative L2 1e-4; the batch and patch dimensions stay dynamic (several sizes through one session);
 * every file passes ONNX's own checker (Debian's python3-onnx).
 */
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { EncoderModel, SlideModel, type EncoderSpec } from '../../../src-main/engine/index.js';
import { patches, smallSpec } from '../engine/helpers.js';
import { decodeModel, exportOnnx, ONNX_OPSET } from '../../../src-main/onnx/index.js';
import { onnxCheck } from '../../helpers/onnx.js';
import { pythonModule } from '../../helpers/prerequisites.js';
import { tempDir } from '../../helpers/temp.js';
import {
  aggregatorFromFixture,
  f32,
  fixtureDir,
  readFixture,
  relL2,
  specFromFixture,
  tensor,
} from '../engine-core/tsfx.js';

const TOL = 1e-4;
const variants = ['vit_plain', 'vit_reg_ls', 'vit_swiglu', 'vit_swiglu_split'];

function fixtureModel(variant: string): { model: SlideModel; pixels: Uint8Array; n: number } {
  const fx = readFixture(path.join(fixtureDir, `${variant}.bin`));
  const model = SlideModel.create(specFromFixture(fx), aggregatorFromFixture(fx), 0);
  for (const p of model.parameterInfo()) model.setParameter(p.name, f32(fx, 'param.' + p.name));
  const px = tensor(fx, 'input.slide0.pixels');
  return { model, pixels: px.data as Uint8Array, n: px.shape[0] ?? 0 };
}

async function runGraph(
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

function pixelsTensor(pixels: Uint8Array, n: number, size: number): ort.Tensor {
  return new ort.Tensor('uint8', pixels.subarray(0, n * size * size * 3), [n, size, size, 3]);
}

describe.each(variants)('ONNX export of %s', (variant) => {
  it('runs in onnxruntime-node with the engine outputs (relative L2 < 1e-4), batch and patch count dynamic', async () => {
    const { model, pixels, n } = fixtureModel(variant);
    const dir = tempDir();
    const files = exportOnnx(model, path.join(dir, 'model.onnx'), { producerVersion: 'test' });
    expect(files.map((f) => path.basename(f))).toEqual([
      'model.onnx',
      'model.encoder.onnx',
      'model.aggregator.onnx',
    ]);
    const size = model.spec.inputSize;
    try {
      for (const count of [n, Math.max(1, n - 1)]) {
        const px = pixels.subarray(0, count * size * size * 3);
        const embeddings = await model.embed(px, count);
        const prediction = await model.predictSlide(px, count);
        const slide = await runGraph(files[0]!, { patches: pixelsTensor(px, count, size) });
        expect(relL2(slide.embeddings!, embeddings)).toBeLessThan(TOL);
        expect(relL2(slide.attention!, prediction.attention)).toBeLessThan(TOL);
        for (const [task, p] of Object.entries(prediction.probabilities))
          expect(relL2(slide[`probabilities.${task}`]!, p), task).toBeLessThan(TOL);

        const encoded = await runGraph(files[1]!, { pixels: pixelsTensor(px, count, size) });
        expect(relL2(encoded.embeddings!, embeddings)).toBeLessThan(TOL);
        const aggregated = await runGraph(files[2]!, {
          embeddings: new ort.Tensor('float32', embeddings, [count, model.outputDim]),
        });
        expect(relL2(aggregated.attention!, prediction.attention)).toBeLessThan(TOL);
        for (const [task, p] of Object.entries(prediction.probabilities))
          expect(relL2(aggregated[`probabilities.${task}`]!, p), task).toBeLessThan(TOL);
      }
    } finally {
      model.dispose();
    }
  });
});

describe('ONNX export file', () => {
  it('is opset 17 with named dynamic dimensions and passes ONNX checker', async (ctx) => {
    const { model } = fixtureModel('vit_reg_ls');
    const dir = tempDir();
    const files = exportOnnx(model, path.join(dir, 'm.onnx'), {
      producerVersion: 'test',
      metadata: { 'tessera.run': '7' },
    });
    model.dispose();
    const decoded = decodeModel(fs.readFileSync(files[0]!));
    expect(decoded.opset_import).toEqual([{ domain: '', version: ONNX_OPSET }]);
    expect(decoded.graph?.input?.[0]?.type?.tensor_type?.shape?.dim?.[0]).toEqual({ dim_param: 'patches' });
    expect(decoded.metadata_props).toContainEqual({ key: 'tessera.run', value: '7' });
    if (!pythonModule('onnx', 'python3-onnx')) return ctx.skip('needs python3-onnx for ONNX checker');
    for (const file of files) expect(onnxCheck(file), file).toBeNull();
  });
});

describe('ONNX export of configurations the fixtures do not cover', () => {
  const configs: [string, Partial<EncoderSpec['vit']>][] = [
    ['token+avg with fc_norm', { globalPool: 'token+avg', fcNorm: true, regTokens: 1 }],
    ['no class token, avg pool, no qkv bias', { classToken: false, globalPool: 'avg', qkvBias: false }],
    [
      'registers, no embed class, SwiGLU',
      { regTokens: 2, noEmbedClass: true, mlp: 'swiglu', initValues: 0.1 },
    ],
  ];
  it.each(configs)('%s: the encoder graph gives the engine embeddings', async (_name, vit) => {
    const model = EncoderModel.create(smallSpec({ depth: 2, ...vit }), 11);
    const file = path.join(tempDir(), 'e.onnx');
    exportOnnx(model, file, { producerVersion: 'test' });
    const px = patches(6, 16, 3);
    const want = await model.embed(px, 6);
    model.dispose();
    const got = await runGraph(file, { pixels: pixelsTensor(px, 6, 16) });
    expect(relL2(got.embeddings!, want)).toBeLessThan(TOL);
  });
});
