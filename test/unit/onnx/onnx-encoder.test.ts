/**
 * ONNX patch encoders a lab brings: a small ResNet-style CNN exported by torch.onnx.export (fixture written by
 * test/fixtures/onnx/make_cnn.py) gives PyTorch's features through onnxruntime-node; Tessera's own exported
 * encoder graph (uint8 pixels in) is taken too; and what does not fit is refused with one sentence naming the
 * file: not a model, an input that is not an image, channels last, dynamic height and width, a feature map
 * instead of a vector, no normalisation.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EncoderModel } from '../../../src-main/engine/index.js';
import { DataType, encodeModel, exportOnnx } from '../../../src-main/onnx/index.js';
import { GraphBuilder, type Dim } from '../../../src-main/onnx/graph-builder.js';
import { OnnxEncoder, describeOnnxEncoder } from '../../../src-main/onnx/onnx-encoder.js';
import { repoRoot, tempDir } from '../../helpers/temp.js';
import { patches, relL2, smallSpec } from '../engine/helpers.js';

const fixtures = path.join(repoRoot, 'test', 'fixtures', 'onnx');
const cnn = path.join(fixtures, 'cnn.onnx');
const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as {
  mean: [number, number, number];
  std: [number, number, number];
};

function expected(): { n: number; size: number; dim: number; pixels: Uint8Array; features: Float32Array } {
  const buf = fs.readFileSync(path.join(fixtures, 'cnn-expected.bin'));
  const [n, size, dim] = [buf.readInt32LE(0), buf.readInt32LE(4), buf.readInt32LE(8)];
  const px = n * size * size * 3;
  const pixels = new Uint8Array(buf.buffer, buf.byteOffset + 12, px);
  const features = new Float32Array(
    buf.buffer.slice(buf.byteOffset + 12 + px, buf.byteOffset + 12 + px + n * dim * 4),
  );
  return { n, size, dim, pixels, features };
}

/** A one-node model with the given input and output, written to a temporary file. */
function tinyModel(input: { type: number; dims: Dim[] }, output: Dim[], op = 'Identity'): string {
  const g = new GraphBuilder();
  const x = g.input('x', input.type, input.dims);
  g.output('y', g.node(op, [x]), DataType.FLOAT, output);
  const file = path.join(tempDir(), 'm.onnx');
  fs.writeFileSync(
    file,
    encodeModel({ ir_version: 8, opset_import: [{ domain: '', version: 17 }], graph: g.graph('tiny') }),
  );
  return file;
}

describe('ONNX patch encoders', () => {
  it("gives a torch-exported CNN's PyTorch features (relative L2 < 1e-5), in any batch size", async () => {
    const e = expected();
    const encoder = await OnnxEncoder.open(cnn, IMAGENET, 2);
    try {
      expect(encoder.inputSize).toBe(e.size);
      expect(encoder.outputDim).toBe(e.dim);
      expect(encoder.info.layout).toBe('images');
      for (const batchSize of [2, 32]) {
        const features = await encoder.embed(e.pixels, e.n, { batchSize });
        expect(relL2(features, e.features)).toBeLessThan(1e-5);
      }
      // The normalisation matters: other numbers give other features.
      const other = await OnnxEncoder.open(cnn, { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
      expect(relL2(await other.embed(e.pixels, e.n), e.features)).toBeGreaterThan(1e-2);
      await other.dispose();
    } finally {
      await encoder.dispose();
    }
  });

  it("takes Tessera's own exported encoder (uint8 pixels in) with the engine's embeddings", async () => {
    const model = EncoderModel.create(smallSpec(), 3);
    const file = path.join(tempDir(), 'enc.onnx');
    exportOnnx(model, file, { producerVersion: 'test' });
    const px = patches(7, 16, 5);
    const want = await model.embed(px, 7);
    model.dispose();
    const encoder = await OnnxEncoder.open(file);
    expect(encoder.info.layout).toBe('pixels');
    expect(relL2(await encoder.embed(px, 7, { batchSize: 3 }), want)).toBeLessThan(1e-4);
    // Batches from the patch loader live in shared memory, which onnxruntime does not take as it is.
    const shared = new Uint8Array(new SharedArrayBuffer(px.length));
    shared.set(px);
    expect(relL2(await encoder.embed(shared, 7), want)).toBeLessThan(1e-4);
    await encoder.dispose();
  });

  it('asks for the normalisation when the file does not state it, and reads it from metadata when it does', () => {
    expect(() => describeOnnxEncoder(cnn)).toThrow(
      /cnn\.onnx does not say how its input is normalised; give the mean and std it was trained with/,
    );
    expect(describeOnnxEncoder(cnn, IMAGENET).normalisation).toEqual(IMAGENET);
  });

  it('refuses what is not a patch encoder with one sentence naming the file', async () => {
    const dir = tempDir();
    const text = path.join(dir, 'notes.onnx');
    fs.writeFileSync(text, 'this is a text file, not a model\n');
    expect(() => describeOnnxEncoder(text)).toThrow(`${text} is not an ONNX model`);
    const empty = path.join(dir, 'empty.onnx');
    fs.writeFileSync(empty, '');
    expect(() => describeOnnxEncoder(empty)).toThrow(`${empty} is not an ONNX model`);
    await expect(OnnxEncoder.open(path.join(dir, 'missing.onnx'))).rejects.toThrow(
      /missing\.onnx cannot be read \(ENOENT\)/,
    );

    const vector = tinyModel({ type: DataType.FLOAT, dims: ['batch', 16] }, ['batch', 16]);
    expect(() => describeOnnxEncoder(vector, IMAGENET)).toThrow(
      `${vector} has input "x" of shape (batch, 16); a patch encoder takes images (batch, 3, height, width).`,
    );
    const ints = tinyModel({ type: DataType.INT64, dims: ['batch', 3, 8, 8] }, ['batch', 3, 8, 8]);
    expect(() => describeOnnxEncoder(ints, IMAGENET)).toThrow(
      /has input "x" of int64 \(batch, 3, 8, 8\); a patch encoder takes float32 images/,
    );
    const nhwc = tinyModel({ type: DataType.FLOAT, dims: ['batch', 8, 8, 3] }, ['batch', 8]);
    expect(() => describeOnnxEncoder(nhwc, IMAGENET)).toThrow(/channels last; export it channels first/);
    const dynamic = tinyModel({ type: DataType.FLOAT, dims: ['batch', 3, 'h', 'w'] }, ['batch', 3]);
    expect(() => describeOnnxEncoder(dynamic, IMAGENET)).toThrow(
      /with a dynamic height or width \(batch, 3, h, w\); export it with a fixed size/,
    );
    const wide = tinyModel({ type: DataType.FLOAT, dims: ['batch', 3, 8, 16] }, ['batch', 3]);
    expect(() => describeOnnxEncoder(wide, IMAGENET)).toThrow(/takes 16 x 8 images; .* square/);
    const map = tinyModel({ type: DataType.FLOAT, dims: ['batch', 3, 8, 8] }, ['batch', 3, 8, 8]);
    expect(() => describeOnnxEncoder(map, IMAGENET)).toThrow(
      /has output "y" of shape \(batch, 3, 8, 8\); a patch encoder outputs one feature vector per image/,
    );
  });
});
