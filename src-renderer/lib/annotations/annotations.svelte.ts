/**
 * The annotations of the slide open in the Viewer and the project's classes, mirrored from the main
 * process: every shape in a spatial index for drawing and pointing, the selection (in the order it was
 * made: the first is the one merge keeps and subtract cuts from), the tool and class the keys choose, and
 * a clipboard of shapes that outlives a change of slide. Edits go to the main process one at a time in
 * the order they were made, each one undo step there; their results are applied at once, and the
 * onLibraryChanged that follows any change (an undo, another window) refetches just the shapes it names.
 */
import type {
  Annotation,
  AnnotationClass,
  AnnotationEditResult,
  AnnotationGeometry,
  AnnotationShape,
  GeoJsonImportResult,
  LibraryChange,
  Position,
} from '../../../src-main/contract/contract.js';
import { call, on, onResync } from '../api.js';
import { reporting } from '../errors.svelte.js';
import { notice } from '../notices.svelte.js';
import type { AnnotationTool } from './annotation-keys.js';
import { ShapeIndex } from './shape-index.js';

/** QuPath's colour for an object without a class. */
export const UNCLASSIFIED_COLOR = '#ff4d4d';

export interface NewShape {
  geometry: AnnotationGeometry;
  classId: number | null;
  shape: AnnotationShape | null;
}

class AnnotationStore {
  slideId = $state<number | null>(null);
  classes = $state.raw<AnnotationClass[]>([]);
  /** Bumped whenever the shapes change, so what draws or counts them runs again. */
  version = $state(0);
  selection = $state.raw<number[]>([]);
  tool = $state<AnnotationTool>('select');
  currentClassId = $state<number | null>(null);
  visible = $state(true);
  /** The brush's radius in screen pixels. */
  brushRadius = $state(16);
  clipboard = $state.raw<number[]>([]);
  loading = $state(false);
  readonly index = new ShapeIndex();
  private generation = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private classesFor: string | null = null;

  start(): () => void {
    const offChanged = on('onLibraryChanged', (change) => void this.changed(change));
    const offResync = onResync(() => {
      void this.reloadClasses();
      if (this.slideId !== null) void this.open(this.slideId, true);
    });
    return () => {
      offChanged();
      offResync();
    };
  }

  get currentClass(): AnnotationClass | null {
    return this.classes.find((c) => c.id === this.currentClassId) ?? null;
  }

  colorOf = (classId: number | null): string =>
    (classId !== null && this.classes.find((c) => c.id === classId)?.color) || UNCLASSIFIED_COLOR;

  /** Loads the classes of the project in `projectDir`; another project's shapes and clipboard go. */
  async ensureClasses(projectDir: string): Promise<void> {
    if (this.classesFor === projectDir) return;
    if (this.classesFor !== null) this.clear();
    this.classesFor = projectDir;
    await this.reloadClasses();
  }

  async reloadClasses(): Promise<void> {
    if (this.classesFor === null) return;
    const result = await reporting(() => call('annotationClasses.list'));
    if (!result) return;
    this.classes = result.classes;
    if (this.currentClassId === null || !this.classes.some((c) => c.id === this.currentClassId))
      this.currentClassId = this.classes[0]?.id ?? null;
  }

  /** Loads the shapes of a slide (again, with `force`). */
  async open(slideId: number, force = false): Promise<void> {
    if (this.slideId === slideId && !force) return;
    const generation = ++this.generation;
    if (this.slideId !== slideId) {
      this.slideId = slideId;
      this.selection = [];
      this.index.load([]);
      this.version++;
    }
    this.loading = true;
    const result = await reporting(() => call('annotations.list', { slideId }));
    if (generation !== this.generation) return;
    this.loading = false;
    if (!result) return;
    this.index.load(result.annotations);
    this.selection = this.selection.filter((id) => this.index.get(id));
    this.version++;
  }

  clear(): void {
    this.generation++;
    this.slideId = null;
    this.classesFor = null;
    this.classes = [];
    this.selection = [];
    this.clipboard = [];
    this.index.load([]);
    this.version++;
  }

  /** Resolves once every edit sent so far has been answered (undo waits for it). */
  settled = (): Promise<void> => this.queue.then(() => undefined);

  private async changed(change: LibraryChange): Promise<void> {
    if (change.kinds.includes('annotation-classes')) void this.reloadClasses();
    if (!change.kinds.includes('annotations') || this.slideId === null) return;
    if (change.slideIds !== null && !change.slideIds.includes(this.slideId)) return;
    const slideId = this.slideId;
    if (!change.annotationIds) return this.open(slideId, true);
    const ids = change.annotationIds;
    const result = await reporting(() => call('annotations.get', { ids }));
    if (!result || this.slideId !== slideId) return;
    const found = new Set(result.annotations.map((a) => a.id));
    for (const a of result.annotations) {
      if (a.slideId === slideId) this.index.upsert(a);
      else this.index.remove(a.id);
    }
    for (const id of ids) if (!found.has(id)) this.index.remove(id);
    this.selection = this.selection.filter((id) => this.index.get(id));
    this.version++;
  }

  private apply(result: AnnotationEditResult | null, select = false): Annotation[] {
    if (!result) return [];
    for (const id of result.removed) this.index.remove(id);
    for (const a of result.annotations) if (a.slideId === this.slideId) this.index.upsert(a);
    if (select) this.selection = result.annotations.map((a) => a.id);
    else this.selection = this.selection.filter((id) => this.index.get(id));
    this.version++;
    return result.annotations;
  }

  /** Runs an edit after the ones before it, reporting a failure as a sentence. */
  private run<T>(work: () => Promise<T>): Promise<T | null> {
    const next: Promise<T | null> = this.queue.then(() => reporting(work)).then((r) => r ?? null);
    this.queue = next.catch(() => undefined);
    return next;
  }

  async create(shapes: NewShape[], select = true): Promise<Annotation[]> {
    const slideId = this.slideId;
    if (slideId === null || !shapes.length) return [];
    const result = await this.run(() => call('annotations.edit', { slideId, create: shapes }));
    return this.apply(result, select);
  }

  async update(
    patches: {
      id: number;
      geometry?: AnnotationGeometry;
      classId?: number | null;
      shape?: AnnotationShape | null;
    }[],
  ): Promise<void> {
    const slideId = this.slideId;
    if (slideId === null || !patches.length) return;
    this.apply(await this.run(() => call('annotations.edit', { slideId, update: patches })));
  }

  async removeSelected(): Promise<void> {
    const slideId = this.slideId;
    const ids = this.selection;
    if (slideId === null || !ids.length) return;
    const result = this.apply(await this.run(() => call('annotations.edit', { slideId, remove: ids })));
    void result;
    notice.show(`Deleted ${ids.length === 1 ? '1 shape' : `${ids.length} shapes`} (Ctrl+Z undoes)`);
  }

  /** Sets the current class, and the class of the selected shapes. */
  async chooseClass(classId: number): Promise<void> {
    this.currentClassId = classId;
    const ids = this.selection.filter((id) => this.index.get(id)?.annotation.classId !== classId);
    if (ids.length) await this.update(ids.map((id) => ({ id, classId })));
  }

  copy(): void {
    if (!this.selection.length) return;
    this.clipboard = [...this.selection];
    notice.show(`Copied ${this.clipboard.length === 1 ? '1 shape' : `${this.clipboard.length} shapes`}`);
  }

  async paste(): Promise<void> {
    const slideId = this.slideId;
    const ids = this.clipboard;
    if (slideId === null || !ids.length) return;
    const result = await this.run(() => call('annotations.paste', { slideId, ids }));
    const pasted = this.apply(result, true);
    if (pasted.length) notice.show(`Pasted ${pasted.length === 1 ? '1 shape' : `${pasted.length} shapes`}`);
  }

  async merge(): Promise<void> {
    const ids = this.selection;
    if (ids.length < 2) return notice.show('Select two or more shapes of one class to merge them (U)');
    this.apply(await this.run(() => call('annotations.merge', { ids })), true);
  }

  async subtract(): Promise<void> {
    const [id, ...cutterIds] = this.selection;
    if (id === undefined || !cutterIds.length)
      return notice.show('Select the shape to cut first, then the shapes to cut out of it (X)');
    this.apply(await this.run(() => call('annotations.subtract', { id, cutterIds })));
    this.selection = this.index.get(id) ? [id] : [];
  }

  /** A brush stroke: added to the selected area of the current class (or cut from it with `erase`). */
  async brush(path: Position[], radius: number, erase: boolean): Promise<void> {
    const slideId = this.slideId;
    if (slideId === null) return;
    const selected = this.selection.length === 1 ? this.index.get(this.selection[0]!) : undefined;
    const target =
      selected && selected.kind === 'area' && (erase || selected.annotation.classId === this.currentClassId)
        ? selected.annotation.id
        : null;
    if (erase && target === null)
      return notice.show('Select the shape to erase from, then brush with Alt held');
    const classId = this.currentClassId;
    const result = await this.run(() =>
      call('annotations.brush', { slideId, classId, path, radius, targetId: target, erase }),
    );
    this.apply(result, true);
  }

  /** Adds a point to the selected points of the current class, or starts new ones. */
  async addPoint(point: Position): Promise<void> {
    const selected = this.selection.length === 1 ? this.index.get(this.selection[0]!) : undefined;
    const g = selected?.annotation.geometry;
    if (selected && g?.type === 'MultiPoint' && selected.annotation.classId === this.currentClassId) {
      await this.update([
        {
          id: selected.annotation.id,
          geometry: { type: 'MultiPoint', coordinates: [...g.coordinates, point] },
        },
      ]);
      return;
    }
    await this.create([
      {
        geometry: { type: 'MultiPoint', coordinates: [point] },
        classId: this.currentClassId,
        shape: 'points',
      },
    ]);
  }

  async importGeoJson(file: { name: string; text: string }): Promise<GeoJsonImportResult | null> {
    const slideId = this.slideId;
    if (slideId === null) return null;
    const result = await this.run(() =>
      call('annotations.importGeoJson', { slideId, source: { text: file.text, fileName: file.name } }),
    );
    if (result) await this.open(slideId, true);
    return result;
  }

  async exportGeoJson(): Promise<{ geojson: string; features: number } | null> {
    const slideId = this.slideId;
    if (slideId === null) return null;
    const result = await this.run(() => call('annotations.exportGeoJson', { slideId }));
    return result?.geojson ? { geojson: result.geojson, features: result.features } : null;
  }

  select(ids: number[]): void {
    this.selection = ids;
  }

  selectAll(): void {
    this.selection = [...this.index.all()].map((e) => e.annotation.id);
  }
}

export const annotations = new AnnotationStore();
