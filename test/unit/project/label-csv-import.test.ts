import { describe, expect, it } from 'vitest';
import { exportLabelsCsv } from '../../../src-main/project/label-csv-export.js';
import { applyCsvImport, previewCsvImport } from '../../../src-main/project/label-csv-import.js';
import { readCsvText } from '../../../src-main/project/label-csv-read.js';
import { selectHistory, selectSlideLabels } from '../../../src-main/project/labels-repo.js';
import { setLabel } from '../../../src-main/project/labels.js';
import { setPatients } from '../../../src-main/project/patients.js';
import { createTask, listTasks } from '../../../src-main/project/tasks.js';
import { fakeLibrary, insertFakeSlides } from '../../helpers/library.js';
import { tempDir } from '../../helpers/temp.js';

const csv = (text: string) => readCsvText(text, 'labels.csv');

async function library() {
  const { project, ids } = await fakeLibrary(tempDir(), ['A-1.svs', 'A-2.svs', 'B-1.svs', 'C-1.ndpi']);
  const tumor = createTask(project.db, { name: 'tumor', kind: 'binary' });
  const subtype = createTask(project.db, {
    name: 'subtype',
    kind: 'categorical',
    values: [{ name: 'LUAD' }, { name: 'LUSC' }],
  });
  return { project, db: project.db, ids, tumor, subtype };
}

describe('label CSV import', () => {
  it('recognises Slideflow and CLAM column names and finds slides by name, stem, path or id', async () => {
    const { project, db, tumor } = await library();
    const plan = previewCsvImport(
      db,
      csv('case_id,slide_id,tumor\nA,A-1,TRUE\nA,/elsewhere/A-2.svs,0\nB,/slides/B-1.svs,yes\nC,4,no\n'),
      { createTasks: false },
    );
    expect(plan.columns.map((c) => [c.name, c.mapping, c.detected])).toEqual([
      ['case_id', { role: 'patient' }, 'name'],
      ['slide_id', { role: 'slide' }, 'name'],
      ['tumor', { role: 'task', taskId: tumor.id }, 'name'],
    ]);
    expect(plan.rejected).toEqual([]);
    expect(plan.changes.map((c) => [c.slideName, c.newValue, c.status])).toEqual([
      ['A-1.svs', 'yes', 'new'],
      ['A-2.svs', 'no', 'new'],
      ['B-1.svs', 'yes', 'new'],
      ['C-1.ndpi', 'no', 'new'],
    ]);
    expect(plan.summary).toMatchObject({
      rows: 4,
      new: 4,
      changed: 0,
      unchanged: 0,
      rejected: 0,
      patientsAssigned: 4,
    });
    project.close();
  });

  it('rejects unknown slides, values a task does not allow, disagreeing rows and a patient that differs', async () => {
    const { project, db, ids } = await library();
    setPatients(db, [ids[2]!], 'B');
    const plan = previewCsvImport(
      db,
      csv(
        [
          'patient,slide,tumor,subtype',
          'A,A-1.svs,yes,LUAD',
          'A,nope.svs,yes,LUAD',
          'A,A-2.svs,maybe,LUAD',
          'X,B-1.svs,no,LUSC',
          'C,C-1.ndpi,yes,LUAD',
          'C,C-1.ndpi,no,LUAD',
          'A,A-1.svs,yes,',
        ].join('\n'),
      ),
      { createTasks: false },
    );
    expect(plan.rejected.map((r) => r.reason)).toEqual([
      'Line 3: no slide in the project is named "nope.svs".',
      'Line 4: "maybe" is not a value of task tumor (no, yes).',
      'Line 5: slide B-1.svs belongs to patient B on file, not X.',
      'Line 6: slide C-1.ndpi is also on line 7 with a different value for tumor (yes and no).',
      'Line 7: slide C-1.ndpi is also on line 6 with a different value for tumor (yes and no).',
    ]);
    // Rows that agree (lines 2 and 8; an empty cell is no value) are taken once.
    expect(plan.changes.map((c) => [c.line, c.slideName, c.taskName, c.newValue])).toEqual([
      [2, 'A-1.svs', 'tumor', 'yes'],
      [2, 'A-1.svs', 'subtype', 'LUAD'],
    ]);
    project.close();
  });

  it('counts new, changed and unchanged against the labels on file, and an empty cell changes nothing', async () => {
    const { project, db, ids, tumor } = await library();
    setLabel(db, ids[0]!, { taskId: tumor.id, value: 'yes', source: 'manual', author: 'ana' });
    setLabel(db, ids[1]!, { taskId: tumor.id, value: 'yes', source: 'manual', author: 'ana' });
    setLabel(db, ids[2]!, { taskId: tumor.id, value: 'no', source: 'manual', author: 'ana' });
    const table = csv('slide;tumor\r\nA-1.svs;1\r\nA-2.svs;FALSE\r\nB-1.svs;\r\nC-1.ndpi;Yes\r\n');
    const { plan, edit } = applyCsvImport(db, table, { createTasks: false }, 'bo');
    expect(plan.summary).toMatchObject({ new: 1, changed: 1, unchanged: 1, rejected: 0 });
    expect(edit?.changes).toHaveLength(2);
    expect(selectSlideLabels(db, ids[1]!)).toMatchObject([{ value: 'no', source: 'csv', author: 'bo' }]);
    expect(selectSlideLabels(db, ids[2]!)).toMatchObject([{ value: 'no', source: 'manual', author: 'ana' }]);
    expect(selectHistory(db, { slideId: ids[1]! }, 0, 5).entries[0]).toMatchObject({
      oldValue: 'yes',
      newValue: 'no',
      source: 'csv',
      reason: 'csv-import',
    });
    project.close();
  });

  it('with createTasks makes binary tasks of two-valued columns and categorical of the rest', async () => {
    const { project, db } = await library();
    const table = csv(
      'slide,msi,grade,purity,notes\nA-1.svs,MSI-H,G1,0.5,x\nA-2.svs,MSS,G2,0.25,\nB-1.svs,MSS,G3,0.75,\n',
    );
    const preview = previewCsvImport(db, table, { createTasks: true });
    expect(preview.summary.newTasks).toEqual([
      { name: 'msi', kind: 'binary', values: ['MSI-H', 'MSS'] },
      { name: 'grade', kind: 'categorical', values: ['G1', 'G2', 'G3'] },
      { name: 'purity', kind: 'continuous', values: [] },
      { name: 'notes', kind: 'categorical', values: ['x'] },
    ]);
    expect(listTasks(db)).toHaveLength(2); // a preview writes nothing
    const { plan, createdTasks } = applyCsvImport(
      db,
      table,
      { createTasks: true, mapping: { notes: { role: 'ignore' } } },
      null,
    );
    expect(createdTasks).toHaveLength(3);
    expect(plan.summary.new).toBe(9);
    expect(listTasks(db).map((t) => [t.name, t.labelCount])).toEqual([
      ['tumor', 0],
      ['subtype', 0],
      ['msi', 3],
      ['grade', 3],
      ['purity', 3],
    ]);
    project.close();
  });

  it('takes a mapping by hand and says which mistakes it cannot take', async () => {
    const { project, db, subtype } = await library();
    const table = csv('Specimen,Diagnosis\nA-1.svs,lusc\n');
    expect(() => previewCsvImport(db, table, { createTasks: false })).toThrow(
      /labels.csv has no slide column/,
    );
    const plan = previewCsvImport(db, table, {
      createTasks: false,
      mapping: { Specimen: { role: 'slide' }, Diagnosis: { role: 'task', taskId: subtype.id } },
    });
    expect(plan.changes).toMatchObject([{ slideName: 'A-1.svs', taskName: 'subtype', newValue: 'LUSC' }]);
    expect(() =>
      previewCsvImport(db, table, { createTasks: false, mapping: { Nope: { role: 'slide' } } }),
    ).toThrow('labels.csv has no column "Nope" (its columns: Specimen, Diagnosis).');
    project.close();
  });

  it('rejects a name two slides share and accepts the full path instead', async () => {
    const { project, db, tumor } = await library();
    insertFakeSlides(project, [{ name: 'A-1.svs', folder: '/other' }]);
    const plan = previewCsvImport(db, csv('slide,tumor\nA-1.svs,yes\n/other/A-1.svs,no\n'), {
      createTasks: false,
    });
    expect(plan.rejected[0]!.reason).toMatch(
      /^Line 2: "A-1.svs" matches 2 slides \(\/slides\/A-1.svs, \/other\/A-1.svs\); give the full path\.$/,
    );
    expect(plan.changes).toMatchObject([{ slideName: 'A-1.svs', taskId: tumor.id, newValue: 'no' }]);
    project.close();
  });

  it('export then import changes nothing, for every kind of task and shared file names', async () => {
    const { project, db, ids, tumor, subtype } = await library();
    const more = insertFakeSlides(project, [{ name: 'A-1.svs', folder: '/other' }]);
    const purity = createTask(db, { name: 'purity, %', kind: 'continuous' });
    setPatients(db, [ids[0]!, ids[1]!], 'Patient "A"');
    setLabel(db, ids[0]!, { taskId: tumor.id, value: 'yes', source: 'manual', author: null });
    setLabel(db, ids[1]!, { taskId: subtype.id, value: 'LUSC', source: 'manual', author: null });
    setLabel(db, ids[2]!, { taskId: purity.id, value: 0.125, source: 'manual', author: null });
    setLabel(db, more[0]!, { taskId: tumor.id, value: 'no', source: 'manual', author: null });
    const { csv: text, rows } = exportLabelsCsv(db);
    expect(rows).toBe(5);
    expect(text.split('\n')[0]).toBe('patient,slide,tumor,subtype,"purity, %"');
    expect(text).toContain('/other/A-1.svs,no');
    const plan = previewCsvImport(db, readCsvText(text, 'export.csv'), { createTasks: false });
    expect(plan.rejected).toEqual([]);
    expect(plan.summary).toMatchObject({ new: 0, changed: 0, unchanged: 4, patientsAssigned: 0 });
    project.close();
  });
});
