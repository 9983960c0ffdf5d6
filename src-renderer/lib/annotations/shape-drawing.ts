/**
 * Drawing one shape with a tool, from pointer events in level-0 pixels: rectangle and ellipse by dragging
 * a box, polygon and line by clicking vertices (Enter, a double click, or for a polygon a click on its
 * first vertex ends it), freehand by dragging a lasso, the brush by dragging a stroke, points by clicking.
 * The pointer's distances are judged in screen pixels (`px` is one screen pixel in level-0 pixels), so a
 * shape is as easy to close zoomed in as out. Pure: it says what to make; the caller makes it.
 */
import type { AnnotationGeometry, AnnotationShape, Position } from '../../../src-main/contract/contract.js';
import type { AnnotationTool } from './annotation-keys.js';
import type { Preview } from './overlay-draw.js';
import { ellipseGeometry, polygonGeometry, rectangleGeometry } from './shape-geometry.js';

export interface PointerAt {
  x: number;
  y: number;
  /** One screen pixel in level-0 pixels. */
  px: number;
  altKey: boolean;
}

export type DrawOutcome =
  | { kind: 'create'; geometry: AnnotationGeometry; shape: AnnotationShape }
  | { kind: 'brush'; path: Position[]; radius: number; erase: boolean }
  | { kind: 'point'; point: Position };

/** A click on a polygon's first vertex closes it within this many screen pixels. */
const CLOSE_PX = 8;
/** Freehand and brush paths keep a point every this many screen pixels. */
const STEP_PX = 2;
/** A box smaller than this (screen pixels) is a slip, not a shape. */
const MIN_BOX_PX = 3;

export type DrawingTool = Exclude<AnnotationTool, 'select'>;

export class ShapeDrawing {
  /** Vertices (polygon, line), the box's corners (rectangle, ellipse) or the path (freehand, brush). */
  points: Position[] = [];
  cursor: Position | null = null;
  private dragging = false;
  private erase = false;
  private radius = 0;

  constructor(
    readonly tool: DrawingTool,
    /** The brush's radius in screen pixels. */
    private readonly brushPx = 16,
  ) {}

  /** True while a shape is under way (Escape cancels it, Enter may end it). */
  get active(): boolean {
    return this.points.length > 0;
  }

  down(p: PointerAt): DrawOutcome | null {
    const at: Position = [p.x, p.y];
    switch (this.tool) {
      case 'rectangle':
      case 'ellipse':
      case 'freehand':
        this.points = [at];
        this.dragging = true;
        return null;
      case 'brush':
        this.points = [at];
        this.dragging = true;
        this.erase = p.altKey;
        this.radius = this.brushPx * p.px;
        return null;
      case 'points':
        return { kind: 'point', point: at };
      case 'polygon':
      case 'line': {
        const first = this.points[0];
        if (this.tool === 'polygon' && first && this.points.length >= 3 && near(first, at, CLOSE_PX * p.px))
          return this.finish();
        const last = this.points.at(-1);
        if (!last || !near(last, at, 0.5 * p.px)) this.points.push(at);
        return null;
      }
    }
  }

  move(p: PointerAt): void {
    const at: Position = [p.x, p.y];
    this.cursor = at;
    if (!this.dragging) return;
    if (this.tool === 'rectangle' || this.tool === 'ellipse') this.points = [this.points[0]!, at];
    else if (!near(this.points.at(-1)!, at, STEP_PX * p.px)) this.points.push(at);
  }

  up(p: PointerAt): DrawOutcome | null {
    if (!this.dragging) return null;
    this.move(p);
    this.dragging = false;
    const points = this.points;
    this.points = [];
    switch (this.tool) {
      case 'rectangle':
      case 'ellipse': {
        const [a, b] = points;
        if (
          !a ||
          !b ||
          Math.abs(b[0]! - a[0]!) < MIN_BOX_PX * p.px ||
          Math.abs(b[1]! - a[1]!) < MIN_BOX_PX * p.px
        )
          return null;
        return this.tool === 'rectangle'
          ? { kind: 'create', geometry: rectangleGeometry(a, b), shape: 'rectangle' }
          : { kind: 'create', geometry: ellipseGeometry(a, b), shape: 'ellipse' };
      }
      case 'freehand':
        return points.length >= 3
          ? { kind: 'create', geometry: polygonGeometry(points), shape: 'freehand' }
          : null;
      case 'brush':
        return { kind: 'brush', path: points, radius: this.radius, erase: this.erase };
      default:
        return null;
    }
  }

  /** A double click ends a polygon or a line (its second click added a vertex at the same place). */
  doubleClick(): DrawOutcome | null {
    return this.finish();
  }

  /** Enter: closes a polygon of three or more vertices, ends a line of two or more. */
  finish(): DrawOutcome | null {
    const points = this.points;
    if (this.tool === 'polygon' && points.length >= 3) {
      this.points = [];
      return { kind: 'create', geometry: polygonGeometry(points), shape: 'polygon' };
    }
    if (this.tool === 'line' && points.length >= 2) {
      this.points = [];
      return { kind: 'create', geometry: { type: 'LineString', coordinates: points }, shape: 'line' };
    }
    return null;
  }

  /** Backspace while drawing a polygon or line: takes back the last vertex. */
  undoVertex(): void {
    if (this.tool === 'polygon' || this.tool === 'line') this.points = this.points.slice(0, -1);
  }

  cancel(): void {
    this.points = [];
    this.dragging = false;
  }

  /** What to show of the shape under way, in `color`. */
  preview(color: string, px: number): Preview | null {
    const pts = this.points;
    switch (this.tool) {
      case 'rectangle':
      case 'ellipse': {
        if (pts.length < 2) return null;
        const g =
          this.tool === 'rectangle' ? rectangleGeometry(pts[0]!, pts[1]!) : ellipseGeometry(pts[0]!, pts[1]!);
        return { kind: 'area', points: (g.coordinates as Position[][])[0]!.slice(0, -1), color };
      }
      case 'polygon':
      case 'line':
        if (!pts.length) return null;
        return {
          kind: this.tool === 'polygon' ? 'area' : 'line',
          points: this.cursor ? [...pts, this.cursor] : pts,
          color,
        };
      case 'freehand':
        return pts.length ? { kind: 'area', points: pts, color } : null;
      case 'brush':
        return pts.length
          ? { kind: 'brush', points: pts, color, radius: this.radius || this.brushPx * px, erase: this.erase }
          : null;
      case 'points':
        return null;
    }
  }
}

function near(a: Position, b: Position, d: number): boolean {
  return Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!) <= d;
}
