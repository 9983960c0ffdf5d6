/**
 * The engine's ViT encoder as ONNX nodes (opset 17), with timm's semantics as the engine computes them
 * (native/engine/vit.cpp): raw RGB uint8 in (N, H, W, 3), normalised inside the graph; patch embedding;
 * class and register tokens; learned position embedding; pre-norm blocks (attention, GELU or SwiGLU MLP,
 * optional LayerScale); final norm per token or fc_norm on the pooled vector; token / avg / token+avg pooling.
 * The batch dimension stays dynamic: every Reshape copies it (0) and the prefix tokens are expanded to it.
 */
import { DataType } from './onnx-proto.js';
import type { GraphBuilder } from './graph-builder.js';
import { transposed, type ModelWeights } from './model-weights.js';

/** x (..., in) -> x W^T + b, from a timm Linear's (out, in) weight. */
export function linear(g: GraphBuilder, m: ModelWeights, x: string, prefix: string, bias = true): string {
  const [out, inp] = m.shape(`${prefix}.weight`) as [number, number];
  const w = g.weight(`${prefix}.weight_t`, [inp, out], transposed(m.get(`${prefix}.weight`), out, inp));
  const y = g.node('MatMul', [x, w]);
  return bias && m.has(`${prefix}.bias`)
    ? g.node('Add', [y, g.weight(`${prefix}.bias`, [out], m.get(`${prefix}.bias`))])
    : y;
}

function layerNorm(g: GraphBuilder, m: ModelWeights, x: string, prefix: string, eps: number): string {
  const [d] = m.shape(`${prefix}.weight`) as [number];
  const w = g.weight(`${prefix}.weight`, [d], m.get(`${prefix}.weight`));
  const b = g.weight(`${prefix}.bias`, [d], m.get(`${prefix}.bias`));
  return g.node('LayerNormalization', [x, w, b], { attrs: { axis: -1, epsilon: { float: eps } } });
}

/** Exact GELU: 0.5 x (1 + erf(x / sqrt 2)) (Gelu is an opset 20 operator). */
function gelu(g: GraphBuilder, x: string): string {
  const erf = g.node('Erf', [g.node('Div', [x, g.floats('sqrt2', [Math.SQRT2])])]);
  const onePlus = g.node('Add', [erf, g.floats('one', [1])]);
  return g.node('Mul', [g.node('Mul', [x, onePlus]), g.floats('half', [0.5])]);
}

function silu(g: GraphBuilder, x: string): string {
  return g.node('Mul', [x, g.node('Sigmoid', [x])]);
}

function layerScale(g: GraphBuilder, m: ModelWeights, x: string, name: string): string {
  if (!m.has(name)) return x;
  const [d] = m.shape(name) as [number];
  return g.node('Mul', [x, g.weight(name, [d], m.get(name))]);
}

function attention(
  g: GraphBuilder,
  m: ModelWeights,
  x: string,
  prefix: string,
  dim: number,
  heads: number,
): string {
  const hd = dim / heads;
  let qkv = linear(g, m, x, `${prefix}.qkv`);
  qkv = g.node('Reshape', [qkv, g.int64s('qkv_shape', [0, 0, 3, heads, hd])]); // (B, T, 3, NH, hd)
  qkv = g.node('Transpose', [qkv], { attrs: { perm: [2, 0, 3, 1, 4] } }); // (3, B, NH, T, hd)
  const part = (i: number): string =>
    g.node('Gather', [qkv, g.int64s(`index${i}`, [i], [])], { attrs: { axis: 0 } });
  const q = g.node('Mul', [part(0), g.floats('attn_scale', [1 / Math.sqrt(hd)])]);
  const kT = g.node('Transpose', [part(1)], { attrs: { perm: [0, 1, 3, 2] } });
  const probs = g.node('Softmax', [g.node('MatMul', [q, kT])], { attrs: { axis: -1 } });
  let out = g.node('MatMul', [probs, part(2)]); // (B, NH, T, hd)
  out = g.node('Transpose', [out], { attrs: { perm: [0, 2, 1, 3] } });
  out = g.node('Reshape', [out, g.int64s('tokens_shape', [0, 0, dim])]);
  return linear(g, m, out, `${prefix}.proj`);
}

function mlp(g: GraphBuilder, m: ModelWeights, x: string, prefix: string): string {
  const kind = m.spec.vit.mlp;
  let act: string;
  if (kind === 'gelu') act = gelu(g, linear(g, m, x, `${prefix}.fc1`));
  else if (kind === 'swiglu_packed') {
    // timm's GluMlp(SiLU, gate_last=False): fc1 -> [gate | value], silu(gate) * value
    const [gate, value] = g.nodeOutputs('Split', [linear(g, m, x, `${prefix}.fc1`)], 2, { axis: -1 }) as [
      string,
      string,
    ];
    act = g.node('Mul', [silu(g, gate), value]);
  } else
    act = g.node('Mul', [silu(g, linear(g, m, x, `${prefix}.fc1_g`)), linear(g, m, x, `${prefix}.fc1_x`)]);
  return linear(g, m, act, `${prefix}.fc2`);
}

/** Adds the encoder from `pixels` (uint8, (B, S, S, 3)); returns the embeddings' name ((B, outputDim) float). */
export function addEncoder(g: GraphBuilder, m: ModelWeights, pixels: string): string {
  const v = m.spec.vit;
  const D = v.embedDim;
  const p = v.patchSize;
  const grid = v.imgSize / p;
  const numPatches = grid * grid;
  const prefix = (v.classToken ? 1 : 0) + v.regTokens;
  const tokens = prefix + numPatches;

  // uint8 -> (v / 255 - mean) / std, in the same float steps as the engine's lookup table
  let x = g.node('Cast', [pixels], { attrs: { to: DataType.FLOAT } });
  x = g.node('Div', [x, g.floats('max_pixel', [255])]);
  x = g.node('Sub', [x, g.floats('mean', v.mean)]);
  x = g.node('Div', [x, g.floats('std', v.std)]);
  x = g.node('Transpose', [x], { attrs: { perm: [0, 3, 1, 2] } }); // NHWC -> NCHW
  const convW = g.weight('patch_embed.proj.weight', [D, 3, p, p], m.get('patch_embed.proj.weight'));
  const convB = g.weight('patch_embed.proj.bias', [D], m.get('patch_embed.proj.bias'));
  x = g.node('Conv', [x, convW, convB], { attrs: { kernel_shape: [p, p], strides: [p, p] } }); // (B, D, gh, gw)
  x = g.node('Reshape', [x, g.int64s('patch_shape', [0, D, numPatches])]);
  x = g.node('Transpose', [x], { attrs: { perm: [0, 2, 1] } }); // (B, P, D)

  const pos = g.weight('pos_embed', m.shape('pos_embed'), m.get('pos_embed'));
  if (v.noEmbedClass) x = g.node('Add', [x, pos]);
  if (prefix > 0) {
    const batch = g.node('Shape', [pixels], { attrs: { start: 0, end: 1 } });
    const expand = (name: string, count: number): string => {
      const shape = g.node('Concat', [batch, g.int64s(`${name}_rows`, [count, D])], { attrs: { axis: 0 } });
      return g.node('Expand', [g.weight(name, [1, count, D], m.get(name)), shape]);
    };
    const parts: string[] = [];
    if (v.classToken) parts.push(expand('cls_token', 1));
    if (v.regTokens > 0) parts.push(expand('reg_token', v.regTokens));
    x = g.node('Concat', [...parts, x], { attrs: { axis: 1 } });
  }
  if (!v.noEmbedClass) x = g.node('Add', [x, pos]);

  for (let l = 0; l < v.depth; l++) {
    const b = `blocks.${l}`;
    const a = attention(g, m, layerNorm(g, m, x, `${b}.norm1`, v.normEps), `${b}.attn`, D, v.numHeads);
    x = g.node('Add', [x, layerScale(g, m, a, `${b}.ls1.gamma`)]);
    const f = mlp(g, m, layerNorm(g, m, x, `${b}.norm2`, v.normEps), `${b}.mlp`);
    x = g.node('Add', [x, layerScale(g, m, f, `${b}.ls2.gamma`)]);
  }

  if (!v.fcNorm) x = layerNorm(g, m, x, 'norm', v.normEps);
  const pooled: string[] = [];
  if (v.globalPool !== 'avg')
    pooled.push(g.node('Gather', [x, g.int64s('class_index', [0], [])], { attrs: { axis: 1 } }));
  if (v.globalPool !== 'token') {
    const patchTokens = g.node('Slice', [
      x,
      g.int64s('starts', [prefix]),
      g.int64s('ends', [tokens]),
      g.int64s('axes', [1]),
    ]);
    pooled.push(g.node('ReduceMean', [patchTokens], { attrs: { axes: [1], keepdims: 0 } }));
  }
  let out = pooled.length === 1 ? pooled[0]! : g.node('Concat', pooled, { attrs: { axis: 1 } });
  if (v.fcNorm) {
    // fc_norm normalises each embedDim-wide part of the pooled vector (token, avg) on its own
    out = g.node('Reshape', [out, g.int64s('parts_shape', [0, pooled.length, D])]);
    out = layerNorm(g, m, out, 'fc_norm', v.normEps);
    out = g.node('Reshape', [out, g.int64s('pooled_shape', [0, pooled.length * D])]);
  }
  return out;
}

export function encoderOutputDim(m: ModelWeights): number {
  return m.spec.vit.globalPool === 'token+avg' ? 2 * m.spec.vit.embedDim : m.spec.vit.embedDim;
}
