/**
 * Drawing the shapes of the open slide on a canvas over the viewer, once per frame while the view moves.
 * Only shapes whose boxes meet the view are touched (the index's R-tree); a shape under about three screen
 * pixels is a dot, others are drawn at the level of detail the zoom needs; shapes are batched by colour
 * into paths of a few hundred each, so 10,000 polygons are a few dozen fills and strokes. The canvas works
 * in level-0 pixels through its transform, so no coordinate is converted in JavaScript. Two layers: the
 * shapes (drawShapes, a drawing its caller may spread over frames) and what goes on top of them on every
 * frame (drawOnTop: selection, hover, the shape being edited or drawn).
 */
import type { AnnotationGeometry, Position } from '../../../src-main/contract/contract.js';
import { partsOf } from './shape-geometry.js';
import type { IndexedShape, ShapeIndex } from './shape-index.js';

import type { ViewTransform } from '../view-transform.js';

export interface Preview {
  kind: 'area' | 'line' | 'points' | 'brush';
  points: Position[];
  color: string;
  /** The brush's radius in level-0 pixels. */
  radius?: number;
  erase?: boolean;
}

/** What the shapes layer (every shape but those drawn on top) needs. */
export interface ShapesState {
  index: ShapeIndex;
  visible: boolean;
  colorOf: (classId: number | null) => string;
  /** Shapes left out of this layer: they are drawn on top (the selection, the shape being edited). */
  exclude: ReadonlySet<number>;
  /** A frame in the middle of a pan or zoom: many shapes are filled coarsely, not outlined. */
  quick?: boolean;
}

/** What is drawn over the shapes layer on every frame, so that it follows the pointer at once. */
export interface TopState {
  index: ShapeIndex;
  visible: boolean;
  colorOf: (classId: number | null) => string;
  selected: ReadonlySet<number>;
  hovered: number | null;
  /** The selection being dragged, by this much (level-0 pixels). */
  moving: { dx: number; dy: number } | null;
  /** A shape whose vertex is being dragged, with its geometry as it is now. */
  editing: { id: number; geometry: AnnotationGeometry } | null;
  /** Handles are drawn on the vertices of this shape. */
  handlesFor: number | null;
  preview: Preview | null;
  /** Shapes missing from the shapes layer shown (left out when they were selected) and not selected now. */
  plain: Iterable<number>;
}

export interface DrawStats {
  shapes: number;
  dots: number;
}

const SELECTED = '#ffd23f';
const DOT_BELOW_PX = 3;
/**
 * Areas smaller than this on screen are filled from a few of their vertices and not outlined: outlining
 * thousands of tiny rings is most of a software rasteriser's time, and at that size the fill shows the class.
 */
const SMALL_BELOW_PX = 16;
const SMALL_VERTICES = 12;
/** In a quick frame with more shapes than this in view, every area is drawn as a small one. */
const QUICK_COARSE_ABOVE = 1500;
/** With more shapes than this in view, areas up to CROWDED_SMALL_PX are drawn as small ones. */
const CROWDED_ABOVE = 2500;
const CROWDED_SMALL_PX = 40;
/** Shapes per path, and per step of a drawing spread over frames (each step is timed, so keep it short). */
const PATH_CHUNK = 64;
const MAX_HANDLES = 2000;

function hexToRgba(hex: string, alpha: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

function tracePart(ctx: CanvasRenderingContext2D, p: Float64Array, closed: boolean): void {
  ctx.moveTo(p[0]!, p[1]!);
  for (let i = 2; i < p.length; i += 2) ctx.lineTo(p[i]!, p[i + 1]!);
  if (closed) ctx.closePath();
}

/** A ring with at most about `most` of its vertices, evenly taken: enough for a shape a few pixels wide. */
function traceCoarse(ctx: CanvasRenderingContext2D, p: Float64Array, most: number): void {
  const n = p.length / 2;
  const stride = Math.max(1, Math.floor(n / most)) * 2;
  ctx.moveTo(p[0]!, p[1]!);
  for (let i = stride; i < p.length - 2; i += stride) ctx.lineTo(p[i]!, p[i + 1]!);
  ctx.closePath();
}

function tracePoints(ctx: CanvasRenderingContext2D, p: Float64Array, r: number): void {
  for (let i = 0; i < p.length; i += 2) {
    ctx.moveTo(p[i]! + r, p[i + 1]!);
    ctx.arc(p[i]!, p[i + 1]!, r, 0, 2 * Math.PI);
  }
}

function traceGeometry(ctx: CanvasRenderingContext2D, g: AnnotationGeometry, pointRadius: number): void {
  const area = g.type === 'Polygon' || g.type === 'MultiPolygon';
  for (const part of partsOf(g)) {
    if (g.type === 'Point' || g.type === 'MultiPoint') {
      for (const q of part) {
        ctx.moveTo(q[0]! + pointRadius, q[1]!);
        ctx.arc(q[0]!, q[1]!, pointRadius, 0, 2 * Math.PI);
      }
      continue;
    }
    ctx.moveTo(part[0]![0]!, part[0]![1]!);
    for (let i = 1; i < part.length; i++) ctx.lineTo(part[i]![0]!, part[i]![1]!);
    if (area) ctx.closePath();
  }
}

interface Batch {
  small: IndexedShape[];
  areas: IndexedShape[];
  lines: IndexedShape[];
  points: IndexedShape[];
  dots: IndexedShape[];
}

/** Clears the canvas and sets it to take level-0 pixels; false when the view has no scale yet. */
function begin(ctx: CanvasRenderingContext2D, view: ViewTransform, clear: boolean): boolean {
  const { scale: s, offsetX, offsetY, dpr } = view;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  if (clear) ctx.clearRect(0, 0, view.width, view.height);
  if (!(s > 0)) return false;
  ctx.setTransform(dpr * s, 0, 0, dpr * s, dpr * offsetX, dpr * offsetY);
  // Miter joins: round ones cost the rasteriser an arc per vertex, invisible at these widths.
  ctx.lineJoin = 'miter';
  ctx.lineCap = 'butt';
  return true;
}

function viewBounds(view: ViewTransform): [number, number, number, number] {
  const px = 1 / view.scale;
  return [
    -view.offsetX * px,
    -view.offsetY * px,
    (view.width - view.offsetX) * px,
    (view.height - view.offsetY) * px,
  ];
}

/**
 * The shapes layer: every shape in view but the excluded ones, on a cleared canvas. A generator that yields
 * after each path of at most PATH_CHUNK shapes, so its caller can spread a drawing of thousands of shapes
 * over several frames (on a canvas of its own, which nothing else touches between steps); run to the end
 * it is one drawing.
 */
export function* drawShapes(
  ctx: CanvasRenderingContext2D,
  view: ViewTransform,
  state: ShapesState,
): Generator<void, DrawStats, void> {
  const stats: DrawStats = { shapes: 0, dots: 0 };
  if (!begin(ctx, view, true) || !state.visible) return stats;
  const s = view.scale;
  const px = 1 / s; // one screen pixel in level-0 pixels
  const inView = state.index.search(viewBounds(view));
  const coarse = state.quick === true && inView.length > QUICK_COARSE_ABOVE;
  const smallPx = inView.length > CROWDED_ABOVE ? CROWDED_SMALL_PX : SMALL_BELOW_PX;
  const batches = new Map<string, Batch>();
  for (const e of inView) {
    if (state.exclude.has(e.annotation.id)) continue;
    const color = state.colorOf(e.annotation.classId);
    let b = batches.get(color);
    if (!b) batches.set(color, (b = { areas: [], small: [], lines: [], points: [], dots: [] }));
    const w = (e.maxX - e.minX) * s;
    const h = (e.maxY - e.minY) * s;
    if (w < DOT_BELOW_PX && h < DOT_BELOW_PX) b.dots.push(e);
    else if (e.kind === 'area' && ((w < smallPx && h < smallPx) || coarse)) b.small.push(e);
    else if (e.kind === 'area') b.areas.push(e);
    else if (e.kind === 'line') b.lines.push(e);
    else b.points.push(e);
  }
  const tolerance = 0.5 * px;
  for (const [color, b] of batches) {
    stats.shapes += b.areas.length + b.small.length + b.lines.length + b.points.length;
    // In paths of a few hundred shapes: a software rasteriser's time grows faster than a path's size.
    for (let i = 0; i < b.small.length; i += PATH_CHUNK) {
      yield;
      ctx.fillStyle = hexToRgba(color, 0.55);
      ctx.beginPath();
      for (const e of b.small.slice(i, i + PATH_CHUNK))
        for (const p of e.parts) traceCoarse(ctx, p, SMALL_VERTICES);
      ctx.fill('evenodd');
    }
    stats.dots += b.dots.length;
    for (let i = 0; i < b.areas.length; i += PATH_CHUNK) {
      yield;
      ctx.fillStyle = hexToRgba(color, 0.18);
      ctx.strokeStyle = color;
      ctx.lineWidth = 1.5 * px;
      ctx.beginPath();
      for (const e of b.areas.slice(i, i + PATH_CHUNK))
        for (const p of state.index.partsAt(e, tolerance)) tracePart(ctx, p, true);
      ctx.fill('evenodd');
      ctx.stroke();
    }
    if (b.lines.length) {
      yield;
      ctx.beginPath();
      for (const e of b.lines) for (const p of state.index.partsAt(e, tolerance)) tracePart(ctx, p, false);
      ctx.strokeStyle = color;
      ctx.lineWidth = 2 * px;
      ctx.stroke();
    }
    if (b.points.length) {
      yield;
      ctx.beginPath();
      for (const e of b.points) for (const p of e.parts) tracePoints(ctx, p, 4 * px);
      ctx.fillStyle = color;
      ctx.fill();
      ctx.strokeStyle = 'rgba(0, 0, 0, 0.6)';
      ctx.lineWidth = px;
      ctx.stroke();
    }
    if (b.dots.length) {
      yield;
      ctx.beginPath();
      for (const e of b.dots)
        ctx.rect((e.minX + e.maxX) / 2 - px, (e.minY + e.maxY) / 2 - px, 2 * px, 2 * px);
      ctx.fillStyle = color;
      ctx.fill();
    }
  }
  return stats;
}

/**
 * Over the shapes layer, without clearing: the selected, hovered and edited shapes, those the layer shown
 * lacks, handles and the shape being drawn. A handful of shapes, drawn afresh on every frame; returns how
 * many of them the layer below lacks.
 */
export function drawOnTop(ctx: CanvasRenderingContext2D, view: ViewTransform, state: TopState): number {
  if (!begin(ctx, view, false)) return 0;
  const px = 1 / view.scale;
  const [x0, y0, x1, y1] = viewBounds(view);
  let drawn = 0;
  if (state.visible) {
    const ids = new Set<number>(state.selected);
    if (state.hovered !== null) ids.add(state.hovered);
    if (state.editing) ids.add(state.editing.id);
    const plain = [...state.plain].filter((id) => !ids.has(id));
    const reach = state.moving ? Math.hypot(state.moving.dx, state.moving.dy) : 0;
    const near = (e: IndexedShape) =>
      e.maxX + reach >= x0 && e.minX - reach <= x1 && e.maxY + reach >= y0 && e.minY - reach <= y1;
    for (const id of plain) {
      const e = state.index.get(id);
      if (!e || !near(e)) continue;
      const color = state.colorOf(e.annotation.classId);
      ctx.beginPath();
      traceGeometry(ctx, e.annotation.geometry, 4 * px);
      ctx.fillStyle = hexToRgba(color, e.kind === 'points' ? 1 : 0.18);
      if (e.kind !== 'line') ctx.fill('evenodd');
      ctx.strokeStyle = color;
      ctx.lineWidth = 1.5 * px;
      ctx.stroke();
      drawn++;
    }
    for (const id of ids) {
      const e = state.index.get(id);
      if (!e || !near(e)) continue;
      const selected = state.selected.has(id);
      const g = state.editing?.id === id ? state.editing.geometry : e.annotation.geometry;
      const color = state.colorOf(e.annotation.classId);
      ctx.save();
      if (selected && state.moving) ctx.translate(state.moving.dx, state.moving.dy);
      ctx.beginPath();
      traceGeometry(ctx, g, 5 * px);
      if (e.kind !== 'line') {
        ctx.fillStyle = hexToRgba(color, e.kind === 'points' ? 1 : selected ? 0.28 : 0.24);
        ctx.fill('evenodd');
      }
      if (selected) {
        ctx.strokeStyle = 'rgba(0, 0, 0, 0.55)';
        ctx.lineWidth = 4.5 * px;
        ctx.stroke();
      }
      ctx.strokeStyle = selected ? SELECTED : color;
      ctx.lineWidth = 2.5 * px;
      ctx.stroke();
      if (state.handlesFor === id) drawHandles(ctx, g, px);
      ctx.restore();
      // A shape only hovered is in the layer below as well.
      if (selected) drawn++;
    }
  }
  ctx.lineJoin = 'round';
  ctx.lineCap = 'round';
  if (state.preview) drawPreview(ctx, state.preview, px);
  return drawn;
}

function drawHandles(ctx: CanvasRenderingContext2D, g: AnnotationGeometry, px: number): void {
  const parts = partsOf(g);
  const area = g.type === 'Polygon' || g.type === 'MultiPolygon';
  let count = 0;
  for (const part of parts) count += part.length;
  if (count > MAX_HANDLES) return;
  ctx.beginPath();
  const h = 3.5 * px;
  for (const part of parts) {
    const n = area ? part.length - 1 : part.length;
    for (let i = 0; i < n; i++) ctx.rect(part[i]![0]! - h, part[i]![1]! - h, 2 * h, 2 * h);
  }
  ctx.fillStyle = '#ffffff';
  ctx.fill();
  ctx.strokeStyle = '#1a1c20';
  ctx.lineWidth = px;
  ctx.stroke();
}

function drawPreview(ctx: CanvasRenderingContext2D, p: Preview, px: number): void {
  if (!p.points.length) return;
  ctx.beginPath();
  if (p.kind === 'points') {
    for (const q of p.points) {
      ctx.moveTo(q[0]! + 5 * px, q[1]!);
      ctx.arc(q[0]!, q[1]!, 5 * px, 0, 2 * Math.PI);
    }
    ctx.fillStyle = p.color;
    ctx.fill();
    return;
  }
  ctx.moveTo(p.points[0]![0]!, p.points[0]![1]!);
  for (let i = 1; i < p.points.length; i++) ctx.lineTo(p.points[i]![0]!, p.points[i]![1]!);
  if (p.kind === 'brush') {
    if (p.points.length === 1) ctx.lineTo(p.points[0]![0]! + 0.01, p.points[0]![1]!);
    ctx.strokeStyle = p.erase ? 'rgba(255, 255, 255, 0.45)' : hexToRgba(p.color, 0.45);
    ctx.lineWidth = 2 * (p.radius ?? 10 * px);
    ctx.stroke();
    return;
  }
  if (p.kind === 'area') {
    ctx.closePath();
    ctx.fillStyle = hexToRgba(p.color, 0.18);
    ctx.fill('evenodd');
  }
  ctx.setLineDash([6 * px, 4 * px]);
  ctx.strokeStyle = p.color;
  ctx.lineWidth = 2 * px;
  ctx.stroke();
  ctx.setLineDash([]);
  // Vertices placed so far.
  ctx.beginPath();
  for (const q of p.points) ctx.rect(q[0]! - 3 * px, q[1]! - 3 * px, 6 * px, 6 * px);
  ctx.fillStyle = '#ffffff';
  ctx.fill();
}
