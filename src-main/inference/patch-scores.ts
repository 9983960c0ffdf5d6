/**
 * Each patch's own task probabilities: the task's head applied to the patch's embedding, as if the slide
 * were that patch alone. The aggregator pools z = Σ a_i h_i and the head is linear, so the slide's logits
 * are the attention-weighted mean of these per-patch logits: attention says where the model looks, the
 * score what it sees there (CLAM's instance-level view of the same model).
 */
import type { SlideModel } from '../engine/index.js';

/** Per task (the model's head order): n x classes probabilities (binary: [1 - p, p]). */
export function patchScores(model: SlideModel, embeddings: Float32Array, n: number): Float32Array[] {
  const d = model.outputDim;
  return model.tasks.map((task) => {
    const w = model.getParameter(`heads.${task.name}.weight`);
    const b = model.getParameter(`heads.${task.name}.bias`);
    const outputs = b.length;
    const classes = task.kind === 'binary' ? 2 : outputs;
    const out = new Float32Array(n * classes);
    const logits = new Float64Array(outputs);
    for (let i = 0; i < n; i++) {
      const h = i * d;
      for (let c = 0; c < outputs; c++) {
        let s = b[c]!;
        const row = c * d;
        for (let k = 0; k < d; k++) s += w[row + k]! * embeddings[h + k]!;
        logits[c] = s;
      }
      if (task.kind === 'binary') {
        const p = 1 / (1 + Math.exp(-logits[0]!));
        out[i * 2] = 1 - p;
        out[i * 2 + 1] = p;
      } else {
        let max = -Infinity;
        for (let c = 0; c < outputs; c++) max = Math.max(max, logits[c]!);
        let sum = 0;
        for (let c = 0; c < outputs; c++) sum += Math.exp(logits[c]! - max);
        for (let c = 0; c < outputs; c++) out[i * outputs + c] = Math.exp(logits[c]! - max) / sum;
      }
    }
    return out;
  });
}
