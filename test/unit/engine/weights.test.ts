import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EncoderModel, readEncoderConfig } from '../../../src-main/engine/model.js';
import { decodeNpy } from '../../../src-main/engine/npy.js';
import { relL2, tinyVit } from './helpers.js';

const weights = path.join(tinyVit, 'model.safetensors');

describe('loading timm weights into a model with another patch grid', () => {
  for (const [img, grid] of [
    [48, 6],
    [16, 2],
  ] as const) {
    it(`resamples pos_embed bicubically (antialiased, as timm) from 4x4 to ${grid}x${grid}`, async () => {
      const spec = readEncoderConfig(path.join(tinyVit, 'config.json'));
      spec.vit.imgSize = img;
      spec.inputSize = img;
      const model = EncoderModel.create(spec);
      try {
        await model.loadWeights(weights);
        const want = decodeNpy(fs.readFileSync(path.join(tinyVit, `pos_embed_grid${grid}.npy`)));
        expect(want.shape).toEqual([1, grid * grid, 32]);
        expect(relL2(model.getParameter('pos_embed'), want.data)).toBeLessThan(1e-5);
        // Everything else loads unchanged.
        const ref = EncoderModel.create(readEncoderConfig(path.join(tinyVit, 'config.json')));
        try {
          await ref.loadWeights(weights);
          expect(Array.from(model.getParameter('blocks.1.attn.qkv.weight'))).toEqual(
            Array.from(ref.getParameter('blocks.1.attn.qkv.weight')),
          );
        } finally {
          ref.dispose();
        }
      } finally {
        model.dispose();
      }
    });
  }

  it('a pos_embed that cannot be resampled (other width) is a shape error listing the tensor', async () => {
    const spec = readEncoderConfig(path.join(tinyVit, 'config.json'));
    spec.vit.embedDim = 64;
    const model = EncoderModel.create(spec);
    try {
      await expect(model.loadWeights(weights)).rejects.toMatchObject({
        code: 'ERR_BAD_WEIGHTS',
        message: expect.stringMatching(
          /wrong shapes: .*pos_embed \(file \[1, 16, 32\], model \[1, 16, 64\]\)/,
        ),
      });
    } finally {
      model.dispose();
    }
  });
});
