/**
 * The regions of a heatmap layer at or above a threshold, as QuPath reads annotations from GeoJSON: a
 * FeatureCollection of Polygon features in level-0 pixels, each with properties.objectType "annotation"
 * and a classification { name, color }. Neighbouring patches merge into one region (polygon-clipping's
 * union of the patch squares); a region's holes are kept as the polygon's inner rings.
 */
import * as clipping from 'polygon-clipping';
import type { GeoJsonFeatureCollection } from '../contract/contract.js';
import type { HeatmapRaster } from './heatmap-raster.js';

type Polygon = clipping.Polygon;
// The package is CommonJS: under Node its functions sit on the default export.
const { union } = (clipping as unknown as { default?: typeof clipping }).default ?? clipping;

export function heatmapRegions(
  raster: HeatmapRaster,
  values: Float32Array,
  threshold: number,
  classification: { name: string; color: [number, number, number] },
): GeoJsonFeatureCollection {
  const squares: Polygon[] = [];
  const e = raster.extent;
  for (let i = 0; i < values.length; i++) {
    if (!(values[i]! >= threshold)) continue;
    const x = raster.x[i]!;
    const y = raster.y[i]!;
    squares.push([
      [
        [x, y],
        [x + e, y],
        [x + e, y + e],
        [x, y + e],
        [x, y],
      ],
    ]);
  }
  const merged = squares.length ? union(squares[0]!, ...squares.slice(1)) : [];
  return {
    type: 'FeatureCollection',
    features: merged.map((polygon, k) => ({
      type: 'Feature',
      geometry: {
        type: 'Polygon',
        coordinates: polygon.map((ring) => ring.map(([px, py]) => [round(px!), round(py!)])),
      },
      properties: {
        objectType: 'annotation',
        name: `${classification.name} ${k + 1}`,
        classification,
        measurements: { threshold },
      },
    })),
  };
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
