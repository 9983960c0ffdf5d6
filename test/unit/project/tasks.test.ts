import { describe, expect, it } from 'vitest';
import { setLabel, setLabels } from '../../../src-main/project/labels.js';
import { selectHistory } from '../../../src-main/project/labels-repo.js';
import {
  addValue,
  createTask,
  deleteTask,
  editValue,
  listTasks,
  removeValue,
  reorderValues,
  updateTask,
} from '../../../src-main/project/tasks.js';
import { fakeLibrary } from '../../helpers/library.js';
import { tempDir } from '../../helpers/temp.js';

const manual = { source: 'manual' as const, author: 'ana' };

describe('tasks', () => {
  it('creates the three kinds, with label counts per value', async () => {
    const { project, ids } = await fakeLibrary(tempDir(), ['a.svs', 'b.svs', 'c.svs']);
    const { db } = project;
    const tumor = createTask(db, { name: 'tumor', kind: 'binary' });
    const grade = createTask(db, {
      name: 'grade',
      kind: 'categorical',
      values: [{ name: 'G1' }, { name: 'G2', color: '#000000', key: 'g' }],
    });
    const purity = createTask(db, { name: 'purity', kind: 'continuous', min: 0, max: 1 });
    setLabels(db, ids.slice(0, 2), { taskId: tumor.id, value: 'yes', ...manual });
    setLabel(db, ids[2]!, { taskId: tumor.id, value: 'FALSE', ...manual });
    setLabel(db, ids[0]!, { taskId: purity.id, value: '0.4', ...manual });
    const tasks = listTasks(db);
    expect(tasks.map((t) => [t.name, t.kind, t.labelCount])).toEqual([
      ['tumor', 'binary', 3],
      ['grade', 'categorical', 0],
      ['purity', 'continuous', 1],
    ]);
    expect(tasks[0]!.valueCounts).toEqual({ yes: 2, no: 1 });
    expect(tasks[1]!.values).toEqual([
      { name: 'G1', color: '#4e79a7', key: '1' },
      { name: 'G2', color: '#000000', key: 'g' },
    ]);
    expect(tasks[2]).toMatchObject({ min: 0, max: 1, values: [] });
    expect(grade.id).toBeGreaterThan(0);
    project.close();
  });

  it('refuses a second task of the same name (ignoring case) and the CSV column names', async () => {
    const { project } = await fakeLibrary(tempDir(), []);
    createTask(project.db, { name: 'Tumor', kind: 'binary' });
    expect(() => createTask(project.db, { name: 'tumor', kind: 'binary' })).toThrow(
      'A task named "Tumor" already exists.',
    );
    expect(() => createTask(project.db, { name: 'slide_id', kind: 'binary' })).toThrow(
      /patient or slide column/,
    );
    expect(() =>
      createTask(project.db, { name: 'x', kind: 'categorical', values: [{ name: 'a' }, { name: 'A' }] }),
    ).toThrow('The value "A" is listed twice.');
    project.close();
  });

  it('renaming a value relabels its slides in one transaction, and the history says why', async () => {
    const { project, ids } = await fakeLibrary(tempDir(), ['a.svs', 'b.svs', 'c.svs']);
    const { db } = project;
    const t = createTask(db, {
      name: 'subtype',
      kind: 'categorical',
      values: [{ name: 'luad' }, { name: 'lusc' }],
    });
    setLabels(db, ids.slice(0, 2), { taskId: t.id, value: 'luad', ...manual });
    setLabel(db, ids[2]!, { taskId: t.id, value: 'lusc', ...manual });
    const { task, relabeled } = editValue(db, t.id, 'luad', { name: 'LUAD', color: '#112233' });
    expect(relabeled).toBe(2);
    expect(task.values[0]).toEqual({ name: 'LUAD', color: '#112233', key: '1' });
    expect(task.valueCounts).toEqual({ LUAD: 2, lusc: 1 });
    const history = selectHistory(db, { taskId: t.id }, 0, 10).entries;
    expect(history.filter((h) => h.reason === 'value-renamed').map((h) => [h.oldValue, h.newValue])).toEqual([
      ['luad', 'LUAD'],
      ['luad', 'LUAD'],
    ]);
    // A rename onto another value's name is refused and changes nothing.
    expect(() => editValue(db, t.id, 'LUAD', { name: 'LUSC' })).toThrow(/listed twice/);
    expect(listTasks(db)[0]!.valueCounts).toEqual({ LUAD: 2, lusc: 1 });
    project.close();
  });

  it('adds, reorders and removes categorical values; removing a used one needs confirmation', async () => {
    const { project, ids } = await fakeLibrary(tempDir(), ['a.svs']);
    const { db } = project;
    const t = createTask(db, {
      name: 'grade',
      kind: 'categorical',
      values: [{ name: 'G1' }, { name: 'G2' }],
    });
    expect(addValue(db, t.id, { name: 'G3' }).values.map((v) => [v.name, v.key])).toEqual([
      ['G1', '1'],
      ['G2', '2'],
      ['G3', '3'],
    ]);
    expect(reorderValues(db, t.id, ['G3', 'G2', 'G1']).values.map((v) => v.name)).toEqual(['G3', 'G2', 'G1']);
    expect(() => reorderValues(db, t.id, ['G3', 'G2'])).toThrow(/exactly once/);
    setLabel(db, ids[0]!, { taskId: t.id, value: 'G3', ...manual });
    expect(() => removeValue(db, t.id, 'G3', false)).toThrow(/1 slide\(s\) are labelled G3/);
    expect(removeValue(db, t.id, 'G3', true)).toMatchObject({ cleared: 1, task: { labelCount: 0 } });
    const binary = createTask(db, { name: 'tumor', kind: 'binary' });
    expect(() => addValue(db, binary.id, { name: 'maybe' })).toThrow(/Only a categorical task/);
    project.close();
  });

  it('renames a task and changes continuous bounds, refusing bounds that existing labels break', async () => {
    const { project, ids } = await fakeLibrary(tempDir(), ['a.svs']);
    const { db } = project;
    const t = createTask(db, { name: 'purity', kind: 'continuous' });
    setLabel(db, ids[0]!, { taskId: t.id, value: 0.8, ...manual });
    expect(updateTask(db, t.id, { name: 'tumour purity', min: 0, max: 1 })).toMatchObject({
      name: 'tumour purity',
      min: 0,
      max: 1,
    });
    expect(() => updateTask(db, t.id, { max: 0.5 })).toThrow(/outside the new bounds/);
    expect(() => updateTask(db, t.id, { min: 2 })).toThrow(/above the maximum/);
    project.close();
  });

  it('deletes a task with its labels, says how many, keeps their history and never reuses the id', async () => {
    const { project, ids } = await fakeLibrary(tempDir(), ['a.svs', 'b.svs']);
    const { db } = project;
    const t = createTask(db, { name: 'tumor', kind: 'binary' });
    setLabels(db, ids, { taskId: t.id, value: 'yes', ...manual });
    expect(deleteTask(db, t.id)).toEqual({ deletedLabels: 2 });
    expect(listTasks(db)).toEqual([]);
    const history = selectHistory(db, { taskId: t.id }, 0, 10);
    expect(history.entries.filter((h) => h.reason === 'task-deleted')).toHaveLength(2);
    expect(history.entries.every((h) => h.taskName === null)).toBe(true);
    const next = createTask(db, { name: 'other', kind: 'binary' });
    expect(next.id).toBeGreaterThan(t.id);
    project.close();
  });
});
