import Database from 'better-sqlite3';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createExplicitCohort, createFilterCohort } from '../../../src-main/project/cohorts.js';
import { setLabel, setLabels } from '../../../src-main/project/labels.js';
import { setPatients } from '../../../src-main/project/patients.js';
import { setQc } from '../../../src-main/project/qc.js';
import {
  countSlides,
  selectLibraryPage,
  selectSlideIds,
} from '../../../src-main/project/slide-query-repo.js';
import { resolveSelection } from '../../../src-main/project/slide-selection.js';
import { createTask, deleteTask } from '../../../src-main/project/tasks.js';
import { fakeLibrary } from '../../helpers/library.js';
import { tempDir } from '../../helpers/temp.js';

const w = { source: 'manual' as const, author: null };

async function library() {
  const { project, ids } = await fakeLibrary(tempDir(), ['b.svs', 'a.svs', 'C.svs', 'd_1%.svs', 'e.svs']);
  const { db } = project;
  const [b, a, c, d, e] = ids as [number, number, number, number, number];
  const grade = createTask(db, {
    name: 'grade',
    kind: 'categorical',
    values: [{ name: 'high' }, { name: 'low' }, { name: 'mid' }],
  });
  const purity = createTask(db, { name: 'purity', kind: 'continuous' });
  setLabel(db, a, { taskId: grade.id, value: 'low', ...w });
  setLabel(db, b, { taskId: grade.id, value: 'high', ...w });
  setLabel(db, c, { taskId: grade.id, value: 'mid', ...w });
  setLabels(db, [a, b], { taskId: purity.id, value: 10, ...w });
  setLabel(db, c, { taskId: purity.id, value: 9.5, ...w });
  setLabel(db, d, { taskId: purity.id, value: 100, ...w });
  setPatients(db, [a, c], 'P2');
  setPatients(db, [b], 'p1');
  setQc(db, [d], { flags: { blur: true, exclude: true } });
  setQc(db, [e], { flags: { folds: true } });
  return { project, db, a, b, c, d, e, grade, purity };
}

const names = (page: { slides: { name: string }[] }) => page.slides.map((s) => s.name);

describe('library query', () => {
  it('sorts by name ignoring case by default, by any column, and keeps missing values last both ways', async () => {
    const { project, db, grade, purity } = await library();
    const page = (sort?: Parameters<typeof selectLibraryPage>[1]['sort']) =>
      names(selectLibraryPage(db, { offset: 0, limit: 10, sort }));
    expect(page()).toEqual(['a.svs', 'b.svs', 'C.svs', 'd_1%.svs', 'e.svs']);
    expect(page({ column: 'name', direction: 'desc' })).toEqual([
      'e.svs',
      'd_1%.svs',
      'C.svs',
      'b.svs',
      'a.svs',
    ]);
    // A categorical task sorts by its values' order (high, low, mid), not alphabetically by chance.
    expect(page({ column: `task:${grade.id}` })).toEqual(['b.svs', 'a.svs', 'C.svs', 'd_1%.svs', 'e.svs']);
    expect(page({ column: `task:${grade.id}`, direction: 'desc' })).toEqual([
      'C.svs',
      'a.svs',
      'b.svs',
      'e.svs',
      'd_1%.svs',
    ]);
    // Continuous numerically (9.5 < 10 < 100), not as text; ties (a and b) in import order.
    expect(page({ column: `task:${purity.id}` })).toEqual(['C.svs', 'b.svs', 'a.svs', 'd_1%.svs', 'e.svs']);
    expect(page({ column: 'patient' })).toEqual(['b.svs', 'a.svs', 'C.svs', 'd_1%.svs', 'e.svs']);
    expect(page({ column: 'patient', direction: 'desc' })).toEqual([
      'C.svs',
      'a.svs',
      'b.svs',
      'e.svs',
      'd_1%.svs',
    ]);
    expect(page({ column: 'qc', direction: 'desc' }).slice(0, 2)).toEqual(['d_1%.svs', 'e.svs']);
    project.close();
  });

  it('filters by text (LIKE characters taken literally), value, missing value, QC flag, patient', async () => {
    const { project, db, grade, purity } = await library();
    const f = (filter: Parameters<typeof countSlides>[1]) =>
      names(selectLibraryPage(db, { offset: 0, limit: 10, filter }));
    expect(f({ text: '1%' })).toEqual(['d_1%.svs']);
    expect(f({ text: 'p2' })).toEqual(['a.svs', 'C.svs']);
    expect(f({ taskValues: [{ taskId: grade.id, values: ['low', 'mid'] }] })).toEqual(['a.svs', 'C.svs']);
    expect(f({ taskValues: [{ taskId: purity.id, min: 9.6, max: 50 }] })).toEqual(['a.svs', 'b.svs']);
    expect(f({ missingTaskIds: [grade.id] })).toEqual(['d_1%.svs', 'e.svs']);
    expect(f({ qc: [{ flag: 'exclude', set: false }] })).toEqual(['a.svs', 'b.svs', 'C.svs', 'e.svs']);
    expect(f({ qc: [{ flag: 'blur', set: true }] })).toEqual(['d_1%.svs']);
    expect(f({ qcClean: true })).toEqual(['a.svs', 'b.svs', 'C.svs']);
    expect(f({ patient: null })).toEqual(['d_1%.svs', 'e.svs']);
    expect(f({ missingTaskIds: [grade.id], qc: [{ flag: 'exclude', set: false }] })).toEqual(['e.svs']);
    project.close();
  });

  it('pages with the total count, and returns labels and QC flags with each row', async () => {
    const { project, db, a, grade, purity } = await library();
    const page = selectLibraryPage(db, { offset: 1, limit: 2 });
    expect(page.total).toBe(5);
    expect(names(page)).toEqual(['b.svs', 'C.svs']);
    const first = selectLibraryPage(db, { offset: 0, limit: 1 }).slides[0]!;
    expect(first).toMatchObject({
      id: a,
      patient: 'P2',
      labels: { [grade.id]: 'low', [purity.id]: '10' },
      qcFlags: [],
    });
    expect(selectLibraryPage(db, { offset: 0, limit: 5, filter: { text: 'd_' } }).slides[0]!.qcFlags).toEqual(
      ['blur', 'exclude'],
    );
    project.close();
  });

  it('scopes to a cohort, saved filter or explicit set; selections resolve to ids less exceptions', async () => {
    const { project, db, a, b, c, e, grade } = await library();
    const explicit = createExplicitCohort(db, 'picked', [e, a]);
    const saved = createFilterCohort(db, 'graded', {
      taskValues: [{ taskId: grade.id, values: ['high', 'low'] }],
    });
    expect(selectSlideIds(db, { filter: { cohortId: explicit.id } })).toEqual([a, e]);
    expect(
      selectSlideIds(db, { filter: { cohortId: saved.id }, sort: { column: 'name', direction: 'desc' } }),
    ).toEqual([b, a]);
    // A saved filter is evaluated when used: label one more slide and it joins.
    setLabel(db, c, { taskId: grade.id, value: 'low', ...w });
    expect(countSlides(db, { cohortId: saved.id })).toBe(3);
    expect(resolveSelection(db, { filter: { cohortId: saved.id }, except: [b] })).toEqual([a, c]);
    expect(resolveSelection(db, { ids: [c, 999, a] })).toEqual([a, c]);
    expect(() => selectSlideIds(db, { filter: { cohortId: 999 } })).toThrow(
      'There is no cohort with id 999 in this project.',
    );
    expect(() => createFilterCohort(db, 'nested', { cohortId: saved.id })).toThrow(/itself a saved filter/);
    // A saved filter outlives a deleted task: no slide has a value for it any more.
    deleteTask(db, grade.id);
    expect(countSlides(db, { cohortId: saved.id })).toBe(0);
    project.close();
  });

  it("keeps a query's ordered ids only until the data changes, here or through another connection", async () => {
    const { project, db, a, d, e, grade } = await library();
    const missing = { filter: { missingTaskIds: [grade.id] } };
    expect(selectSlideIds(db, missing)).toEqual([d, e]);
    expect(selectSlideIds(db, missing)).toBe(selectSlideIds(db, missing)); // kept
    setLabel(db, d, { taskId: grade.id, value: 'high', ...w });
    expect(selectSlideIds(db, missing)).toEqual([e]);
    // The CLI writing to the same file while the app has it open.
    const other = new Database(path.join(project.dir, 'project.sqlite'));
    other.prepare('DELETE FROM labels WHERE slide_id = ? AND task_id = ?').run(a, grade.id);
    other.close();
    expect(selectSlideIds(db, missing)).toEqual([a, e]);
    expect(selectLibraryPage(db, { offset: 0, limit: 10, ...missing }).total).toBe(2);
    project.close();
  });
});
