/**
 * What an exporter needs from a model: its encoder spec, tasks and timm-named parameters with shapes. A
 * SlideModel or EncoderModel of the engine provides it (weightsOf); tests may build one from fixtures.
 */
import type { EncoderModel, EncoderSpec, SlideModel, TaskSpec } from '../engine/index.js';

export interface ModelWeights {
  spec: EncoderSpec;
  /** Empty for an encoder alone. */
  tasks: TaskSpec[];
  shape(name: string): number[];
  get(name: string): Float32Array;
  has(name: string): boolean;
}

export function weightsOf(model: SlideModel | EncoderModel): ModelWeights {
  const shapes = new Map(model.parameterInfo().map((p) => [p.name, p.shape]));
  const tasks = 'tasks' in model ? model.tasks : [];
  return {
    spec: model.spec,
    tasks,
    has: (name) => shapes.has(name),
    shape: (name) => {
      const s = shapes.get(name);
      if (!s) throw new Error(`The model has no parameter ${name}.`);
      return s;
    },
    get: (name) => model.getParameter(name),
  };
}

/** A Linear's weight (out, in) transposed to (in, out), the right operand of MatMul. */
export function transposed(w: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c]!;
  return t;
}
