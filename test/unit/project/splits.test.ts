import { describe, expect, it } from 'vitest';
import { createFilterCohort } from '../../../src-main/project/cohorts.js';
import { setLabel, setLabels } from '../../../src-main/project/labels.js';
import { applyPatientPattern } from '../../../src-main/project/patients.js';
import { setQc } from '../../../src-main/project/qc.js';
import { createSplit, getSplit, listSplits, previewSplit } from '../../../src-main/project/splits.js';
import { createTask } from '../../../src-main/project/tasks.js';
import { fakeLibrary, insertFakeSlides, tcgaNames } from '../../helpers/library.js';
import { tempDir } from '../../helpers/temp.js';

const w = { source: 'manual' as const, author: null };

async function labelled() {
  const { project, ids } = await fakeLibrary(tempDir(), tcgaNames(60, 2));
  const { db } = project;
  applyPatientPattern(db, { overwrite: false });
  const task = createTask(db, {
    name: 'subtype',
    kind: 'categorical',
    values: [{ name: 'LUAD' }, { name: 'LUSC' }],
  });
  // Both slides of a patient share the class; every 10th patient is LUSC.
  ids.forEach((id, i) =>
    setLabel(db, id, { taskId: task.id, value: Math.floor(i / 2) % 10 === 0 ? 'LUSC' : 'LUAD', ...w }),
  );
  return { project, db, ids, task };
}

describe('stored splits', () => {
  it('leave excluded and unlabeled slides out of every part (the training part included), and count them', async () => {
    const { project, db, ids, task } = await labelled();
    setQc(db, ids.slice(0, 6), { flags: { exclude: true } });
    setLabel(db, ids[10]!, { taskId: task.id, value: null, ...w });
    for (let seed = 0; seed < 20; seed++) {
      const split = previewSplit(db, {
        taskId: task.id,
        scheme: { kind: 'fractions', fractions: [0.6, 0.2, 0.2] },
        seed,
      });
      const members = Object.values(split.members)
        .flat()
        .map((m) => m.slideId);
      expect(members).toHaveLength(60 - 6 - 1);
      for (const excluded of ids.slice(0, 6)) expect(members).not.toContain(excluded);
      expect(split.members.train!.some((m) => ids.slice(0, 6).includes(m.slideId))).toBe(false);
      expect(split.left).toEqual({ excluded: 6, unlabeled: 1 });
    }
    project.close();
  });

  it('store seed, scheme and members, and read back exactly that after slides are added and relabeled', async () => {
    const { project, db, ids, task } = await labelled();
    const made = createSplit(db, { taskId: task.id, scheme: { kind: 'folds', folds: 5 }, seed: 7 });
    expect(made).toMatchObject({
      name: 'subtype 5-fold seed 7',
      seed: 7,
      scheme: { kind: 'folds', folds: 5 },
      classes: ['LUAD', 'LUSC'],
    });
    expect(made.parts.map((p) => p.slideCount)).toEqual([12, 12, 12, 12, 12]);
    // Three LUSC patients of two slides each cannot reach five folds: two folds lack LUSC, and say so.
    expect(made.parts.map((p) => p.counts.LUSC).sort()).toEqual([0, 0, 2, 2, 2]);
    expect(made.warnings).toHaveLength(2);
    for (const w of made.warnings) expect(w).toMatch(/^fold-\d has no slide of class LUSC\.$/);
    const extra = insertFakeSlides(
      project,
      tcgaNames(64, 2)
        .slice(60)
        .map((name) => ({ name })),
    );
    setLabels(db, extra, { taskId: task.id, value: 'LUSC', ...w });
    setLabel(db, ids[0]!, { taskId: task.id, value: 'LUAD', ...w });
    const again = getSplit(db, made.id!);
    expect(again.members).toEqual(made.members);
    expect(again.parts).toEqual(made.parts);
    // Making it again with the same seed on the grown project is a new split; the stored one stays.
    const second = createSplit(db, { taskId: task.id, scheme: { kind: 'folds', folds: 5 }, seed: 7 });
    expect(second.name).toBe('subtype 5-fold seed 7 (2)');
    expect(Object.values(second.members).flat()).toHaveLength(64);
    expect(listSplits(db).map((s) => s.name)).toEqual(['subtype 5-fold seed 7 (2)', 'subtype 5-fold seed 7']);
    project.close();
  });

  it('split a cohort only, and refuse one with nothing to split', async () => {
    const { project, db, task } = await labelled();
    const lusc = createFilterCohort(db, 'LUSC only', { taskValues: [{ taskId: task.id, values: ['LUSC'] }] });
    const split = previewSplit(db, {
      taskId: task.id,
      cohortId: lusc.id,
      scheme: { kind: 'folds', folds: 3 },
      seed: 1,
    });
    expect(
      Object.values(split.members)
        .flat()
        .every((m) => m.value === 'LUSC'),
    ).toBe(true);
    expect(split.cohortName).toBe('LUSC only');
    const other = createTask(db, { name: 'empty', kind: 'binary' });
    expect(() => previewSplit(db, { taskId: other.id, scheme: { kind: 'folds', folds: 3 } })).toThrow(
      'No slide has a value for empty and is not excluded; label some first.',
    );
    project.close();
  });

  it('stratify a continuous task by quartile bins', async () => {
    const { project, ids } = await fakeLibrary(tempDir(), tcgaNames(40, 1));
    const { db } = project;
    applyPatientPattern(db, { overwrite: false });
    const purity = createTask(db, { name: 'purity', kind: 'continuous' });
    ids.forEach((id, i) => setLabel(db, id, { taskId: purity.id, value: i / 40, ...w }));
    const split = previewSplit(db, { taskId: purity.id, scheme: { kind: 'folds', folds: 2 }, seed: 3 });
    expect(split.classes).toHaveLength(4);
    for (const part of split.parts) expect(Object.values(part.counts)).toEqual([5, 5, 5, 5]);
    project.close();
  });
});
