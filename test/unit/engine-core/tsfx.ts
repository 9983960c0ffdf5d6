/**
 * Reader for the PyTorch-written "TSFX" engine fixtures (format in test/fixtures/engine/make_fixtures.py)
 * and the helpers to turn one into an engine model spec.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AggregatorConfig, EncoderSpec, TrainOptions } from '../../../src-main/engine/index.js';

export const fixtureDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/engine');

export interface FixtureTensor {
  shape: number[];
  data: Float32Array | Uint8Array | Int32Array;
}

export type Fixture = Map<string, FixtureTensor>;

export function readFixture(file: string): Fixture {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 4) !== 'TSFX') throw new Error(`${file} is not a TSFX fixture`);
  const version = buf.readUInt32LE(4);
  if (version !== 1) throw new Error(`${file}: unsupported fixture version ${version}`);
  const count = buf.readUInt32LE(8);
  const out: Fixture = new Map();
  let off = 12;
  for (let i = 0; i < count; i++) {
    const len = buf.readUInt32LE(off);
    off += 4;
    const name = buf.toString('utf8', off, off + len);
    off += len;
    const dtype = buf.readUInt8(off);
    const ndim = buf.readUInt8(off + 1);
    off += 2;
    const shape: number[] = [];
    for (let d = 0; d < ndim; d++) {
      shape.push(Number(buf.readBigInt64LE(off)));
      off += 8;
    }
    const n = shape.reduce((a, b) => a * b, 1);
    const bytes = dtype === 1 ? n : 4 * n;
    const raw = new Uint8Array(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + off + bytes));
    off += bytes;
    const data =
      dtype === 0
        ? new Float32Array(raw.buffer)
        : dtype === 2
          ? new Int32Array(raw.buffer)
          : new Uint8Array(raw.buffer);
    out.set(name, { shape, data });
  }
  return out;
}

export function tensor(fx: Fixture, name: string): FixtureTensor {
  const t = fx.get(name);
  if (!t) throw new Error(`fixture has no tensor ${name}`);
  return t;
}

export function f32(fx: Fixture, name: string): Float32Array {
  return tensor(fx, name).data as Float32Array;
}

function scalar(fx: Fixture, name: string): number {
  const v = tensor(fx, name).data[0];
  if (v === undefined) throw new Error(`fixture tensor ${name} is empty`);
  return v;
}

export function specFromFixture(fx: Fixture): EncoderSpec {
  const img = scalar(fx, 'cfg.img_size');
  const mean = f32(fx, 'cfg.mean');
  const std = f32(fx, 'cfg.std');
  return {
    architecture: 'vit_fixture',
    vit: {
      imgSize: img,
      patchSize: scalar(fx, 'cfg.patch_size'),
      embedDim: scalar(fx, 'cfg.embed_dim'),
      depth: scalar(fx, 'cfg.depth'),
      numHeads: scalar(fx, 'cfg.num_heads'),
      mlpRatio: scalar(fx, 'cfg.mlp_ratio'),
      qkvBias: scalar(fx, 'cfg.qkv_bias') !== 0,
      initValues: scalar(fx, 'cfg.init_values'),
      regTokens: scalar(fx, 'cfg.reg_tokens'),
      noEmbedClass: scalar(fx, 'cfg.no_embed_class') !== 0,
      classToken: scalar(fx, 'cfg.class_token') !== 0,
      globalPool: (['token', 'avg', 'token+avg'] as const)[scalar(fx, 'cfg.global_pool')] ?? 'token',
      fcNorm: scalar(fx, 'cfg.fc_norm') !== 0,
      normEps: scalar(fx, 'cfg.norm_eps'),
      mlp: (['gelu', 'swiglu_packed', 'swiglu'] as const)[scalar(fx, 'cfg.mlp')] ?? 'gelu',
      mean: [mean[0] ?? 0, mean[1] ?? 0, mean[2] ?? 0],
      std: [std[0] ?? 1, std[1] ?? 1, std[2] ?? 1],
    },
    dynamicImgSize: false,
    inputSize: img,
    cropPct: 1,
    interpolation: 'bicubic',
  };
}

export function aggregatorFromFixture(fx: Fixture): AggregatorConfig {
  return {
    hiddenDim: scalar(fx, 'cfg.agg_hidden'),
    dropout: 0,
    tasks: [
      { name: 'msi', kind: 'binary', lossWeight: 1 },
      { name: 'subtype', kind: 'categorical', numClasses: 3, lossWeight: 0.5 },
    ],
  };
}

export function trainOptionsFromFixture(fx: Fixture, chunkSize: number): TrainOptions {
  return {
    chunkSize,
    lrEncoder: scalar(fx, 'opt.lr_encoder'),
    lrAggregator: scalar(fx, 'opt.lr_aggregator'),
    weightDecay: scalar(fx, 'opt.weight_decay'),
    warmupSteps: scalar(fx, 'opt.warmup_steps'),
    totalSteps: scalar(fx, 'opt.total_steps'),
    minLrRatio: scalar(fx, 'opt.min_lr_ratio'),
    clipNorm: scalar(fx, 'opt.clip_norm'),
    beta1: scalar(fx, 'opt.beta1'),
    beta2: scalar(fx, 'opt.beta2'),
    eps: scalar(fx, 'opt.eps'),
  };
}

/** ||a - b|| / ||b|| (absolute when b is all zeros). */
export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    num += (x - y) ** 2;
    den += y ** 2;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}
