import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEncoderConfig, readEncoderConfig } from '../../../src-main/engine/model.js';
import { tinyVit } from './helpers.js';

const parse = (doc: unknown) => parseEncoderConfig(JSON.stringify(doc), 'test/config.json');
const IMAGENET_MEAN = [0.485, 0.456, 0.406].map(Math.fround);
const INCEPTION = [0.5, 0.5, 0.5];

describe('timm config.json: known architectures', () => {
  // Dimensions as registered in timm/models/vision_transformer.py.
  const table: [string, Partial<Record<string, unknown>>][] = [
    [
      'vit_tiny_patch16_224',
      { patchSize: 16, embedDim: 192, depth: 12, numHeads: 3, imgSize: 224, mlp: 'gelu' },
    ],
    ['vit_small_patch16_224', { patchSize: 16, embedDim: 384, depth: 12, numHeads: 6, imgSize: 224 }],
    ['vit_base_patch16_224', { patchSize: 16, embedDim: 768, depth: 12, numHeads: 12, imgSize: 224 }],
    ['vit_large_patch16_224', { patchSize: 16, embedDim: 1024, depth: 24, numHeads: 16, imgSize: 224 }],
    ['vit_huge_patch14_224', { patchSize: 14, embedDim: 1280, depth: 32, numHeads: 16, imgSize: 224 }],
    [
      'vit_giant_patch14_dinov2',
      { patchSize: 14, embedDim: 1536, depth: 40, numHeads: 24, imgSize: 518, mlp: 'swiglu_packed' },
    ],
  ];
  for (const [arch, dims] of table) {
    it(`${arch} maps to its dimensions`, () => {
      const spec = parse({ architecture: arch });
      expect(spec.architecture).toBe(arch);
      expect(spec.vit).toMatchObject({
        ...dims,
        qkvBias: true,
        classToken: true,
        globalPool: 'token',
        regTokens: 0,
      });
      expect(spec.inputSize).toBe(spec.vit.imgSize);
    });
  }

  it('DINOv2 giant: LayerScale 1e-5, packed SwiGLU 8192 wide (2 x 4096), ImageNet normalisation, crop 1.0', () => {
    const { vit, cropPct } = parse({ architecture: 'vit_giant_patch14_dinov2' });
    expect(vit.initValues).toBeCloseTo(1e-5, 10);
    expect(vit.mlpRatio).toBeCloseTo(5.33334, 6);
    expect(Math.trunc(vit.embedDim * vit.mlpRatio)).toBe(8192);
    expect(vit.mean).toEqual(IMAGENET_MEAN);
    expect(vit.outputDim).toBe(1536);
    expect(cropPct).toBe(1);
  });

  it('augreg ViTs default to Inception normalisation (0.5) and crop 0.9 without a pretrained_cfg', () => {
    const spec = parse({ architecture: 'vit_base_patch16_224.augreg2_in21k_ft_in1k' });
    expect(spec.vit.mean).toEqual(INCEPTION);
    expect(spec.vit.std).toEqual(INCEPTION);
    expect(spec.cropPct).toBeCloseTo(0.9, 6);
  });
});

describe('timm config.json: model_args and pretrained_cfg as published on the Hub', () => {
  it('UNI-style: ViT-L/16 with LayerScale, dynamic_img_size, ImageNet stats, bilinear', () => {
    const spec = parse({
      architecture: 'vit_large_patch16_224',
      num_classes: 0,
      num_features: 1024,
      global_pool: 'token',
      model_args: {
        img_size: 224,
        patch_size: 16,
        init_values: 1e-5,
        num_classes: 0,
        dynamic_img_size: true,
      },
      pretrained_cfg: {
        tag: 'uni_mass100k',
        input_size: [3, 224, 224],
        fixed_input_size: true,
        interpolation: 'bilinear',
        crop_pct: 1.0,
        crop_mode: 'center',
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
        num_classes: 0,
        pool_size: null,
        first_conv: 'patch_embed.proj',
        classifier: 'head',
      },
    });
    expect(spec.vit).toMatchObject({ embedDim: 1024, depth: 24, numHeads: 16, imgSize: 224, mlp: 'gelu' });
    expect(spec.vit.initValues).toBeCloseTo(1e-5, 10);
    expect(spec).toMatchObject({
      dynamicImgSize: true,
      interpolation: 'bilinear',
      cropPct: 1,
      inputSize: 224,
    });
  });

  it('UNI2-h-style: class paths for SwiGLUPacked / SiLU, 8 registers, no_embed_class', () => {
    const spec = parse({
      architecture: 'vit_giant_patch14_224',
      model_args: {
        img_size: 224,
        patch_size: 14,
        depth: 24,
        num_heads: 24,
        init_values: 1e-5,
        embed_dim: 1536,
        mlp_ratio: 2.66667 * 2,
        num_classes: 0,
        no_embed_class: true,
        mlp_layer: 'timm.layers.SwiGLUPacked',
        act_layer: 'torch.nn.SiLU',
        reg_tokens: 8,
        dynamic_img_size: true,
      },
      pretrained_cfg: { input_size: [3, 224, 224], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    });
    expect(spec.vit).toMatchObject({
      patchSize: 14,
      embedDim: 1536,
      depth: 24,
      numHeads: 24,
      mlp: 'swiglu_packed',
      regTokens: 8,
      noEmbedClass: true,
      imgSize: 224,
    });
  });

  it('split SwiGLU, avg pooling (fc_norm by default), no class token', () => {
    const spec = parse({
      architecture: 'vit_small_patch16_224',
      model_args: { mlp_layer: 'SwiGLU', act_layer: 'silu', global_pool: 'avg', class_token: false },
    });
    expect(spec.vit).toMatchObject({ mlp: 'swiglu', globalPool: 'avg', fcNorm: true, classToken: false });
    const explicit = parse({
      architecture: 'vit_small_patch16_224',
      model_args: { global_pool: 'avg', fc_norm: false },
    });
    expect(explicit.vit.fcNorm).toBe(false);
  });

  it('img_size: model_args wins; else pretrained_cfg.input_size only with fixed_input_size', () => {
    const base = { architecture: 'vit_small_patch16_224' };
    expect(parse({ ...base, model_args: { img_size: [256, 256] } }).vit.imgSize).toBe(256);
    expect(
      parse({ ...base, pretrained_cfg: { input_size: [3, 384, 384], fixed_input_size: true } }).vit.imgSize,
    ).toBe(384);
    expect(parse({ ...base, pretrained_cfg: { input_size: [3, 384, 384] } }).vit.imgSize).toBe(224);
    // The architecture's own img_size (DINOv2: 518) beats pretrained_cfg, as in timm.
    expect(
      parse({
        architecture: 'vit_large_patch14_dinov2',
        pretrained_cfg: { input_size: [3, 224, 224], fixed_input_size: true },
      }).vit.imgSize,
    ).toBe(518);
  });

  it('an unknown architecture is accepted when model_args give the dimensions', () => {
    const spec = parse({
      architecture: 'my_pathology_vit',
      model_args: { embed_dim: 64, depth: 3, num_heads: 4, patch_size: 8, img_size: 64 },
    });
    expect(spec.vit).toMatchObject({ embedDim: 64, depth: 3, numHeads: 4, patchSize: 8, imgSize: 64 });
  });

  it('reads the fixture model folder config from disk', () => {
    const spec = readEncoderConfig(path.join(tinyVit, 'config.json'));
    expect(spec.vit).toMatchObject({
      imgSize: 32,
      patchSize: 8,
      embedDim: 32,
      depth: 2,
      regTokens: 2,
      noEmbedClass: true,
    });
  });
});

describe('timm config.json: what the engine cannot run is refused with the file and the field', () => {
  const cases: [string, unknown, RegExp][] = [
    ['no architecture', { model_args: {} }, /no "architecture" field/],
    [
      'unknown architecture without dims',
      { architecture: 'resnet50' },
      /"resnet50" is not one the engine knows .* model_args does not give embed_dim/,
    ],
    [
      'pre_norm (CLIP)',
      { architecture: 'vit_base_patch16_224', model_args: { pre_norm: true } },
      /pre_norm=true/,
    ],
    ['qk_norm', { architecture: 'vit_base_patch16_224', model_args: { qk_norm: true } }, /qk_norm=true/],
    [
      'unknown option',
      { architecture: 'vit_base_patch16_224', model_args: { frobnicate: 1 } },
      /does not implement: frobnicate/,
    ],
    [
      'attention pooling',
      { architecture: 'vit_base_patch16_224', model_args: { global_pool: 'map' } },
      /global_pool "map" is not supported/,
    ],
    [
      'GLU with GELU',
      { architecture: 'vit_base_patch16_224', model_args: { mlp_layer: 'SwiGLUPacked' } },
      /needs act_layer SiLU/,
    ],
    [
      'SiLU plain MLP',
      { architecture: 'vit_base_patch16_224', model_args: { act_layer: 'silu' } },
      /SiLU with a plain Mlp/,
    ],
    [
      'non-square',
      { architecture: 'vit_base_patch16_224', model_args: { img_size: [224, 256] } },
      /only square sizes/,
    ],
    [
      'grey input',
      { architecture: 'vit_base_patch16_224', model_args: { in_chans: 1 } },
      /in_chans must be 3/,
    ],
    [
      'heads do not divide',
      { architecture: 'vit_base_patch16_224', model_args: { num_heads: 7 } },
      /divisible by num_heads/,
    ],
    [
      'img not multiple of patch',
      { architecture: 'vit_base_patch16_224', model_args: { img_size: 100 } },
      /multiple of patch_size/,
    ],
    [
      'bad mean',
      { architecture: 'vit_base_patch16_224', pretrained_cfg: { mean: [0.5, 0.5] } },
      /pretrained_cfg.mean must be a list of three numbers/,
    ],
    [
      'wrong type',
      { architecture: 'vit_base_patch16_224', model_args: { depth: 'twelve' } },
      /model_args.depth must be an integer/,
    ],
  ];
  for (const [what, doc, message] of cases) {
    it(what, () => {
      expect(() => parse(doc)).toThrow(message);
      expect(() => parse(doc)).toThrow(/^Model config test\/config.json is not usable: /);
    });
  }

  it('invalid JSON names the byte offset', () => {
    expect(() => parseEncoderConfig('{"architecture": "vit_base_patch16_224",', 'x.json')).toThrow(
      /Model config x.json is not valid JSON: invalid JSON at byte \d+/,
    );
  });

  it('a missing file is a clear error', () => {
    expect(() => readEncoderConfig('/nonexistent/config.json')).toThrow(
      /Cannot open model config \/nonexistent\/config.json/,
    );
  });
});
