/**
 * The gated-attention MIL aggregator and task heads as ONNX nodes (native/engine/aggregator.cpp): over a
 * slide's embeddings h (N, D), attention = softmax_n(w^T (tanh(V h_n) * sigmoid(U h_n))), z = attention^T h,
 * one linear head per task; binary tasks give sigmoid p(1), categorical ones a softmax. N stays dynamic.
 */
import type { GraphBuilder } from './graph-builder.js';
import type { ModelWeights } from './model-weights.js';
import { linear } from './vit-graph.js';

export interface AggregatorOutputs {
  /** (N) float: each patch's attention, summing to 1. */
  attention: string;
  /** Per task, in task order: (1) for binary, (C) for categorical. */
  probabilities: { task: string; value: string; size: number }[];
}

export function addAggregator(g: GraphBuilder, m: ModelWeights, h: string): AggregatorOutputs {
  const a = g.node('Tanh', [linear(g, m, h, 'aggregator.attention_a')]);
  const gate = g.node('Sigmoid', [linear(g, m, h, 'aggregator.attention_b')]);
  const score = linear(g, m, g.node('Mul', [a, gate]), 'aggregator.attention_c', false); // (N, 1)
  const row = g.node('Reshape', [score, g.int64s('row_shape', [1, -1])]); // (1, N)
  const attn = g.node('Softmax', [row], { attrs: { axis: -1 } });
  const z = g.node('MatMul', [attn, h]); // (1, D)
  const flat = g.int64s('flat_shape', [-1]);
  const probabilities = m.tasks.map((t) => {
    const logits = linear(g, m, z, `heads.${t.name}`);
    const p =
      t.kind === 'binary'
        ? g.node('Sigmoid', [logits])
        : g.node('Softmax', [logits], { attrs: { axis: -1 } });
    return {
      task: t.name,
      value: g.node('Reshape', [p, flat]),
      size: t.kind === 'binary' ? 1 : (t.numClasses ?? 2),
    };
  });
  return { attention: g.node('Reshape', [attn, flat]), probabilities };
}
