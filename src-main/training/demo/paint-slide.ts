/**
 * Paints one synthetic H&E slide at 0.5 µm/px: glass with a faint tint, one to four pieces of tissue of
 * varied shape (a resection, needle-biopsy strips or fragments) made of stroma (pink, streaked, sparse
 * spindle nuclei), cellular sheets (round nuclei), fat (empty cells with thin membranes) and lymphoid
 * aggregates (small dark nuclei); optionally a tissue fold and a pen stroke. Colours are made in optical
 * density from haematoxylin and eosin concentrations and per-slide stain vectors (Beer-Lambert), so stain
 * variation and HED augmentation act on them as on real slides.
 *
 * Every slide has a few dense cellular sheets, each 1.5-2.5 patches across (224 px at 0.5 µm/px). On a
 * positive slide those sheets carry the signal: large, irregular, vesicular nuclei (dark rim, pale centre,
 * a prominent nucleolus; "nuclear pleomorphism"), placed at the density that gives the same optical
 * density per unit area as the normal sheets (within a few percent), so that the sheets' mean colour does
 * not tell the classes apart; a rare such nucleus is scattered through every slide's cellular tissue too,
 * so a single one does not either. What separates the classes is the shape and texture of many nuclei
 * together over a patch. Measured on generated slides: a frozen randomly initialised ViT's embeddings
 * separate positive from negative sheet patches only weakly (patch-level AUROC about 0.7 for a logistic
 * regression on them, 0.64 on mean colour), while the same small ViT trained on the patch labels
 * separates them almost perfectly within a hundred steps.
 */
import { Random } from '../random.js';
import { CoarseField, pixelNoise, ValueNoise } from './noise.js';

export interface DemoSlidePlan {
  seed: number;
  width: number;
  height: number;
  /** Carries the signal (its cellular sheets have pleomorphic nuclei). */
  positive: boolean;
  /** Share of the tissue area covered by cellular sheets (the signal's area on positive slides). */
  sheetArea: number;
  pen: boolean;
  fold: boolean;
}

export interface PaintedSlide {
  width: number;
  height: number;
  rgba: Uint8Array;
  /** Per pixel: 0 glass, 1 tissue, 2 ink (on glass or tissue), 3 fat (tissue, but nearly unstained). */
  truth: Uint8Array;
  /** Per pixel: 1 inside a cellular sheet (on positive slides, where the signal is). */
  sheets: Uint8Array;
}

/** Pixels per cell of the coarse layout fields. */
const CELL = 16;
/** Spacing of the jittered grid nuclei are placed on. */
const NUCLEUS_GRID = 10;
/**
 * Share of the nuclei of ordinary cellular tissue that are pleomorphic, on every slide (benign tissue has
 * the odd atypical nucleus). Kept rare: at the micro model's 32 px (16 µm) patches a patch holds one or two
 * nuclei, so each scattered one makes a patch that looks like a positive sheet's. The micro ViT trained on
 * patch labels (positive-sheet patches against all of negative slides') reached patch AUROC 0.86 at 3%, 0.95
 * at 0.4% (test/bench/RESULTS.md, training-acceptance).
 */
const SCATTERED_ATYPIA = 0.004;

// Nucleus kinds.
const ROUND = 0;
const SPINDLE = 1;
const LYMPHOCYTE = 2;
const PLEOMORPHIC = 3;

interface Ellipse {
  cx: number;
  cy: number;
  rx: number;
  ry: number;
  angle: number;
}

export function paintSlide(plan: DemoSlidePlan): PaintedSlide {
  const { width: W, height: H, seed } = plan;
  const rng = new Random(seed, 1);
  const noiseA = new ValueNoise(new Random(seed, 2));
  const noiseB = new ValueNoise(new Random(seed, 3));
  const noiseC = new ValueNoise(new Random(seed, 4));
  const pixelSeed = new Random(seed, 5).nextUint32();

  // --- Layout: tissue pieces, compartments, sheets, fold (coarse fields). ---
  const pieces = tissuePieces(rng, W, H);
  const margin = 0.05 * Math.min(W, H);
  const tissue = new CoarseField(W, H, CELL, (x, y) => {
    let f = -1;
    for (const e of pieces) f = Math.max(f, 1 - ellipseDistance(e, x, y));
    f += 0.5 * (noiseA.fractal(x / 180, y / 180, 3) - 0.5);
    const border = Math.min(x, y, W - x, H - y);
    if (border < margin) f -= 2 * (1 - border / margin);
    return f;
  });
  const cellularShift = rng.uniform(-0.06, 0.06);
  const cellular = new CoarseField(W, H, CELL, (x, y) =>
    smoothstep(0.5 + cellularShift, 0.62 + cellularShift, noiseB.fractal(x / 260, y / 260, 3)),
  );
  const fatLevel = rng.uniform(0.62, 0.78);
  const fat = new CoarseField(W, H, CELL, (x, y) =>
    smoothstep(fatLevel, fatLevel + 0.06, noiseC.fractal(x / 300 + 40, y / 300 + 40, 2)),
  );
  const lymph = new CoarseField(W, H, CELL);
  for (let k = rng.int(4); k > 0; k--) {
    const at = pointInTissue(rng, tissue, W, H, 0.2);
    if (at) paintBlob(lymph, at[0], at[1], rng.uniform(50, 130), noiseA);
  }
  const sheets = new CoarseField(W, H, CELL);
  const tissueArea = fieldArea(tissue, (v) => v > 0);
  let sheetArea = 0;
  for (let tries = 0; tries < 200 && sheetArea < plan.sheetArea * tissueArea; tries++) {
    const at = pointInTissue(rng, tissue, W, H, 0.3);
    if (!at) break;
    // A few sheets 1.5-2.5 patches across (at 224 px), so that most patches they touch are mostly sheet;
    // the last one no larger than the area still wanted (down to one patch across).
    const wanted = Math.sqrt(Math.max(0, plan.sheetArea * tissueArea - sheetArea) / Math.PI);
    paintBlob(sheets, at[0], at[1], Math.max(115, Math.min(rng.uniform(170, 280), wanted)), noiseB);
    sheetArea = fieldArea(sheets, (v, i) => v > 0.5 && tissue.values[i]! > 0);
  }
  const fold = new CoarseField(W, H, CELL);
  if (plan.fold) paintFold(rng, fold, tissue, noiseC, W, H);

  // --- Per-slide stain and scanner variation. ---
  const jitter = (v: number[], s: number) => normalise(v.map((c) => c * (1 + s * rng.normal())));
  const hVec = jitter([0.65, 0.7, 0.29], 0.08);
  const eVec = jitter([0.1, 0.8, 0.35], 0.1);
  const hScale = rng.uniform(0.85, 1.15);
  const eScale = rng.uniform(0.75, 1.2);
  const glass = [rng.uniform(0.02, 0.05), rng.uniform(0.02, 0.06), rng.uniform(0.01, 0.05)];
  const streakAngle = rng.uniform(0, Math.PI);

  // --- Nuclei: haematoxylin painted into its own layer. ---
  const nucleusH = new Float32Array(W * H);
  const nrng = new Random(seed, 6);
  for (let gy = 0; gy * NUCLEUS_GRID < H; gy++) {
    for (let gx = 0; gx * NUCLEUS_GRID < W; gx++) {
      const x = (gx + nrng.next()) * NUCLEUS_GRID;
      const y = (gy + nrng.next()) * NUCLEUS_GRID;
      const u = nrng.next();
      if (x >= W || y >= H || tissue.at(x, y) <= 0.02) continue;
      const l = lymph.at(x, y);
      const s = sheets.at(x, y) > 0.5 ? 1 : 0;
      const c = Math.max(cellular.at(x, y), s);
      const f = fat.at(x, y) * (1 - c);
      const stroma = Math.max(0, 1 - c - f - l);
      const pl = 0.75 * l;
      // Sheets are denser than the cellular background; pleomorphic sheets fewer (larger) nuclei per area
      // at the same haematoxylin per area.
      const pSheet = s ? (plan.positive ? 0.12 : 0.26) : 0;
      const pc = s ? 0 : 0.2 * c;
      const ps = 0.05 * stroma;
      let kind = -1;
      if (u < pl) kind = LYMPHOCYTE;
      else if (u < pl + pSheet) kind = plan.positive ? PLEOMORPHIC : ROUND;
      else if (u < pl + pSheet + pc) kind = nrng.next() < SCATTERED_ATYPIA ? PLEOMORPHIC : ROUND;
      else if (u < pl + pSheet + pc + ps) kind = SPINDLE;
      if (kind >= 0) paintNucleus(nucleusH, W, H, x, y, kind, streakAngle, nrng, pixelSeed);
    }
  }

  // --- Pen stroke: ink alpha painted into its own layer. ---
  const ink = new Uint8Array(plan.pen ? W * H : 0);
  let inkColour = [0, 0, 0];
  if (plan.pen) inkColour = paintPenStroke(rng, ink, tissue, W, H);

  // --- Compose: optical density per pixel, then RGB. ---
  const rgba = new Uint8Array(W * H * 4);
  const truth = new Uint8Array(W * H);
  const sheetMask = new Uint8Array(W * H);
  const fatCell = 90;
  const cosA = Math.cos(streakAngle);
  const sinA = Math.sin(streakAngle);
  // Cell coordinates of every column, shared by all the coarse fields.
  const colCell = new Int32Array(W);
  const colFrac = new Float32Array(W);
  for (let x = 0; x < W; x++) {
    colCell[x] = Math.floor(x / CELL);
    colFrac[x] = x / CELL - colCell[x]!;
  }
  // Glass: its colour once; per pixel only the grain, to first order (exp(-g) ~ 1 - g for tiny g).
  const glassRgb = glass.map((od) => 255 * Math.exp(-od));
  for (let y = 0; y < H; y++) {
    const j = Math.floor(y / CELL);
    const fy = y / CELL - j;
    for (let x = 0; x < W; x++) {
      const p = y * W + x;
      const i = colCell[x]!;
      const fx = colFrac[x]!;
      const t = tissue.atCell(i, fx, j, fy) + 0.03 * (pixelNoise(pixelSeed, x >> 2, y >> 2) - 0.5);
      const grain = 0.012 * (pixelNoise(pixelSeed + 1, x, y) - 0.5);
      let r: number;
      let g: number;
      let b: number;
      if (t > 0) {
        truth[p] = 1;
        const s = sheets.atCell(i, fx, j, fy) > 0.5 ? 1 : 0;
        sheetMask[p] = s;
        const c = Math.max(cellular.atCell(i, fx, j, fy), s);
        const l = lymph.atCell(i, fx, j, fy);
        const f = fat.atCell(i, fx, j, fy) * (1 - c);
        const stroma = Math.max(0, 1 - c - f - l);
        let eTissue = 0;
        let hTissue = 0.07;
        if (stroma > 0) {
          const along = (x * cosA + y * sinA) / 50;
          const across = (-x * sinA + y * cosA) / 3;
          const streak = noiseA.at(along, across) * 0.6 + noiseB.at(along * 3, across * 0.7) * 0.4;
          eTissue += stroma * (0.35 + 0.55 * streak);
        }
        if (c > 0) {
          eTissue += c * (0.38 + 0.15 * noiseC.at(x / 5, y / 5));
          hTissue += c * 0.1;
        }
        if (l > 0) {
          eTissue += l * 0.2;
          hTissue += l * 0.1;
        }
        if (f > 0.01) {
          const edge = worleyEdge(x, y, fatCell, seed);
          const membrane = edge < 2.5 ? 0.55 : edge < 4 ? 0.25 : 0.02;
          eTissue = eTissue * (1 - f) + membrane * f;
          hTissue = hTissue * (1 - f) + 0.03 * f;
          if (f > 0.5) truth[p] = 3;
        }
        const nucleus = nucleusH[p]!;
        const edgeFade = Math.min(1, t / 0.06);
        const thick = (1 + 0.9 * fold.atCell(i, fx, j, fy)) * edgeFade;
        const hC = (hTissue + nucleus) * thick * hScale;
        const eC = eTissue * (1 - 0.5 * Math.min(1, nucleus)) * thick * eScale;
        r = 255 * Math.exp(-(hC * hVec[0]! + eC * eVec[0]! + glass[0]! + grain));
        g = 255 * Math.exp(-(hC * hVec[1]! + eC * eVec[1]! + glass[1]! + grain));
        b = 255 * Math.exp(-(hC * hVec[2]! + eC * eVec[2]! + glass[2]! + grain));
      } else {
        r = glassRgb[0]! * (1 - grain);
        g = glassRgb[1]! * (1 - grain);
        b = glassRgb[2]! * (1 - grain);
      }
      if (plan.pen) {
        const a = ink[p]! / 255;
        if (a > 0) {
          r = r * (1 - a) + inkColour[0]! * a;
          g = g * (1 - a) + inkColour[1]! * a;
          b = b * (1 - a) + inkColour[2]! * a;
          if (a > 0.5) truth[p] = 2;
        }
      }
      rgba[p * 4] = r;
      rgba[p * 4 + 1] = g;
      rgba[p * 4 + 2] = b;
      rgba[p * 4 + 3] = 255;
    }
  }
  return { width: W, height: H, rgba, truth, sheets: sheetMask };
}

function smoothstep(a: number, b: number, v: number): number {
  const t = Math.min(1, Math.max(0, (v - a) / (b - a)));
  return t * t * (3 - 2 * t);
}

function normalise(v: number[]): number[] {
  const n = Math.hypot(...v);
  return v.map((c) => c / n);
}

function ellipseDistance(e: Ellipse, x: number, y: number): number {
  const dx = x - e.cx;
  const dy = y - e.cy;
  const c = Math.cos(e.angle);
  const s = Math.sin(e.angle);
  const u = (dx * c + dy * s) / e.rx;
  const v = (-dx * s + dy * c) / e.ry;
  return Math.sqrt(u * u + v * v);
}

/** A resection (one large piece), needle-biopsy strips, or a few fragments. */
function tissuePieces(rng: Random, W: number, H: number): Ellipse[] {
  const m = Math.min(W, H);
  const kind = rng.int(3);
  const pieces: Ellipse[] = [];
  if (kind === 0) {
    pieces.push({
      cx: W * rng.uniform(0.42, 0.58),
      cy: H * rng.uniform(0.42, 0.58),
      rx: m * rng.uniform(0.36, 0.44),
      ry: m * rng.uniform(0.3, 0.38),
      angle: rng.uniform(0, Math.PI),
    });
  } else if (kind === 1) {
    const n = 2 + rng.int(2);
    const angle = rng.uniform(-0.3, 0.3) + (W > H ? 0 : Math.PI / 2);
    for (let i = 0; i < n; i++) {
      const along = W > H ? W : H;
      const offset = ((i + 0.5) / n - 0.5) * 0.75 * m;
      pieces.push({
        cx: W / 2 + (W > H ? rng.uniform(-0.05, 0.05) * W : offset),
        cy: H / 2 + (W > H ? offset : rng.uniform(-0.05, 0.05) * H),
        rx: along * rng.uniform(0.3, 0.4),
        ry: m * rng.uniform(0.09, 0.12),
        angle: angle + rng.uniform(-0.08, 0.08),
      });
    }
  } else {
    const n = 2 + rng.int(3);
    for (let i = 0; i < n; i++) {
      pieces.push({
        cx: W * rng.uniform(0.25, 0.75),
        cy: H * rng.uniform(0.25, 0.75),
        rx: m * rng.uniform(0.17, 0.26),
        ry: m * rng.uniform(0.14, 0.22),
        angle: rng.uniform(0, Math.PI),
      });
    }
  }
  return pieces;
}

/** A random point well inside tissue (field value above `depth`), or null after many tries. */
function pointInTissue(
  rng: Random,
  tissue: CoarseField,
  W: number,
  H: number,
  depth: number,
): [number, number] | null {
  for (let i = 0; i < 500; i++) {
    const x = rng.uniform(0, W);
    const y = rng.uniform(0, H);
    if (tissue.at(x, y) > depth) return [x, y];
  }
  return null;
}

/** Raises `field` to 1 inside a roughly round blob of radius r (its outline wobbles with the noise). */
function paintBlob(field: CoarseField, cx: number, cy: number, r: number, noise: ValueNoise): void {
  const reach = r * 1.5;
  for (let j = Math.max(0, Math.floor((cy - reach) / field.cell)); j < field.rows; j++) {
    const y = j * field.cell;
    if (y > cy + reach) break;
    for (let i = Math.max(0, Math.floor((cx - reach) / field.cell)); i < field.columns; i++) {
      const x = i * field.cell;
      if (x > cx + reach) break;
      const d = Math.hypot(x - cx, y - cy) / (r * (0.8 + 0.5 * noise.at(x / 60 + 91, y / 60 + 13)));
      const v = smoothstep(1.05, 0.95, d);
      const k = j * field.columns + i;
      field.values[k] = Math.max(field.values[k]!, v);
    }
  }
}

/** Area in pixels of the coarse cells whose value passes `test`. */
function fieldArea(field: CoarseField, test: (v: number, index: number) => boolean): number {
  let n = 0;
  field.values.forEach((v, i) => {
    if (test(v, i)) n++;
  });
  return n * field.cell * field.cell;
}

/** A fold: a band 25-60 px wide along a gently curved line through the tissue, where it lies doubled. */
function paintFold(
  rng: Random,
  fold: CoarseField,
  tissue: CoarseField,
  noise: ValueNoise,
  W: number,
  H: number,
): void {
  const at = pointInTissue(rng, tissue, W, H, 0.2);
  if (!at) return;
  const angle = rng.uniform(0, Math.PI);
  const half = rng.uniform(12, 30);
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  for (let j = 0; j < fold.rows; j++) {
    for (let i = 0; i < fold.columns; i++) {
      const x = i * fold.cell;
      const y = j * fold.cell;
      const along = (x - at[0]) * c + (y - at[1]) * s;
      const across = -(x - at[0]) * s + (y - at[1]) * c + 120 * (noise.at(along / 400 + 7, 3.5) - 0.5);
      fold.values[j * fold.columns + i] = smoothstep(half + fold.cell, half, Math.abs(across));
    }
  }
}

/** Distance from (x, y) to the nearest boundary between fat cells (a jittered-grid Voronoi diagram). */
function worleyEdge(x: number, y: number, cell: number, seed: number): number {
  const ci = Math.floor(x / cell);
  const cj = Math.floor(y / cell);
  let d1 = Infinity;
  let d2 = Infinity;
  for (let j = cj - 1; j <= cj + 1; j++) {
    for (let i = ci - 1; i <= ci + 1; i++) {
      const px = (i + 0.15 + 0.7 * pixelNoise(seed, i, j)) * cell;
      const py = (j + 0.15 + 0.7 * pixelNoise(seed + 7, i, j)) * cell;
      const d = Math.hypot(x - px, y - py);
      if (d < d1) {
        d2 = d1;
        d1 = d;
      } else if (d < d2) d2 = d;
    }
  }
  return (d2 - d1) / 2;
}

/** Adds one nucleus's haematoxylin to `layer` (W x H). */
function paintNucleus(
  layer: Float32Array,
  W: number,
  H: number,
  cx: number,
  cy: number,
  kind: number,
  streakAngle: number,
  rng: Random,
  pixelSeed: number,
): void {
  let rx: number;
  let ry: number;
  let angle = rng.uniform(0, Math.PI);
  let intensity: number;
  if (kind === ROUND) {
    rx = rng.uniform(5, 7);
    ry = rx / rng.uniform(1, 1.3);
    intensity = rng.uniform(1.55, 1.95);
  } else if (kind === SPINDLE) {
    rx = rng.uniform(8, 12);
    ry = rng.uniform(2.2, 3);
    angle = streakAngle + rng.uniform(-0.25, 0.25);
    intensity = rng.uniform(1.7, 2.1);
  } else if (kind === LYMPHOCYTE) {
    rx = ry = rng.uniform(3.5, 4.5);
    intensity = rng.uniform(2.1, 2.5);
  } else {
    rx = ry = rng.uniform(8.5, 11.5);
    intensity = rng.uniform(1.75, 2.05);
  }
  // Pleomorphic outline: the radius wobbles with the 2nd and 3rd harmonics of the angle.
  const a2 = kind === PLEOMORPHIC ? rng.uniform(0.04, 0.14) : 0;
  const a3 = kind === PLEOMORPHIC ? rng.uniform(0.03, 0.1) : 0;
  const p2 = rng.uniform(0, 2 * Math.PI);
  const p3 = rng.uniform(0, 2 * Math.PI);
  const nucleolusAngle = rng.uniform(0, 2 * Math.PI);
  const nucleolusAt = rng.uniform(0, 0.35) * rx;
  const nx = cx + nucleolusAt * Math.cos(nucleolusAngle);
  const ny = cy + nucleolusAt * Math.sin(nucleolusAngle);
  const nr = rng.uniform(1.8, 2.5);
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const reach = Math.ceil(Math.max(rx, ry) * 1.3) + 1;
  const minR = Math.min(rx, ry);
  for (let y = Math.max(0, Math.floor(cy - reach)); y <= Math.min(H - 1, cy + reach); y++) {
    for (let x = Math.max(0, Math.floor(cx - reach)); x <= Math.min(W - 1, cx + reach); x++) {
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      const u = (dx * c + dy * s) / rx;
      const v = (-dx * s + dy * c) / ry;
      let rho = Math.sqrt(u * u + v * v);
      if (kind === PLEOMORPHIC) {
        const theta = Math.atan2(dy, dx);
        rho /= 1 + a2 * Math.cos(2 * theta + p2) + a3 * Math.cos(3 * theta + p3);
      }
      const cover = Math.min(1, Math.max(0, (1 - rho) * minR + 0.5));
      if (cover <= 0) continue;
      const grain = pixelNoise(pixelSeed, x >> 1, y >> 1);
      let h: number;
      if (kind === PLEOMORPHIC) {
        // Chromatin along the membrane, a pale centre, one dark nucleolus.
        h = rho > 0.7 ? intensity * (0.85 + 0.3 * grain) : 0.5 + 0.25 * grain;
        const dn = Math.hypot(x + 0.5 - nx, y + 0.5 - ny);
        h = Math.max(h, Math.min(1, nr - dn + 0.5) * 2.5);
      } else h = intensity * (0.75 + 0.5 * grain);
      const p = y * W + x;
      layer[p] = Math.max(layer[p]!, h * cover);
    }
  }
}

/**
 * A marker stroke (blue, green or black, 60-110 px wide) curving past the tissue, partly over it: the
 * ink's opacity per pixel goes into `ink`; returns the ink's RGB.
 */
function paintPenStroke(rng: Random, ink: Uint8Array, tissue: CoarseField, W: number, H: number): number[] {
  const colours = [
    [40, 70, 170],
    [40, 135, 75],
    [22, 22, 28],
  ];
  const colour = colours[rng.int(colours.length)]!;
  const radius = rng.uniform(30, 55);
  const start = pointInTissue(rng, tissue, W, H, 0) ?? [W / 2, H / 2];
  let x = start[0];
  let y = start[1];
  let heading = rng.uniform(0, 2 * Math.PI);
  const turn = rng.uniform(-0.004, 0.004);
  const length = rng.uniform(0.6, 1.2) * Math.min(W, H);
  const r2 = radius * radius;
  for (let step = 0; step < length; step += 2) {
    heading += turn * 2 + 0.01 * rng.normal();
    x += 2 * Math.cos(heading);
    y += 2 * Math.sin(heading);
    for (let yy = Math.max(0, Math.floor(y - radius)); yy <= Math.min(H - 1, y + radius); yy++) {
      for (let xx = Math.max(0, Math.floor(x - radius)); xx <= Math.min(W - 1, x + radius); xx++) {
        const d2 = (xx - x) ** 2 + (yy - y) ** 2;
        if (d2 > r2) continue;
        const a = Math.min(1, (radius - Math.sqrt(d2)) / 3) * 235;
        const p = yy * W + xx;
        if (a > ink[p]!) ink[p] = a;
      }
    }
  }
  return colour;
}
