/**
 * The annotate mode's pure parts: its keys and how they leave the view's and the labeling keys alone, the
 * tools turning pointer events into shapes, the measures the hover card shows, and the spatial index's
 * hit-testing and level of detail.
 */
import { describe, expect, it } from 'vitest';
import type { Annotation, AnnotationGeometry } from '../../../src-main/contract/contract.js';
import { annotationAction } from '../../../src-renderer/lib/annotations/annotation-keys.js';
import { ShapeDrawing, type PointerAt } from '../../../src-renderer/lib/annotations/shape-drawing.js';
import {
  areaOf,
  measuresOf,
  moveVertex,
  vertexNear,
} from '../../../src-renderer/lib/annotations/shape-geometry.js';
import { ShapeIndex } from '../../../src-renderer/lib/annotations/shape-index.js';
import { viewerAction } from '../../../src-renderer/lib/viewer-keys.js';

const plain = (
  key: string,
  more: Partial<{ primary: boolean; shiftKey: boolean; altKey: boolean }> = {},
) => ({
  key,
  primary: false,
  shiftKey: false,
  altKey: false,
  ...more,
});
const at = (x: number, y: number, px = 1, altKey = false): PointerAt => ({ x, y, px, altKey });

function annotation(id: number, geometry: AnnotationGeometry, classId: number | null = 1): Annotation {
  return {
    id,
    slideId: 1,
    classId,
    geometry,
    shape: null,
    name: null,
    objectType: 'annotation',
    properties: null,
    createdAt: '',
    updatedAt: '',
  } as unknown as Annotation;
}

function square(x: number, y: number, side: number): AnnotationGeometry {
  return {
    type: 'Polygon',
    coordinates: [
      [
        [x, y],
        [x + side, y],
        [x + side, y + side],
        [x, y + side],
        [x, y],
      ],
    ],
  };
}

describe('annotate mode keys', () => {
  it('has a key per tool and class, Escape, Enter, Delete and the clipboard', () => {
    expect(annotationAction(plain('p'), 'select', false)).toEqual({ kind: 'tool', tool: 'polygon' });
    expect(annotationAction(plain('R'), 'select', false)).toEqual({ kind: 'tool', tool: 'rectangle' });
    // A tool's key again goes back to select.
    expect(annotationAction(plain('p'), 'polygon', false)).toEqual({ kind: 'tool', tool: 'select' });
    expect(annotationAction(plain('3'), 'select', false)).toEqual({ kind: 'class', position: 2 });
    expect(annotationAction(plain('Escape'), 'polygon', true)).toEqual({ kind: 'cancel' });
    expect(annotationAction(plain('Enter'), 'polygon', true)).toEqual({ kind: 'finish' });
    expect(annotationAction(plain('Enter'), 'polygon', false)).toBeNull();
    expect(annotationAction(plain('Backspace'), 'polygon', true)).toEqual({ kind: 'undo-vertex' });
    expect(annotationAction(plain('Backspace'), 'select', false)).toEqual({ kind: 'delete' });
    expect(annotationAction(plain('Delete'), 'select', false)).toEqual({ kind: 'delete' });
    expect(annotationAction(plain('c', { primary: true }), 'select', false)).toEqual({ kind: 'copy' });
    expect(annotationAction(plain('v', { primary: true }), 'select', false)).toEqual({ kind: 'paste' });
    // Ctrl+Z and Ctrl+Shift+Z stay the session's undo and redo.
    expect(annotationAction(plain('z', { primary: true }), 'select', false)).toBeNull();
    expect(annotationAction(plain('z', { primary: true, shiftKey: true }), 'select', false)).toBeNull();
  });

  it("leaves the view's keys to the view: pan, zoom, fit, step, tissue, and Shift+A to leave", () => {
    for (const k of ['w', 'a', 's', 'd', 'ArrowLeft', '+', '-', '0', 'Home', '[', ']', 'j', 'k', 't'])
      expect(annotationAction(plain(k), 'select', false)).toBeNull();
    expect(annotationAction(plain('a', { shiftKey: true }), 'select', false)).toBeNull();
    // With no labeling panel (annotate mode), the view takes them.
    expect(viewerAction({ key: '0', shiftKey: false }, null, false)).toEqual({ kind: 'fit' });
    expect(viewerAction({ key: 't', shiftKey: false }, null, false)).toEqual({ kind: 'toggle-tissue' });
    expect(viewerAction({ key: 'A', shiftKey: true }, null, false)).toEqual({ kind: 'annotate' });
  });
});

describe('drawing tools', () => {
  it('draws a polygon by clicks, closed by Enter or a click on its first vertex; Backspace takes one back', () => {
    const d = new ShapeDrawing('polygon');
    for (const [x, y] of [
      [0, 0],
      [100, 0],
      [100, 50],
      [70, 70],
    ])
      expect(d.down(at(x!, y!))).toBeNull();
    d.undoVertex();
    const made = d.finish();
    expect(made).toMatchObject({ kind: 'create', shape: 'polygon' });
    if (made?.kind !== 'create') throw new Error('no shape');
    expect(areaOf(made.geometry)).toBeCloseTo(2500);
    expect(d.active).toBe(false);

    const closing = new ShapeDrawing('polygon');
    closing.down(at(0, 0, 2));
    closing.down(at(100, 0, 2));
    closing.down(at(100, 100, 2));
    // Within 8 screen pixels (16 level-0 pixels at this zoom) of the first vertex.
    expect(closing.down(at(10, 5, 2))).toMatchObject({ kind: 'create', shape: 'polygon' });
  });

  it('drags rectangles and ellipses, ignores a slip, and cancels with Escape', () => {
    const r = new ShapeDrawing('rectangle');
    r.down(at(10, 10));
    r.move(at(110, 60));
    const rect = r.up(at(110, 60));
    if (rect?.kind !== 'create') throw new Error('no rectangle');
    expect(areaOf(rect.geometry)).toBeCloseTo(5000);
    const slip = new ShapeDrawing('rectangle');
    slip.down(at(10, 10, 4));
    expect(slip.up(at(15, 15, 4))).toBeNull();
    const e = new ShapeDrawing('ellipse');
    e.down(at(0, 0));
    const ellipse = e.up(at(200, 100));
    if (ellipse?.kind !== 'create') throw new Error('no ellipse');
    // π·100·50 within the polygon's 72 vertices.
    expect(areaOf(ellipse.geometry) / (Math.PI * 100 * 50)).toBeCloseTo(1, 2);
    const cancelled = new ShapeDrawing('freehand');
    cancelled.down(at(0, 0));
    cancelled.move(at(50, 0));
    cancelled.cancel();
    expect(cancelled.active).toBe(false);
  });

  it('makes brush strokes (Alt erases) and points', () => {
    const b = new ShapeDrawing('brush', 10);
    b.down(at(0, 0, 2, true));
    b.move(at(50, 0, 2));
    expect(b.up(at(100, 0, 2))).toMatchObject({ kind: 'brush', radius: 20, erase: true });
    expect(new ShapeDrawing('points').down(at(5, 6))).toEqual({ kind: 'point', point: [5, 6] });
  });
});

describe('measures and vertex editing', () => {
  it('shows area and perimeter in µm² and µm, then mm² and mm, from the slide resolution', () => {
    // 100 × 100 px at 0.5 µm/px: 2,500 µm², perimeter 200 µm.
    expect(measuresOf(square(0, 0, 100), 0.5)).toEqual({ area: '2,500 µm²', length: '200 µm' });
    // 10,000 × 10,000 px at 0.25 µm/px: 6.25 mm², perimeter 10 mm.
    expect(measuresOf(square(0, 0, 10_000), 0.25)).toEqual({ area: '6.25 mm²', length: '10.0 mm' });
    expect(measuresOf(square(0, 0, 10), null)).toEqual({ area: '100 px²', length: '40.0 px' });
  });

  it("moves one vertex, and a ring's first vertex together with its closing copy", () => {
    const g = square(0, 0, 100);
    const ref = vertexNear(g, 2, -1, 5);
    expect(ref).toEqual({ part: 0, index: 0 });
    const moved = moveVertex(g, ref!, -50, -50);
    const ring = (moved.coordinates as number[][][])[0]!;
    expect(ring[0]).toEqual([-50, -50]);
    expect(ring.at(-1)).toEqual([-50, -50]);
    expect(ring[2]).toEqual([100, 100]);
  });
});

describe('shape index', () => {
  it('finds the smallest area under the pointer, and a point near it', () => {
    const index = new ShapeIndex();
    index.load([
      annotation(1, square(0, 0, 1000)),
      annotation(2, square(100, 100, 50)),
      annotation(3, { type: 'MultiPoint', coordinates: [[2000, 2000]] }),
    ]);
    expect(index.hit(120, 120, 2)?.annotation.id).toBe(2);
    expect(index.hit(500, 500, 2)?.annotation.id).toBe(1);
    expect(index.hit(2003, 2000, 5)?.annotation.id).toBe(3);
    expect(index.hit(3000, 3000, 5)).toBeNull();
    expect(index.search([1900, 1900, 2100, 2100]).map((e) => e.annotation.id)).toEqual([3]);
    index.remove(2);
    expect(index.hit(120, 120, 2)?.annotation.id).toBe(1);
  });

  it('draws a many-vertex ring with fewer vertices when zoomed out, never below a triangle', () => {
    const ring: [number, number][] = [];
    for (let i = 0; i < 400; i++) {
      const t = (2 * Math.PI * i) / 400;
      ring.push([1000 + 500 * Math.cos(t), 1000 + 500 * Math.sin(t)]);
    }
    ring.push(ring[0]!);
    const index = new ShapeIndex();
    index.load([annotation(1, { type: 'Polygon', coordinates: [ring] })]);
    const e = index.get(1)!;
    const full = index.partsAt(e, 0.5)[0]!.length / 2;
    const coarse = index.partsAt(e, 16)[0]!.length / 2;
    const tiny = index.partsAt(e, 4096)[0]!.length / 2;
    expect(full).toBe(401);
    expect(coarse).toBeLessThan(full / 4);
    expect(tiny).toBeGreaterThanOrEqual(4);
  });
});
