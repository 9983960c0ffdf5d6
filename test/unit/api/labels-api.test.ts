/** The label, QC and undo commands through dispatch, as either transport calls them, on a real project file. */
import { describe, expect, it } from 'vitest';
import type {
  CommandInput,
  CommandName,
  CommandResult,
  EventPayloads,
} from '../../../src-main/contract/contract.js';
import { dispatch } from '../../../src-main/api/dispatch.js';
import { createAppServices } from '../../../src-main/api/services.js';
import { fakeLibrary, tcgaNames } from '../../helpers/library.js';
import { tempDir } from '../../helpers/temp.js';

async function app(slides = 6) {
  const dir = tempDir();
  const { project, ids } = await fakeLibrary(dir, tcgaNames(slides, 2));
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
  return { services, call, fail, ids, events, dir };
}

describe('labels API', () => {
  it('undo and redo walk one session-wide stack over labels, QC and patients, each recorded in the history', async () => {
    const { services, call, ids, events } = await app();
    const tumor = await call('tasks.create', { name: 'tumor', kind: 'binary' });
    await call('labels.set', { slideId: ids[0], taskId: tumor.id, value: 'yes' });
    await call('labels.setMany', { selection: { ids: ids.slice(0, 4) }, taskId: tumor.id, value: 'no' });
    await call('qc.set', { selection: { ids: [ids[1]] }, flags: { blur: true }, reason: 'out of focus' });
    await call('patients.set', { selection: { ids: [ids[5]] }, patient: 'X' });
    expect(await call('edit.state')).toEqual({
      canUndo: true,
      canRedo: false,
      undoDescription: 'Set patient X on 1 slide',
      redoDescription: null,
    });
    const value = async (id: number) =>
      (await call('labels.forSlide', { slideId: id })).labels[0]?.value ?? null;
    const row = async (id: number) =>
      (await call('slides.list', { filter: { text: '' }, limit: 100 })).slides.find((s) => s.id === id)!;

    expect((await call('edit.undo')).undone).toBe('set patient X on 1 slide');
    expect((await row(ids[5]!)).patient).toBeNull();
    expect((await call('edit.undo')).undone).toBe('flag blur on 1 slide');
    expect((await row(ids[1]!)).qcFlags).toEqual([]);
    expect((await call('edit.undo')).undone).toBe('set tumor = no on 4 slides');
    expect([await value(ids[0]!), await value(ids[1]!)]).toEqual(['yes', null]);
    expect((await call('edit.undo')).undone).toBe('set tumor = yes');
    expect(await value(ids[0]!)).toBeNull();
    expect(await call('edit.undo')).toMatchObject({ undone: null, undo: { canUndo: false, canRedo: true } });
    expect((await call('edit.redo')).redone).toBe('set tumor = yes');
    expect((await call('edit.redo')).redone).toBe('set tumor = no on 4 slides');
    expect(await value(ids[0]!)).toBe('no');
    // A new change clears what could be redone.
    await call('labels.set', { slideId: ids[5], taskId: tumor.id, value: true });
    expect(await call('edit.state')).toMatchObject({ canRedo: false, undoDescription: 'Set tumor = yes' });

    const history = (await call('labels.history', { slideId: ids[0] })).entries;
    expect(history.map((h) => [h.oldValue, h.newValue, h.reason])).toEqual([
      ['yes', 'no', 'redo'],
      [null, 'yes', 'redo'],
      ['yes', null, 'undo'],
      ['no', 'yes', 'undo'],
      ['yes', 'no', null],
      [null, 'yes', null],
    ]);
    expect(events.at(-1)).toMatchObject({ kinds: ['labels'], slideIds: [ids[5]], undo: { canUndo: true } });
    await services.close();
  });

  it('acknowledges a label write with the stored label, and refuses values and ids that are not there', async () => {
    const { services, call, fail, ids } = await app();
    const grade = await call('tasks.create', {
      name: 'grade',
      kind: 'categorical',
      values: [{ name: 'G1' }, { name: 'G2' }],
    });
    const ack = await call('labels.set', { slideId: ids[2], taskId: grade.id, value: 'g2', author: 'dr. a' });
    expect(ack).toMatchObject({
      changed: true,
      label: { slideId: ids[2], taskId: grade.id, value: 'G2', source: 'manual', author: 'dr. a' },
    });
    expect(await call('labels.set', { slideId: ids[2], taskId: grade.id, value: 'G2' })).toMatchObject({
      changed: false,
    });
    expect(await fail('labels.set', { slideId: ids[2], taskId: grade.id, value: 'G9' })).toEqual({
      code: 'bad-input',
      message: '"G9" is not a value of task grade (G1, G2).',
    });
    expect(await fail('labels.set', { slideId: 999, taskId: grade.id, value: 'G1' })).toMatchObject({
      code: 'not-found',
    });
    expect(
      await fail('labels.set', { slideId: ids[0], taskId: grade.id, value: 'G1', source: 'robot' }),
    ).toMatchObject({
      code: 'bad-input',
    });
    await services.close();
  });

  it('previews a CSV sent as text, pages it, applies it by preview id as one undo step', async () => {
    const { services, call, fail, ids } = await app(10);
    await call('tasks.create', { name: 'tumor', kind: 'binary' });
    const rows = Array.from(
      { length: 10 },
      (_, i) => `TCGA-X-${i},${tcgaNames(10, 2)[i]},${i % 2 ? 'TRUE' : 'no'}`,
    );
    const text = `patient,slide,tumor\n${rows.join('\n')}\nX,missing.svs,yes\n`;
    const preview = await call('labels.previewCsv', { source: { text, fileName: 'labels.csv' } });
    expect(preview).toMatchObject({
      fileName: 'labels.csv',
      delimiter: ',',
      summary: { rows: 11, new: 10, changed: 0, unchanged: 0, rejected: 1 },
      rejected: [
        {
          line: 12,
          slide: 'missing.svs',
          reason: 'Line 12: no slide in the project is named "missing.svs".',
        },
      ],
    });
    // Two slides of one patient in the file name pattern, two patients in the CSV: that conflict is per slide only.
    const page = await call('labels.csvPreviewPage', {
      previewId: preview.previewId,
      list: 'changes',
      status: 'new',
      offset: 8,
      limit: 5,
    });
    expect(page.total).toBe(10);
    expect(page.changes).toHaveLength(2);
    const applied = await call('labels.applyCsv', { previewId: preview.previewId });
    expect(applied.summary).toMatchObject({ new: 10, rejected: 1, patientsAssigned: 10 });
    expect(await fail('labels.applyCsv', { previewId: preview.previewId })).toMatchObject({
      code: 'not-found',
    });
    expect((await call('slides.list', { filter: { patient: 'TCGA-X-3' } })).slides.map((s) => s.id)).toEqual([
      ids[3],
    ]);
    expect((await call('edit.undo')).undone).toBe('import labels.csv (10 labels, 10 patients)');
    expect((await call('slides.list', { filter: { patient: null } })).total).toBe(10);
    // Applying by re-sending the file and a mapping works without a preview.
    const again = await call('labels.applyCsv', {
      source: { text: 'file;status\nTCGA-AA-0000-01Z-00-DX1.svs;yes\n', fileName: 'b.csv' },
      mapping: { file: { role: 'slide' }, status: { role: 'new-task', name: 'status' } },
    });
    expect(again).toMatchObject({
      summary: { new: 1, newTasks: [{ name: 'status', kind: 'binary' }] },
      createdTaskIds: [2],
    });
    await services.close();
  });

  it('bulk-sets values and flags on everything a filter matches, less exceptions', async () => {
    const { services, call, ids } = await app(8);
    const t = await call('tasks.create', { name: 'tumor', kind: 'binary' });
    const r = await call('labels.setMany', {
      selection: { filter: { text: 'DX1' }, except: [ids[0]] },
      taskId: t.id,
      value: 'yes',
    });
    expect(r).toMatchObject({ changed: 3, unchanged: 0 });
    expect(
      (await call('slides.ids', { filter: { taskValues: [{ taskId: t.id, values: ['yes'] }] } })).ids,
    ).toEqual([ids[2], ids[4], ids[6]]);
    await call('qc.set', { selection: { filter: { missingTaskIds: [t.id] } }, flags: { exclude: true } });
    expect((await call('slides.list', { filter: { qc: [{ flag: 'exclude', set: true }] } })).total).toBe(5);
    await services.close();
  });

  it('deleting a task reports the labels that went with it; removing slides reports and notifies', async () => {
    const { services, call, ids, events } = await app(4);
    const t = await call('tasks.create', { name: 'tumor', kind: 'binary' });
    await call('labels.setMany', { selection: { ids }, taskId: t.id, value: 'no' });
    expect((await call('tasks.list')).tasks[0]!.labelCount).toBe(4);
    expect(await call('slides.remove', { selection: { ids: [ids[0], ids[1]] } })).toEqual({
      removed: 2,
      cacheFilesRemoved: 0,
    });
    expect(events.at(-1)).toMatchObject({ kinds: ['slides', 'labels', 'cohorts'], slideIds: null });
    expect(await call('tasks.delete', { taskId: t.id })).toEqual({ deletedLabels: 2 });
    // Undo of a label change whose task is gone does nothing and does not fail.
    expect((await call('edit.undo')).undone).toBe('set tumor = no on 4 slides');
    expect((await call('project.current'))!.slideCount).toBe(2);
    await services.close();
  });

  it('applies a preview against the labels as they are when something changed after it was made', async () => {
    const { services, call, ids } = await app(4);
    const t = await call('tasks.create', { name: 'tumor', kind: 'binary' });
    const names = tcgaNames(4, 2);
    const text = `slide,tumor\n${names.map((n) => `${n},yes`).join('\n')}\n`;
    const preview = await call('labels.previewCsv', { source: { text, fileName: 'l.csv' } });
    expect(preview.summary).toMatchObject({ new: 4, unchanged: 0 });
    await call('labels.set', { slideId: ids[0], taskId: t.id, value: 'yes' });
    await call('labels.set', { slideId: ids[1], taskId: t.id, value: 'no' });
    const applied = await call('labels.applyCsv', { previewId: preview.previewId });
    expect(applied.summary).toMatchObject({ new: 2, changed: 1, unchanged: 1 });
    const history = (await call('labels.history', { slideId: ids[1] })).entries;
    expect(history[0]).toMatchObject({ oldValue: 'no', newValue: 'yes', reason: 'csv-import' });
    await services.close();
  });
});
