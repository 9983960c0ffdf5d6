/**
 * The heatmap colour maps, as stops sampled from matplotlib's (viridis, inferno, turbo, coolwarm) and
 * interpolated linearly: the main process paints tiles with them, the renderer draws the legend with the
 * same stops. Pure, no imports: the renderer bundles this file.
 */

export type ColorMapId = 'viridis' | 'inferno' | 'turbo' | 'coolwarm';

type Rgb = [number, number, number];

const STOPS: Record<ColorMapId, Rgb[]> = {
  viridis: [
    [68, 1, 84],
    [71, 44, 122],
    [59, 81, 139],
    [44, 113, 142],
    [33, 144, 141],
    [39, 173, 129],
    [92, 200, 99],
    [170, 220, 50],
    [253, 231, 37],
  ],
  inferno: [
    [0, 0, 4],
    [31, 12, 72],
    [85, 15, 109],
    [136, 34, 106],
    [186, 54, 85],
    [227, 89, 51],
    [249, 140, 10],
    [249, 201, 50],
    [252, 255, 164],
  ],
  turbo: [
    [48, 18, 59],
    [70, 107, 227],
    [40, 188, 235],
    [50, 241, 151],
    [164, 252, 60],
    [238, 207, 58],
    [251, 128, 34],
    [209, 49, 5],
    [122, 4, 3],
  ],
  coolwarm: [
    [59, 76, 192],
    [124, 159, 249],
    [221, 221, 221],
    [244, 154, 123],
    [180, 4, 38],
  ],
};

export const COLOR_MAP_IDS = Object.keys(STOPS) as ColorMapId[];

export function isColorMapId(v: string): v is ColorMapId {
  return Object.prototype.hasOwnProperty.call(STOPS, v);
}

/** The colour of `t` (clamped to 0..1) in the map. */
export function colorAt(map: ColorMapId, t: number): Rgb {
  const stops = STOPS[map];
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i]!;
  const b = stops[i + 1]!;
  return [
    Math.round(a[0] + (b[0] - a[0]) * f),
    Math.round(a[1] + (b[1] - a[1]) * f),
    Math.round(a[2] + (b[2] - a[2]) * f),
  ];
}

/** A CSS linear-gradient of the map, low at the left (the legend). */
export function colorMapGradient(map: ColorMapId): string {
  const stops = STOPS[map];
  const parts = stops.map((c, i) => `rgb(${c.join(',')}) ${Math.round((100 * i) / (stops.length - 1))}%`);
  return `linear-gradient(to right, ${parts.join(', ')})`;
}
