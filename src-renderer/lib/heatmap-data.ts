/**
 * A slide's heatmap data in the window: the layers it offers, each layer's value per patch (attention as
 * its percentile rank on the slide; a task value's probability as it is), the patch under a level-0
 * point, and the top-k most attended patches. Pure.
 */
import type { HeatmapData } from '../../src-main/contract/contract.js';

export interface HeatmapLayerOption {
  id: string;
  label: string;
  /** What the legend's ends mean. */
  low: string;
  high: string;
}

export function layerOptions(data: Pick<HeatmapData, 'tasks'>): HeatmapLayerOption[] {
  const out: HeatmapLayerOption[] = [
    { id: 'attention', label: 'Attention percentile', low: 'least attended', high: 'most attended' },
  ];
  data.tasks.forEach((task, t) => {
    // A binary task's two layers mirror each other: its positive (second) value is enough.
    const values = task.values.length === 2 ? [1] : task.values.map((_, v) => v);
    for (const v of values)
      out.push({ id: `task-${t}-${v}`, label: `${task.name}: ${task.values[v]}`, low: '0', high: '1' });
  });
  return out;
}

/** Each patch's percentile rank of attention (as the main process paints it; see heatmap-render.ts). */
export function attentionPercentiles(attention: readonly number[]): number[] {
  const n = attention.length;
  const order = attention.map((_, i) => i).sort((a, b) => attention[a]! - attention[b]!);
  const out = new Array<number>(n).fill(0);
  for (let k = 0; k < n;) {
    let j = k;
    while (j + 1 < n && attention[order[j + 1]!] === attention[order[k]!]) j++;
    for (let t = k; t <= j; t++) out[order[t]!] = n > 1 ? j / (n - 1) : 1;
    k = j + 1;
  }
  return out;
}

export function layerValues(data: HeatmapData, layer: string): number[] {
  if (layer === 'attention') return attentionPercentiles(data.attention);
  const m = /^task-(\d+)-(\d+)$/.exec(layer);
  const task = m ? data.tasks[+m[1]!] : undefined;
  if (!m || !task) return data.x.map(() => 0);
  const classes = task.values.length;
  const scores = data.scores[+m[1]!]!;
  return data.x.map((_, i) => scores[i * classes + +m[2]!]!);
}

/** The patch covering level-0 point (x, y), or -1. */
export function patchAt(data: Pick<HeatmapData, 'x' | 'y' | 'extent'>, x: number, y: number): number {
  for (let i = 0; i < data.x.length; i++) {
    const px = data.x[i]!;
    const py = data.y[i]!;
    if (x >= px && x < px + data.extent && y >= py && y < py + data.extent) return i;
  }
  return -1;
}

/** The k most attended patches, most first (ties by grid order). */
export function topAttended(data: Pick<HeatmapData, 'attention'>, k: number): number[] {
  return data.attention
    .map((a, i) => [a, i] as const)
    .sort((p, q) => q[0] - p[0] || p[1] - q[1])
    .slice(0, k)
    .map(([, i]) => i);
}
