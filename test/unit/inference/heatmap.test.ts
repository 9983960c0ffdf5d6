/**
 * The heatmap's pure parts: the raster file (written whole, read back equal; a cut or foreign file reads as
 * none), attention percentiles (main and renderer agree), Deep Zoom tile areas, the cell lookup at patch
 * edges, the URLs (round trip; anything else is refused), the GeoJSON regions (neighbours merge, holes
 * kept) and the renderer's top-k and hover lookup.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { colorAt, colorMapGradient } from '../../../src-main/contract/heatmap-colors.js';
import { createSlideImageUrls, parseSlideImagePath } from '../../../src-main/contract/slide-image-urls.js';
import { readHeatmap, writeHeatmap, type HeatmapRaster } from '../../../src-main/inference/heatmap-raster.js';
import { heatmapRegions } from '../../../src-main/inference/heatmap-regions.js';
import {
  attentionPercentiles,
  CellIndex,
  deepZoomLevelSize,
  layerValues,
  paintHeatmap,
  tileArea,
} from '../../../src-main/inference/heatmap-render.js';
import * as rendererData from '../../../src-renderer/lib/heatmap-data.js';
import { tempDir } from '../../helpers/temp.js';

/** A 3 x 3 grid of 100 px patches on a 300 x 250 slide, less the centre one. */
function raster(): HeatmapRaster {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let r = 0; r < 3; r++)
    for (let c = 0; c < 3; c++) {
      if (r === 1 && c === 1) continue;
      xs.push(c * 100);
      ys.push(r * 100);
    }
  const n = xs.length;
  const attention = Float32Array.from({ length: n }, (_, i) => (i + 1) / ((n * (n + 1)) / 2));
  return {
    extent: 100,
    width: 300,
    height: 250,
    tasks: [{ name: 'tumour', values: ['no', 'yes'] }],
    probabilities: [[0.25, 0.75]],
    x: Int32Array.from(xs),
    y: Int32Array.from(ys),
    attention,
    scores: [Float32Array.from({ length: 2 * n }, (_, i) => (i % 2 ? i / (2 * n) : 1 - i / (2 * n)))],
  };
}

describe('heatmap raster file', () => {
  it('reads back what was written; a cut, foreign or missing file is no raster', () => {
    const file = path.join(tempDir(), 'a', 'f.heatmap');
    const r = raster();
    writeHeatmap(file, r);
    expect(readHeatmap(file)).toEqual(r);
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 4));
    expect(readHeatmap(file)).toBeNull();
    fs.writeFileSync(file, '{"format":"other"}\n');
    expect(readHeatmap(file)).toBeNull();
    expect(readHeatmap(path.join(tempDir(), 'none.heatmap'))).toBeNull();
    expect(fs.readdirSync(path.dirname(file))).toEqual(['f.heatmap']);
  });
});

describe('heatmap painting', () => {
  it('attention percentiles: ranks 0..1, ties share the higher rank; main and renderer agree', () => {
    const a = [0.1, 0.4, 0.1, 0.4, 0.0];
    expect(Array.from(attentionPercentiles(Float32Array.from(a)))).toEqual([0.5, 1, 0.5, 1, 0]);
    expect(rendererData.attentionPercentiles(a)).toEqual([0.5, 1, 0.5, 1, 0]);
  });

  it('Deep Zoom levels halve rounding up; tiles outside the pyramid are refused', () => {
    expect(deepZoomLevelSize(300, 250, 9)).toEqual([300, 250]);
    expect(deepZoomLevelSize(300, 250, 8)).toEqual([150, 125]);
    expect(deepZoomLevelSize(301, 251, 8)).toEqual([151, 126]);
    expect(tileArea(300, 250, 256, 9, 1, 0)).toEqual({
      scaleX: 1,
      scaleY: 1,
      left: 256,
      top: 0,
      width: 44,
      height: 250,
    });
    expect(tileArea(300, 250, 256, 9, 2, 0)).toBeNull();
    expect(tileArea(300, 250, 256, 10, 0, 0)).toBeNull();
  });

  it('each pixel takes the patch under its centre: edges at the patches, clear where there is none', () => {
    const r = raster();
    const index = new CellIndex(r);
    expect(index.at(99.9, 0)).toBe(0);
    expect(index.at(100, 0)).toBe(1);
    expect(index.at(150, 150)).toBe(-1);
    expect(index.at(150, 240)).toBe(6);
    const values = layerValues(r, 'attention')!;
    const rgba = paintHeatmap(index, values, 'viridis', tileArea(300, 250, 256, 9, 0, 0)!);
    const px = (x: number, y: number) => Array.from(rgba.subarray((y * 256 + x) * 4, (y * 256 + x) * 4 + 4));
    expect(px(150, 150)).toEqual([0, 0, 0, 0]);
    expect(px(0, 0)).toEqual([...colorAt('viridis', 0), 255]);
    expect(px(99, 0)).toEqual(px(0, 0));
    expect(px(100, 0)).not.toEqual(px(0, 0));
    expect(px(250, 249)).toEqual([...colorAt('viridis', 1), 255]);
    expect(layerValues(r, 'task-0-1')![1]).toBeCloseTo(3 / 16, 6);
    expect(layerValues(r, 'task-1-0')).toBeNull();
    expect(layerValues(r, 'task-0-2')).toBeNull();
  });

  it('colour maps run from their first stop to their last', () => {
    expect(colorAt('viridis', 0)).toEqual([68, 1, 84]);
    expect(colorAt('viridis', 1)).toEqual([253, 231, 37]);
    expect(colorAt('inferno', 2)).toEqual(colorAt('inferno', 1));
    expect(colorAt('turbo', Number.NaN)).toEqual(colorAt('turbo', 0));
    expect(colorMapGradient('coolwarm')).toMatch(
      /^linear-gradient\(to right, rgb\(59,76,192\) 0%, .* 100%\)$/,
    );
  });
});

describe('heatmap URLs', () => {
  it('round-trips tiles, the overlay and patches; refuses anything else', () => {
    const urls = createSlideImageUrls('/tiles/', 'p1');
    const ref = { modelKey: 'run-3', layer: 'task-0-1', colorMap: 'inferno' };
    const parse = (u: string) => parseSlideImagePath(u.slice('/tiles/'.length).split('?')[0]!);
    expect(parse(urls.heatmapTile(7, ref, 12, 3, 4))).toEqual({
      kind: 'heatmap',
      slideId: 7,
      heatmap: ref,
      tile: { level: 12, col: 3, row: 4 },
    });
    expect(parse(urls.heatmapOverlay(7, ref))).toEqual({
      kind: 'heatmap',
      slideId: 7,
      heatmap: ref,
      tile: null,
    });
    expect(parse(urls.patch(7, 10.4, 20, 448))).toEqual({
      kind: 'patch',
      slideId: 7,
      x: 10,
      y: 20,
      size: 448,
    });
    for (const bad of [
      '7/heatmap/run-3/../0/0_0.png',
      '7/heatmap/evil/attention/viridis/0/0_0.png',
      '7/heatmap/run-3/attention/viridis/0/0_0.jpg',
      '7/heatmap/run-3/other/viridis/overlay.png',
      '7/patch/1_2.jpg',
    ])
      expect(parseSlideImagePath(bad)).toBeNull();
  });
});

describe('heatmap regions (GeoJSON)', () => {
  it('merges neighbouring patches, keeps holes, and is QuPath-shaped', () => {
    const r = raster();
    const all = heatmapRegions(r, new Float32Array(r.x.length).fill(1), 0.5, {
      name: 'Tumour',
      color: [255, 0, 0],
    });
    expect(all.features).toHaveLength(1);
    const f = all.features[0]!;
    expect(f.geometry.type).toBe('Polygon');
    expect(f.geometry.coordinates).toHaveLength(2); // the ring of eight patches, and the centre as a hole
    expect(f.properties).toMatchObject({
      objectType: 'annotation',
      classification: { name: 'Tumour', color: [255, 0, 0] },
    });
    const corners = heatmapRegions(r, Float32Array.from([1, 0, 1, 0, 0, 0, 0, 0]), 0.5, {
      name: 'x',
      color: [0, 0, 0],
    });
    expect(corners.features.map((g) => g.geometry.coordinates[0]!.length)).toEqual([5, 5]);
    expect(heatmapRegions(r, new Float32Array(8), 0.5, { name: 'x', color: [0, 0, 0] }).features).toEqual([]);
  });
});

describe('renderer heatmap data', () => {
  it('finds the patch under a point and the most attended patches, most first', () => {
    const r = raster();
    const data = { x: Array.from(r.x), y: Array.from(r.y), extent: 100, attention: [0.1, 0.3, 0.3, 0.2] };
    expect(rendererData.patchAt(data, 120, 5)).toBe(1);
    expect(rendererData.patchAt(data, 150, 150)).toBe(-1);
    expect(rendererData.topAttended(data, 3)).toEqual([1, 2, 3]);
    expect(
      rendererData
        .layerOptions({
          tasks: [
            { name: 't', values: ['a', 'b', 'c'] },
            { name: 'u', values: ['n', 'y'] },
          ],
        })
        .map((l) => l.id),
    ).toEqual(['attention', 'task-0-0', 'task-0-1', 'task-0-2', 'task-1-1']);
  });
});
