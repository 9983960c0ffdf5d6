/**
 * Seeded patch augmentations for training: flips, 90° rotations and stain jitter in HED space (Tellez et
 * al. 2018: scale and shift each of the haematoxylin, eosin and DAB optical densities, as in skimage's
 * rgb2hed / hed2rgb with Ruifrok and Johnston's vectors). Each is switched on its own. A patch's draws come
 * from its own key (seed, step, slide, patch), so results do not depend on which worker ran it or when.
 */
import { Random } from './random.js';

export interface AugmentOptions {
  /** Random horizontal and vertical flips (default on). */
  flips?: boolean;
  /** Random rotation by 0, 90, 180 or 270 degrees (default on). */
  rotations?: boolean;
  /**
   * Stain jitter: each stain's optical density is multiplied by a factor drawn from [1 - scale, 1 + scale]
   * and shifted by one from [-shift, shift] (optical density, natural log). Default scale 0.05, shift 0.02
   * ("HED-light"); null = off.
   */
  hed?: { scale: number; shift: number } | null;
  /**
   * Stain jitter of the whole slide: one draw per slide and key (e.g. per epoch) that every patch of it
   * shares, on top of the patch's own (factors multiply, shifts add). A slide's mean stain is what a model
   * trained on a few dozen slides memorises them by; patch-level jitter averages out over a bag, this does
   * not. Null = off (the default).
   */
  hedSlide?: { scale: number; shift: number } | null;
}

export const AUGMENT_DEFAULTS: Required<AugmentOptions> = {
  flips: true,
  rotations: true,
  hed: { scale: 0.05, shift: 0.02 },
  hedSlide: null,
};

/** No augmentation (evaluation). */
export const NO_AUGMENT: Required<AugmentOptions> = {
  flips: false,
  rotations: false,
  hed: null,
  hedSlide: null,
};

/** Ruifrok and Johnston's stain vectors (skimage's rgb_from_hed): rows H, E, DAB; columns R, G, B. */
export const RGB_FROM_HED = [
  [0.65, 0.7, 0.29],
  [0.07, 0.99, 0.11],
  [0.27, 0.57, 0.78],
];
/** Its inverse (skimage's hed_from_rgb). */
export const HED_FROM_RGB = invert3(RGB_FROM_HED);

/** Optical density of each 8-bit value: -ln(max(v, 1) / 255) (0 for white; black is clipped at 1/255). */
const OD = Float64Array.from({ length: 256 }, (_, v) => -Math.log(Math.max(v, 1) / 255));

/** What one patch draws: a transform of the square (flip then rotate) and a stain jitter. */
export interface PatchAugmentation {
  flipX: boolean;
  flipY: boolean;
  /** Quarter turns clockwise. */
  quarterTurns: number;
  /** Per stain (H, E, D): factor and shift; null = no stain change. */
  stain: { scale: [number, number, number]; shift: [number, number, number] } | null;
}

/**
 * The draws for the patch keyed by `key` (e.g. seed, step, slide, patch index); the slide's stain draw
 * (hedSlide) is keyed by the same key less its last element, so all of a slide's patches share it.
 */
export function drawAugmentation(options: AugmentOptions, ...key: number[]): PatchAugmentation {
  const o = { ...AUGMENT_DEFAULTS, ...options };
  const rng = new Random(...key);
  // Always draw every value, so switching one augmentation off does not change the others' draws.
  const flipX = rng.next() < 0.5;
  const flipY = rng.next() < 0.5;
  const quarterTurns = rng.int(4);
  const scale = [0, 0, 0].map(() => rng.uniform(-1, 1)) as [number, number, number];
  const shift = [0, 0, 0].map(() => rng.uniform(-1, 1)) as [number, number, number];
  let stain: PatchAugmentation['stain'] = null;
  if (o.hed || o.hedSlide) {
    const patch = o.hed ?? { scale: 0, shift: 0 };
    stain = {
      scale: scale.map((u) => 1 + u * patch.scale) as [number, number, number],
      shift: shift.map((u) => u * patch.shift) as [number, number, number],
    };
    if (o.hedSlide) {
      const slide = new Random(...key.slice(0, -1), 0x68656473);
      for (let k = 0; k < 3; k++) stain.scale[k]! *= 1 + slide.uniform(-1, 1) * o.hedSlide.scale;
      for (let k = 0; k < 3; k++) stain.shift[k]! += slide.uniform(-1, 1) * o.hedSlide.shift;
    }
  }
  return {
    flipX: o.flips && flipX,
    flipY: o.flips && flipY,
    quarterTurns: o.rotations ? quarterTurns : 0,
    stain,
  };
}

/**
 * Applies `aug` to one size x size RGB patch in place; `scratch` (size² x 3 bytes) is used for the
 * geometric transform.
 */
export function applyAugmentation(
  rgb: Uint8Array,
  size: number,
  aug: PatchAugmentation,
  scratch: Uint8Array,
): void {
  if (aug.flipX || aug.flipY || aug.quarterTurns !== 0) transformSquare(rgb, size, aug, scratch);
  if (aug.stain) jitterStains(rgb, aug.stain.scale, aug.stain.shift);
}

/**
 * Flips (x then y), then rotates clockwise by quarter turns: output pixel (x, y) is read from the input
 * pixel the inverse transform maps it to.
 */
function transformSquare(rgb: Uint8Array, size: number, aug: PatchAugmentation, scratch: Uint8Array): void {
  scratch.set(rgb.subarray(0, size * size * 3));
  const n = size - 1;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      // Undo the rotation: a clockwise quarter turn sends (u, v) to (n - v, u).
      let u = x;
      let v = y;
      for (let k = 0; k < aug.quarterTurns; k++) {
        const t = u;
        u = v;
        v = n - t;
      }
      if (aug.flipY) v = n - v;
      if (aug.flipX) u = n - u;
      const from = (v * size + u) * 3;
      const to = (y * size + x) * 3;
      rgb[to] = scratch[from]!;
      rgb[to + 1] = scratch[from + 1]!;
      rgb[to + 2] = scratch[from + 2]!;
    }
  }
}

/** HED jitter: od' = (od · HED_FROM_RGB · diag(scale) + shift) · RGB_FROM_HED, folded into one 3 x 3 map. */
function jitterStains(rgb: Uint8Array, scale: number[], shift: number[]): void {
  const m: number[][] = [0, 1, 2].map((i) =>
    [0, 1, 2].map((j) => {
      let s = 0;
      for (let k = 0; k < 3; k++) s += HED_FROM_RGB[i]![k]! * scale[k]! * RGB_FROM_HED[k]![j]!;
      return s;
    }),
  );
  const b = [0, 1, 2].map((j) => shift.reduce((s, v, k) => s + v * RGB_FROM_HED[k]![j]!, 0));
  const [m00, m01, m02] = m[0] as [number, number, number];
  const [m10, m11, m12] = m[1] as [number, number, number];
  const [m20, m21, m22] = m[2] as [number, number, number];
  const [b0, b1, b2] = b as [number, number, number];
  for (let p = 0; p < rgb.length; p += 3) {
    const r = OD[rgb[p]!]!;
    const g = OD[rgb[p + 1]!]!;
    const bl = OD[rgb[p + 2]!]!;
    rgb[p] = toByte(255 * Math.exp(-(r * m00 + g * m10 + bl * m20 + b0)));
    rgb[p + 1] = toByte(255 * Math.exp(-(r * m01 + g * m11 + bl * m21 + b1)));
    rgb[p + 2] = toByte(255 * Math.exp(-(r * m02 + g * m12 + bl * m22 + b2)));
  }
}

function toByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

/** Stain densities (H, E, D) of one RGB colour: the optical density times HED_FROM_RGB. */
export function rgbToHed(r: number, g: number, b: number): [number, number, number] {
  const od = [OD[r]!, OD[g]!, OD[b]!];
  return [0, 1, 2].map((j) => od.reduce((s, v, i) => s + v * HED_FROM_RGB[i]![j]!, 0)) as [
    number,
    number,
    number,
  ];
}

function invert3(a: number[][]): number[][] {
  const [[a00, a01, a02], [a10, a11, a12], [a20, a21, a22]] = a as [
    [number, number, number],
    [number, number, number],
    [number, number, number],
  ];
  const c00 = a11 * a22 - a12 * a21;
  const c01 = a12 * a20 - a10 * a22;
  const c02 = a10 * a21 - a11 * a20;
  const det = a00 * c00 + a01 * c01 + a02 * c02;
  return [
    [c00 / det, (a02 * a21 - a01 * a22) / det, (a01 * a12 - a02 * a11) / det],
    [c01 / det, (a00 * a22 - a02 * a20) / det, (a02 * a10 - a00 * a12) / det],
    [c02 / det, (a01 * a20 - a00 * a21) / det, (a00 * a11 - a01 * a10) / det],
  ];
}
