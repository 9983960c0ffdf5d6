/** The annotation commands through dispatch, as either transport calls them, on a real project file. */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type {
  AnnotationGeometry,
  CommandInput,
  CommandName,
  CommandResult,
  EventPayloads,
  Position,
} from '../../../src-main/contract/contract.js';
import { dispatch } from '../../../src-main/api/dispatch.js';
import { createAppServices } from '../../../src-main/api/services.js';
import { geometryArea } from '../../../src-main/contract/annotation-shapes.js';
import { fakeLibrary } from '../../helpers/library.js';
import { repoRoot, tempDir } from '../../helpers/temp.js';

async function app() {
  const dir = tempDir();
  const { project, ids } = await fakeLibrary(dir, ['a.svs', 'b.svs', 'c.svs']);
  project.close();
  const services = createAppServices(tempDir(), 'browser');
  const events: EventPayloads['onLibraryChanged'][] = [];
  services.session.on('onLibraryChanged', (e) => events.push(e));
  const call = async <C extends CommandName>(command: C, input: CommandInput<C> | object = {}) => {
    const r = await dispatch(services.handlers, command, input);
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    return r.value as CommandResult<C>;
  };
  const fail = async (command: string, input: unknown) => {
    const r = await dispatch(services.handlers, command, input);
    if (r.ok) throw new Error(`${command} succeeded`);
    return r.error;
  };
  await call('project.open', { dir });
  return { services, call, fail, ids: ids as [number, number, number], events, dir };
}

const rect = (x: number, y: number, w: number, h: number): AnnotationGeometry => ({
  type: 'Polygon',
  coordinates: [
    [
      [x, y],
      [x + w, y],
      [x + w, y + h],
      [x, y + h],
      [x, y],
    ],
  ],
});

describe('annotations API', () => {
  it('draws, changes and deletes shapes, each one undo step on the session stack shared with labels', async () => {
    const { call, ids, events, services, dir } = await app();
    const { classes } = await call('annotationClasses.list');
    const [tumor, stroma] = classes;
    expect(tumor).toMatchObject({ name: 'Tumor', color: '#c80000', position: 0, annotationCount: 0 });

    const drawn = await call('annotations.edit', {
      slideId: ids[0],
      create: [
        { geometry: rect(100, 100, 200, 100), classId: tumor!.id, shape: 'rectangle' },
        {
          geometry: {
            type: 'Polygon',
            coordinates: [
              [
                [1000, 1000],
                [1100.123, 1000],
                [1050, 1080.456],
                [1000, 1000],
              ],
            ],
          },
          classId: tumor!.id,
          shape: 'polygon',
        },
      ],
    });
    expect(drawn.annotations).toHaveLength(2);
    expect(drawn.undo.undoDescription).toBe('Draw 2 shapes');
    const [box, tri] = drawn.annotations;
    // Coordinates of drawn shapes are kept to 1/100 px, as QuPath writes them.
    expect(tri!.geometry.coordinates[0]).toEqual([
      [1000, 1000],
      [1100.12, 1000],
      [1050, 1080.46],
      [1000, 1000],
    ]);
    expect(events.at(-1)).toMatchObject({
      kinds: ['annotations'],
      slideIds: [ids[0]],
      annotationIds: [box!.id, tri!.id],
    });

    // A label in between: undo walks back through both kinds in order.
    const task = await call('tasks.create', { name: 'tumor', kind: 'binary' });
    await call('labels.set', { slideId: ids[0], taskId: task.id, value: 'yes' });
    const changed = await call('annotations.edit', {
      slideId: ids[0],
      update: [{ id: box!.id, classId: stroma!.id }],
    });
    expect(changed.undo.undoDescription).toBe('Set 1 shape to Stroma');
    const moved = await call('annotations.edit', {
      slideId: ids[0],
      update: [{ id: box!.id, geometry: rect(150, 100, 200, 100) }],
    });
    expect(moved.annotations[0]).toMatchObject({ classId: stroma!.id, shape: 'rectangle' });
    // The stored row, every column (author and times included), as the undo of its removal must restore it.
    const storedRow = () => {
      const db = new Database(path.join(dir, 'project.sqlite'), { readonly: true });
      try {
        return db.prepare('SELECT * FROM annotations WHERE id = ?').get(tri!.id);
      } finally {
        db.close();
      }
    };
    const before = storedRow();
    expect(before).toMatchObject({ author: services.session.author, vertex_count: 4 });
    const removed = await call('annotations.edit', { slideId: ids[0], remove: [tri!.id] });
    expect(removed.removed).toEqual([tri!.id]);
    const list = async () => (await call('annotations.list', { slideId: ids[0] })).annotations;
    expect((await list()).map((a) => a.id)).toEqual([box!.id]);

    expect((await call('edit.undo')).undone).toBe('delete 1 shape');
    expect(events.at(-1)).toMatchObject({ kinds: ['annotations'], annotationIds: [tri!.id] });
    expect((await list()).map((a) => a.id)).toEqual([box!.id, tri!.id]);
    expect(storedRow()).toEqual(before);
    expect((await call('edit.undo')).undone).toBe('edit 1 shape');
    expect((await list())[0]!.geometry).toEqual(rect(100, 100, 200, 100));
    expect((await call('edit.undo')).undone).toBe('set 1 shape to Stroma');
    expect((await list())[0]!.classId).toBe(tumor!.id);
    expect((await call('edit.undo')).undone).toBe('set tumor = yes');
    expect((await call('edit.undo')).undone).toBe('draw 2 shapes');
    expect(await list()).toEqual([]);
    expect((await call('edit.redo')).redone).toBe('draw 2 shapes');
    // Redo puts the same shapes back under the same ids, and their boxes in the spatial index.
    expect((await list()).map((a) => a.id)).toEqual([box!.id, tri!.id]);
    const inView = await call('annotations.list', {
      slideId: ids[0],
      bounds: { minX: 990, minY: 990, maxX: 1010, maxY: 1010 },
    });
    expect(inView.annotations.map((a) => a.id)).toEqual([tri!.id]);
    expect(services.session.edits.state().canRedo).toBe(true);
  });

  it('finds the shapes in view through the spatial index, slide by slide', async () => {
    const { call, ids } = await app();
    const create = [];
    for (let i = 0; i < 100; i++)
      create.push({ geometry: rect((i % 10) * 1000, Math.floor(i / 10) * 1000, 500, 500), classId: null });
    await call('annotations.edit', { slideId: ids[0], create });
    await call('annotations.edit', { slideId: ids[1], create: create.slice(0, 5) });
    const view = await call('annotations.list', {
      slideId: ids[0],
      bounds: { minX: 1200, minY: 1200, maxX: 2600, maxY: 2100 },
    });
    // Columns 1 and 2 (x 1000–1500, 2000–2500) of rows 1 and 2 (y 1000–1500, 2000–2500).
    expect(view.annotations.map((a) => (a.geometry.coordinates as Position[][])[0]![0])).toEqual([
      [1000, 1000],
      [2000, 1000],
      [1000, 2000],
      [2000, 2000],
    ]);
    expect((await call('annotations.list', { slideId: ids[1] })).annotations).toHaveLength(5);
  });

  it('repairs a lasso drawn over itself and refuses a shape with no area', async () => {
    const { call, fail, ids } = await app();
    const lasso = await call('annotations.edit', {
      slideId: ids[0],
      create: [
        {
          geometry: {
            type: 'Polygon',
            coordinates: [
              [
                [0, 0],
                [100, 100],
                [100, 0],
                [0, 100],
                [0, 0],
              ],
            ],
          },
          classId: null,
          shape: 'freehand',
        },
      ],
    });
    expect(lasso.annotations[0]!.geometry.type).toBe('MultiPolygon');
    expect(geometryArea(lasso.annotations[0]!.geometry)).toBe(5000);
    expect(
      await fail('annotations.edit', {
        slideId: ids[0],
        create: [
          {
            geometry: {
              type: 'Polygon',
              coordinates: [
                [
                  [0, 0],
                  [5, 0],
                  [9, 0],
                  [0, 0],
                ],
              ],
            },
            classId: null,
          },
        ],
      }),
    ).toEqual({ code: 'bad-input', message: 'The shape encloses no area.' });
    expect(
      (
        await fail('annotations.edit', {
          slideId: ids[0],
          create: [{ geometry: { type: 'Polygon', coordinates: [[[0, 0]]] }, classId: null }],
        })
      ).message,
    ).toMatch(
      /^Invalid input for annotations\.edit: create\.0\.geometry\.coordinates\.0: a polygon ring needs at least 4 positions/,
    );
    expect(await fail('annotations.edit', { slideId: 999, create: [] })).toEqual({
      code: 'not-found',
      message: 'There is no slide with id 999.',
    });
    expect(
      await fail('annotations.edit', {
        slideId: ids[0],
        create: [{ geometry: rect(0, 0, 1, 1), classId: 99 }],
      }),
    ).toEqual({
      code: 'not-found',
      message: 'There is no annotation class with id 99.',
    });
    // Shapes of another slide are not edited through this one.
    const other = await call('annotations.edit', {
      slideId: ids[1],
      create: [{ geometry: rect(0, 0, 5, 5), classId: null }],
    });
    expect(
      (await fail('annotations.edit', { slideId: ids[0], remove: [other.annotations[0]!.id] })).message,
    ).toBe(`Annotation ${other.annotations[0]!.id} belongs to slide ${ids[1]}, not to slide ${ids[0]}.`);
  });

  it('merges and subtracts shapes of one class, paints and erases with the brush, and pastes onto another slide', async () => {
    const { call, fail, ids } = await app();
    const [tumor, stroma] = (await call('annotationClasses.list')).classes;
    const { annotations: made } = await call('annotations.edit', {
      slideId: ids[0],
      create: [
        { geometry: rect(0, 0, 100, 100), classId: tumor!.id },
        { geometry: rect(50, 0, 100, 100), classId: tumor!.id },
        { geometry: rect(20, 20, 10, 10), classId: tumor!.id },
        { geometry: rect(60, 60, 10, 10), classId: stroma!.id },
      ],
    });
    const [a, b, hole, pen] = made;
    expect((await fail('annotations.merge', { ids: [a!.id, pen!.id] })).message).toBe(
      'Only shapes of one class can be merged.',
    );
    const merged = await call('annotations.merge', { ids: [a!.id, b!.id] });
    expect(merged.removed).toEqual([b!.id]);
    expect(geometryArea(merged.annotations[0]!.geometry)).toBe(15_000);
    expect(merged.undo.undoDescription).toBe('Merge 2 shapes');
    // The cutter of the same class goes; the Stroma one stays.
    const cut = await call('annotations.subtract', { id: a!.id, cutterIds: [hole!.id, pen!.id] });
    expect(cut.removed).toEqual([hole!.id]);
    expect(geometryArea(cut.annotations[0]!.geometry)).toBe(15_000 - 100 - 100);
    const ids0 = (await call('annotations.list', { slideId: ids[0] })).annotations.map((x) => x.id);
    expect(ids0).toEqual([a!.id, pen!.id]);

    const painted = await call('annotations.brush', {
      slideId: ids[0],
      classId: tumor!.id,
      path: [
        [1000, 1000],
        [1100, 1000],
      ],
      radius: 10,
    });
    expect(painted.annotations[0]).toMatchObject({ shape: 'brush', classId: tumor!.id });
    const area = geometryArea(painted.annotations[0]!.geometry);
    expect(area).toBeGreaterThan(2 * 10 * 100 + 300);
    const erased = await call('annotations.brush', {
      slideId: ids[0],
      classId: null,
      path: [
        [1050, 990],
        [1050, 1010],
      ],
      radius: 4,
      targetId: painted.annotations[0]!.id,
      erase: true,
    });
    expect(erased.annotations[0]!.geometry.type).toBe('MultiPolygon');
    expect(erased.undo.undoDescription).toBe('Erase from a shape (Tumor)');

    const pasted = await call('annotations.paste', { slideId: ids[2], ids: [a!.id, pen!.id] });
    expect(pasted.annotations.map((x) => [x.slideId, x.classId])).toEqual([
      [ids[2], tumor!.id],
      [ids[2], stroma!.id],
    ]);
    expect(pasted.annotations[0]!.geometry).toEqual(cut.annotations[0]!.geometry);
    expect((await call('edit.undo')).undone).toBe('paste 2 shapes');
    expect((await call('annotations.list', { slideId: ids[2] })).annotations).toEqual([]);
  });

  it('keeps classes unique by name; a removed class leaves its shapes unclassified', async () => {
    const { call, fail, ids } = await app();
    const pen = await call('annotationClasses.create', { name: 'Pen mark', color: '#00AA00' });
    expect(pen).toMatchObject({ name: 'Pen mark', color: '#00aa00', position: 7 });
    expect(await fail('annotationClasses.create', { name: 'Pen mark', color: '#000000' })).toEqual({
      code: 'conflict',
      message: 'There is already an annotation class named "Pen mark".',
    });
    expect((await fail('annotationClasses.create', { name: 'x', color: 'green' })).message).toMatch(
      /a colour is written #rrggbb/,
    );
    await call('annotations.edit', {
      slideId: ids[0],
      create: [{ geometry: rect(0, 0, 5, 5), classId: pen.id }],
    });
    expect(
      (await call('annotationClasses.update', { classId: pen.id, name: 'Ink', color: '#112233' })).name,
    ).toBe('Ink');
    expect((await call('annotationClasses.list')).classes.find((c) => c.id === pen.id)!.annotationCount).toBe(
      1,
    );
    expect(await call('annotationClasses.delete', { classId: pen.id })).toEqual({ unclassified: 1 });
    expect((await call('annotations.list', { slideId: ids[0] })).annotations[0]!.classId).toBeNull();
  });

  it('imports GeoJSON sent as text or by path as one undo step, and exports it back', async () => {
    const { call, fail, ids, dir } = await app();
    const fixture = path.join(repoRoot, 'test', 'fixtures', 'annotations', 'qupath-0.5.geojson');
    const result = await call('annotations.importGeoJson', {
      slideId: ids[1],
      source: { text: fs.readFileSync(fixture, 'utf8'), fileName: 'qupath-0.5.geojson' },
    });
    expect(result).toMatchObject({
      fileName: 'qupath-0.5.geojson',
      imported: 10,
      repaired: 0,
      undoable: true,
      classesCreated: ['Pen mark', 'Tumor: Positive'],
      skipped: [
        { index: 10, reason: 'its geometry is a MultiLineString, which Tessera does not keep' },
        { index: 11, reason: 'its geometry is a GeometryCollection, which Tessera does not keep' },
      ],
    });
    expect(result.undo.undoDescription).toBe('Import 10 shapes from qupath-0.5.geojson');
    const out = path.join(dir, 'out.geojson');
    const exported = await call('annotations.exportGeoJson', { slideId: ids[1], path: out });
    expect(exported).toEqual({ path: out, geojson: null, features: 10 });
    const again = await call('annotations.importGeoJson', { slideId: ids[2], source: { path: out } });
    expect(again).toMatchObject({ imported: 10, skipped: [], classesCreated: [] });
    const text = (await call('annotations.exportGeoJson', { slideId: ids[2] })).geojson!;
    expect(JSON.parse(text)).toEqual(JSON.parse(fs.readFileSync(out, 'utf8')));
    await call('edit.undo');
    expect((await call('annotations.list', { slideId: ids[2] })).annotations).toEqual([]);
    expect(
      await fail('annotations.importGeoJson', {
        slideId: ids[0],
        source: { text: '{"type":1}', fileName: 'x.json' },
      }),
    ).toEqual({
      code: 'bad-input',
      message:
        'x.json holds no GeoJSON features: expected a FeatureCollection, an array of Features or a Feature.',
    });
    // A refused file changes nothing.
    expect((await call('annotations.list', { slideId: ids[0] })).annotations).toEqual([]);
  });
});
