/**
 * ONNX export of a trained model (opset 17, IR version 8: what every current runtime loads), built as
 * protobuf messages (onnx-proto.ts), never as hand-written bytes. Three graphs share the weights' layout:
 *
 *   slide       patches uint8 (patches, S, S, 3) -> embeddings (patches, D), attention (patches),
 *               probabilities.<task>: one call per slide, for slides whose patches fit in memory at once
 *   encoder     pixels uint8 (batch, S, S, 3) -> embeddings (batch, D)
 *   aggregator  embeddings (patches, D) -> attention, probabilities.<task>: the encoder in batches, then this
 *
 * Pixels go in raw (RGB, 0-255, the engine's layout): the normalisation (mean, std) is part of the graph.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { EncoderModel, SlideModel } from '../engine/index.js';
import { addAggregator } from './aggregator-graph.js';
import { GraphBuilder } from './graph-builder.js';
import { weightsOf, type ModelWeights } from './model-weights.js';
import { DataType, encodeModel, type ModelProto } from './onnx-proto.js';
import { addEncoder, encoderOutputDim } from './vit-graph.js';

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;

export type OnnxGraphKind = 'slide' | 'encoder' | 'aggregator';

export interface OnnxExportInfo {
  producerVersion: string;
  /** Stored as metadata (key -> value), e.g. the run id and the tasks' class names. */
  metadata?: Record<string, string>;
}

export function buildOnnxModel(m: ModelWeights, kind: OnnxGraphKind, info: OnnxExportInfo): ModelProto {
  if (kind !== 'encoder' && m.tasks.length === 0)
    throw new Error('An aggregator graph needs a model with tasks.');
  const g = new GraphBuilder();
  const S = m.spec.inputSize;
  const D = encoderOutputDim(m);
  const rows = kind === 'encoder' ? 'batch' : 'patches';
  let embeddings: string;
  if (kind === 'aggregator') embeddings = g.input('embeddings', DataType.FLOAT, [rows, D]);
  else {
    const pixels = g.input(kind === 'encoder' ? 'pixels' : 'patches', DataType.UINT8, [rows, S, S, 3]);
    embeddings = addEncoder(g, m, pixels);
    g.output('embeddings', embeddings, DataType.FLOAT, [rows, D]);
  }
  if (kind !== 'encoder') {
    const agg = addAggregator(g, m, embeddings);
    g.output('attention', agg.attention, DataType.FLOAT, [rows]);
    for (const p of agg.probabilities) g.output(`probabilities.${p.task}`, p.value, DataType.FLOAT, [p.size]);
  }
  const metadata: Record<string, string> = {
    'tessera.graph': kind,
    'tessera.architecture': m.spec.architecture,
    'tessera.input_size': String(S),
    'tessera.pixels': 'uint8 RGB (N, H, W, 3), normalised inside the graph',
    'tessera.mean': JSON.stringify(m.spec.vit.mean),
    'tessera.std': JSON.stringify(m.spec.vit.std),
    'tessera.tasks': JSON.stringify(m.tasks),
    ...info.metadata,
  };
  return {
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: 'tessera',
    producer_version: info.producerVersion,
    doc_string: `Tessera ${kind} graph: ${m.spec.architecture} encoder${kind === 'encoder' ? '' : ' and gated-attention MIL aggregator'}.`,
    graph: g.graph(`tessera_${kind}`),
    metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  };
}

/** The files exportOnnx writes for an output path "model.onnx": model.onnx, model.encoder.onnx, model.aggregator.onnx. */
export function onnxExportFiles(
  output: string,
  withAggregator: boolean,
): Record<OnnxGraphKind, string | null> {
  const base = output.replace(/\.onnx$/i, '');
  return {
    slide: withAggregator ? output : null,
    encoder: withAggregator ? `${base}.encoder.onnx` : output,
    aggregator: withAggregator ? `${base}.aggregator.onnx` : null,
  };
}

/**
 * Writes the ONNX graphs of `model` (a SlideModel: slide, encoder and aggregator; an EncoderModel: the
 * encoder alone at `output`). Each file is written beside its place and renamed in, so a failure leaves no
 * half-written model. Returns the files written.
 */
export function exportOnnx(model: SlideModel | EncoderModel, output: string, info: OnnxExportInfo): string[] {
  const m = weightsOf(model);
  const files = onnxExportFiles(output, m.tasks.length > 0);
  const written: string[] = [];
  for (const kind of ['slide', 'encoder', 'aggregator'] as const) {
    const file = files[kind];
    if (!file) continue;
    const bytes = encodeModel(buildOnnxModel(m, kind, info));
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
    try {
      fs.writeFileSync(tmp, bytes);
      fs.renameSync(tmp, file);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    written.push(file);
  }
  return written;
}
