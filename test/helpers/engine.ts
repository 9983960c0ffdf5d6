import type { EncoderSpec } from '../../src-main/engine/types.js';

/**
 * An encoder spec with timm's defaults for a plain ViT (class token, token pooling, exact GELU, qkv bias,
 * no LayerScale or registers), sized by `vit`. No vitest imports, so benchmarks can use it too.
 */
export function vitSpec(
  architecture: string,
  vit: Pick<EncoderSpec['vit'], 'imgSize' | 'patchSize' | 'embedDim' | 'depth' | 'numHeads' | 'mlpRatio'> &
    Partial<EncoderSpec['vit']>,
): EncoderSpec {
  return {
    architecture,
    vit: {
      qkvBias: true,
      initValues: 0,
      regTokens: 0,
      noEmbedClass: false,
      classToken: true,
      globalPool: 'token',
      fcNorm: false,
      normEps: 1e-6,
      mlp: 'gelu',
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
      ...vit,
    },
    dynamicImgSize: false,
    inputSize: vit.imgSize,
    cropPct: 1,
    interpolation: 'bicubic',
  };
}
