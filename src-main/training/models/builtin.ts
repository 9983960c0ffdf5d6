/**
 * The built-in encoder sizes a run can train from a seeded random init. "micro" is sized for training
 * from scratch on a CPU in minutes (the demo cohort, tests); the others are timm's ViT-Ti/S/B at 224 px
 * (for a GPU, or for an imported pretrained model's architecture).
 */
import type { ModelInfo, ModelSize } from '../../contract/contract.js';
import { parseEncoderConfig, type EncoderSpec } from '../../engine/index.js';

interface BuiltinModel {
  description: string;
  config: Record<string, unknown>;
}

const PATHOLOGY_NORM = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

function timmConfig(architecture: string, modelArgs: Record<string, unknown>, inputSize: number) {
  return {
    architecture,
    num_classes: 0,
    model_args: { ...modelArgs, num_classes: 0 },
    pretrained_cfg: {
      input_size: [3, inputSize, inputSize],
      interpolation: 'bicubic',
      crop_pct: 1.0,
      ...PATHOLOGY_NORM,
      num_classes: 0,
    },
  };
}

export const BUILTIN_MODELS: Record<ModelSize, BuiltinModel> = {
  micro: {
    description: 'ViT-micro, 32 px patches: trains from scratch on a CPU in minutes (demo, tests)',
    config: timmConfig(
      'vit_micro_patch8_32',
      {
        img_size: 32,
        patch_size: 8,
        embed_dim: 64,
        depth: 4,
        num_heads: 4,
        mlp_ratio: 2,
        global_pool: 'avg',
      },
      32,
    ),
  },
  tiny: {
    description: "ViT-Ti/16 (timm's vit_tiny_patch16_224), 224 px patches",
    config: timmConfig('vit_tiny_patch16_224', {}, 224),
  },
  small: {
    description: "ViT-S/16 (timm's vit_small_patch16_224), 224 px patches",
    config: timmConfig('vit_small_patch16_224', {}, 224),
  },
  base: {
    description: "ViT-B/16 (timm's vit_base_patch16_224), 224 px patches",
    config: timmConfig('vit_base_patch16_224', {}, 224),
  },
};

export function builtinConfigJson(size: ModelSize): string {
  return JSON.stringify(BUILTIN_MODELS[size].config, null, 2);
}

export function builtinSpec(size: ModelSize): EncoderSpec {
  return parseEncoderConfig(builtinConfigJson(size), `built-in model ${size}`);
}

/** Parameters of a ViT encoder, counted from its spec (no allocation). */
export function encoderParameterCount(spec: EncoderSpec): number {
  const v = spec.vit;
  const d = v.embedDim;
  const grid = (v.imgSize / v.patchSize) ** 2;
  const hidden = Math.round(d * v.mlpRatio);
  const tokens = grid + (v.noEmbedClass ? 0 : (v.classToken ? 1 : 0) + v.regTokens);
  let n = 3 * v.patchSize * v.patchSize * d + d; // patch_embed.proj
  n += tokens * d; // pos_embed
  if (v.classToken) n += d;
  n += v.regTokens * d;
  const mlp =
    v.mlp === 'gelu'
      ? d * hidden + hidden + hidden * d + d
      : v.mlp === 'swiglu_packed'
        ? d * hidden + hidden + (hidden / 2) * d + d
        : 2 * (d * hidden + hidden) + hidden * d + d;
  const block =
    2 * 2 * d + 3 * d * d + (v.qkvBias ? 3 * d : 0) + d * d + d + mlp + (v.initValues ? 2 * d : 0);
  n += v.depth * block;
  n += v.fcNorm ? 2 * (v.globalPool === 'token+avg' ? 2 * d : d) : 2 * d;
  return n;
}

export function builtinModelInfo(size: ModelSize): ModelInfo {
  const spec = builtinSpec(size);
  const v = spec.vit;
  return {
    name: `builtin:${size}`,
    kind: 'builtin',
    architecture: spec.architecture,
    parameters: encoderParameterCount(spec),
    outputDim: v.globalPool === 'token+avg' ? 2 * v.embedDim : v.embedDim,
    inputSize: spec.inputSize,
    description: BUILTIN_MODELS[size].description,
    folder: null,
    source: null,
  };
}
