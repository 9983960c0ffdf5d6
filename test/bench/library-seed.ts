/**
 * A project the size the library goals name: `slides` TCGA-named slide rows (no files; pixels do not
 * matter to the table) with patients from their names, 5 tasks (two binary, two categorical, one continuous) with about 70 % of the
 * values set, and QC flags on a few percent. Seeded, so every run measures the same project.
 */
import { createTask } from '../../src-main/project/tasks.js';
import { setLabels } from '../../src-main/project/labels.js';
import { applyPatientPattern } from '../../src-main/project/patients.js';
import { setQc } from '../../src-main/project/qc.js';
import { fakeLibrary, tcgaNames } from '../helpers/library.js';

/** mulberry32: small, seeded, good enough to spread labels. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function seedLibrary(
  dir: string,
  slides = 20_000,
): Promise<{ slideIds: number[]; labels: number }> {
  const { project, ids } = await fakeLibrary(dir, tcgaNames(slides, 2));
  const db = project.db;
  applyPatientPattern(db, { overwrite: false });
  const rand = random(11);
  const tasks = [
    createTask(db, { name: 'tumor', kind: 'binary' }),
    createTask(db, { name: 'msi', kind: 'binary', values: [{ name: 'MSS' }, { name: 'MSI-H' }] }),
    createTask(db, {
      name: 'subtype',
      kind: 'categorical',
      values: ['LUAD', 'LUSC', 'other'].map((name) => ({ name })),
    }),
    createTask(db, {
      name: 'grade',
      kind: 'categorical',
      values: ['G1', 'G2', 'G3', 'G4'].map((name) => ({ name })),
    }),
    createTask(db, { name: 'tmb', kind: 'continuous', min: 0, max: 100 }),
  ];
  for (const task of tasks) {
    const byValue = new Map<string | number, number[]>();
    for (const id of ids) {
      if (rand() > 0.7) continue;
      const value =
        task.kind === 'continuous'
          ? Math.round(rand() * 1000) / 10
          : task.values[Math.floor(rand() * task.values.length)]!.name;
      let list = byValue.get(value);
      if (!list) byValue.set(value, (list = []));
      list.push(id);
    }
    for (const [value, slideIds] of byValue)
      setLabels(db, slideIds, { taskId: task.id, value, source: 'manual', author: null });
  }
  const flagged = ids.filter(() => rand() < 0.04);
  setQc(
    db,
    flagged.filter((_, i) => i % 2 === 0),
    { flags: { blur: true }, reason: 'out of focus' },
  );
  setQc(
    db,
    flagged.filter((_, i) => i % 2 === 1),
    { flags: { exclude: true, 'pen-marks': true } },
  );
  const labels = (db.prepare('SELECT count(*) AS n FROM labels').get() as { n: number }).n;
  project.close();
  return { slideIds: ids, labels };
}
