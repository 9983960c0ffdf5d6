import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyPatientPattern } from '../../../src-main/project/patients.js';
import { setQc } from '../../../src-main/project/qc.js';
import { cli } from '../../helpers/cli.js';
import { fakeLibrary, tcgaNames } from '../../helpers/library.js';
import { tempDir } from '../../helpers/temp.js';

async function projectWith(slides: number, perPatient = 1, patients = true) {
  const dir = tempDir();
  const { project, ids } = await fakeLibrary(dir, tcgaNames(slides, perPatient));
  if (patients) applyPatientPattern(project.db, { overwrite: false });
  return { dir, ids, project };
}

const names = tcgaNames(40, 1);

describe('tessera tasks', () => {
  it('adds the three kinds and lists them as text and JSON', async () => {
    const { dir, project } = await projectWith(2);
    project.close();
    expect(await cli('tasks', 'add', dir, 'tumor', '--kind', 'binary')).toMatchObject({
      code: 0,
      out: 'Added task tumor (binary: no [0], yes [1])\n',
    });
    expect(
      (await cli('tasks', 'add', dir, 'subtype', '--kind', 'categorical', '--values', 'LUAD,LUSC,other'))
        .code,
    ).toBe(0);
    expect(
      (await cli('tasks', 'add', dir, 'purity', '--kind', 'continuous', '--min', '0', '--max', '1')).code,
    ).toBe(0);
    const list = await cli('tasks', 'list', dir);
    expect(list.out).toBe(
      [
        'tumor (binary: no [0], yes [1])  0 label(s)',
        'subtype (categorical: LUAD [1], LUSC [2], other [3])  0 label(s)',
        'purity (continuous 0..1)  0 label(s)',
        '',
      ].join('\n'),
    );
    const json = JSON.parse((await cli('tasks', 'list', dir, '--json')).out);
    expect(json.map((t: { name: string; kind: string }) => [t.name, t.kind])).toEqual([
      ['tumor', 'binary'],
      ['subtype', 'categorical'],
      ['purity', 'continuous'],
    ]);
    const bad = await cli('tasks', 'add', dir, 'x', '--kind', 'ordinal');
    expect(bad).toMatchObject({ code: 2 });
    expect(bad.err).toMatch(/--kind must be one of binary, categorical, continuous, got "ordinal"/);
    expect(await cli('tasks', 'add', dir, 'TUMOR', '--kind', 'binary')).toMatchObject({
      code: 1,
      err: 'tessera: A task named "tumor" already exists.\n',
    });
  });

  it('tasks list opens the project without writing to it', async () => {
    const { dir, project } = await projectWith(3);
    project.db.pragma('wal_checkpoint(TRUNCATE)');
    project.close();
    await cli('tasks', 'add', dir, 'tumor', '--kind', 'binary');
    const database = path.join(dir, 'project.sqlite');
    const before = fs.readFileSync(database);
    expect(fs.existsSync(`${database}-wal`)).toBe(false);
    expect((await cli('tasks', 'list', dir)).code).toBe(0);
    expect((await cli('labels', 'export', dir, '-o', path.join(tempDir(), 'x.csv'))).code).toBe(0);
    expect(fs.readFileSync(database).equals(before)).toBe(true);
    // A read-only reader of a WAL database may leave an empty log behind, never a written one.
    if (fs.existsSync(`${database}-wal`)) expect(fs.statSync(`${database}-wal`).size).toBe(0);
  });
});

describe('tessera labels', () => {
  it('imports with --map and --create-tasks, prints every rejected row, and exits 1 when any was rejected', async () => {
    const { dir, project } = await projectWith(40);
    project.close();
    await cli('tasks', 'add', dir, 'tumor', '--kind', 'binary');
    const csv = path.join(tempDir(), 'clinical.csv');
    fs.writeFileSync(
      csv,
      [
        'Case;File;Tumour present;Stage',
        ...names
          .slice(0, 30)
          .map(
            (n, i) =>
              `${n.slice(0, 12)};${n.replace('.svs', '')};${i % 3 ? 'TRUE' : 'FALSE'};${['I', 'II', 'III'][i % 3]}`,
          ),
        `TCGA-ZZ-9999;ghost.svs;TRUE;I`,
        `${names[31]!.slice(0, 12)};${names[31]};sometimes;II`,
      ].join('\r\n'),
    );
    const dry = await cli(
      'labels',
      'import',
      dir,
      csv,
      '--map',
      'Case=patient',
      '--map',
      'File=slide',
      '--map',
      'Tumour present=tumor',
      '--create-tasks',
      '--dry-run',
    );
    expect(dry.code).toBe(1);
    expect(dry.out).toContain(
      'Would import: 60 new label(s), 0 changed, 0 unchanged; would create task(s) Stage.',
    );
    expect(dry.out).toContain(
      'Columns: Case → patient; File → slide; Tumour present → task tumor; Stage → new categorical task Stage (I, II, III)',
    );
    expect(dry.out).toContain(
      'Rejected 2 row(s):\n  Line 32: no slide in the project is named "ghost.svs".\n  Line 33: "sometimes" is not a value of task tumor (no, yes).\n',
    );
    expect(dry.err).toBe(`tessera: 2 row(s) of ${csv} were not imported (reasons above).\n`);
    expect(JSON.parse((await cli('tasks', 'list', dir, '--json')).out)).toHaveLength(1);

    const real = await cli(
      'labels',
      'import',
      dir,
      csv,
      '--map',
      'Case=patient',
      '--map',
      'File=slide',
      '--map',
      'Tumour present=tumor',
      '--create-tasks',
      '--json',
    );
    expect(real.code).toBe(1);
    const outcome = JSON.parse(real.out);
    expect(outcome).toMatchObject({ dryRun: false, summary: { new: 60, rejected: 2 } });
    expect(outcome.rejected).toHaveLength(2);
    const tasks = JSON.parse((await cli('tasks', 'list', dir, '--json')).out);
    expect(tasks.map((t: { name: string; labelCount: number }) => [t.name, t.labelCount])).toEqual([
      ['tumor', 30],
      ['Stage', 30],
    ]);
    expect(await cli('labels', 'import', dir, csv, '--map', 'Nope=slide')).toMatchObject({ code: 2 });
  });

  it('export then import changes nothing', async () => {
    const { dir, project } = await projectWith(12, 2);
    project.close();
    await cli('tasks', 'add', dir, 'grade', '--kind', 'categorical', '--values', 'low,high');
    const csv = path.join(tempDir(), 'in.csv');
    fs.writeFileSync(
      csv,
      `slide,grade\n${tcgaNames(12, 2)
        .map((n, i) => `${n},${i % 2 ? 'high' : 'LOW'}`)
        .join('\n')}\n`,
    );
    expect((await cli('labels', 'import', dir, csv)).code).toBe(0);
    const out = path.join(tempDir(), 'out.csv');
    expect(await cli('labels', 'export', dir, '-o', out)).toMatchObject({
      code: 0,
      out: `Wrote 12 slide(s) to ${out}\n`,
    });
    expect(fs.readFileSync(out, 'utf8').split('\n').slice(0, 2)).toEqual([
      'patient,slide,grade',
      `TCGA-AA-0000,${tcgaNames(12, 2)[0]},low`,
    ]);
    const again = await cli('labels', 'import', dir, out);
    expect(again.code).toBe(0);
    expect(again.out).toContain('Imported: 0 new label(s), 0 changed, 12 unchanged.');
  });
});

describe('tessera cohorts and split', () => {
  it('makes cohorts from --where and --slides, and a stored split whose --json lists every part', async () => {
    const { dir, project, ids } = await projectWith(40, 2);
    setQc(project.db, [ids[0]!], { flags: { exclude: true } });
    project.close();
    await cli('tasks', 'add', dir, 'tumor', '--kind', 'binary');
    const csv = path.join(tempDir(), 'l.csv');
    fs.writeFileSync(
      csv,
      `slide,tumor\n${tcgaNames(40, 2)
        .map((n, i) => `${n},${Math.floor(i / 2) % 4 === 0 ? 'yes' : 'no'}`)
        .join('\n')}\n`,
    );
    expect((await cli('labels', 'import', dir, csv)).code).toBe(0);

    expect(await cli('cohorts', 'create', dir, 'positives', '--where', 'tumor=TRUE')).toMatchObject({
      code: 0,
      out: 'Created cohort positives (saved filter): 10 slide(s) now.\n',
    });
    expect((await cli('cohorts', 'create', dir, 'first four', '--slides', '1,2,3,4')).out).toBe(
      'Created cohort first four (fixed set): 4 slide(s) now.\n',
    );
    expect(await cli('cohorts', 'create', dir, 'x', '--where', 'tumor=maybe')).toMatchObject({ code: 2 });
    expect(await cli('cohorts', 'create', dir, 'x', '--slides', '1,999')).toMatchObject({
      code: 1,
      err: 'tessera: There is no slide with id 999 in this project.\n',
    });

    const split = await cli('split', dir, '--task', 'tumor', '--folds', '5', '--seed', '11', '--json');
    expect(split.code).toBe(0);
    const json = JSON.parse(split.out);
    expect(json).toMatchObject({ name: 'tumor 5-fold seed 11', seed: 11, task: 'tumor', cohort: null });
    expect(Object.keys(json.parts)).toEqual(['fold-1', 'fold-2', 'fold-3', 'fold-4', 'fold-5']);
    const all = Object.values(json.parts).flat() as {
      slideId: number;
      patient: string;
      value: string;
      slide: string;
    }[];
    expect(all).toHaveLength(39);
    expect(all.map((m) => m.slideId)).not.toContain(ids[0]);
    expect(all[0]).toEqual({
      slideId: expect.any(Number),
      slide: expect.stringMatching(/\.svs$/),
      patient: expect.stringMatching(/^TCGA-/),
      value: expect.stringMatching(/^(yes|no)$/),
    });
    const patientsPerPart = Object.values(json.parts).map(
      (list) => new Set((list as { patient: string }[]).map((m) => m.patient)),
    );
    for (let i = 0; i < patientsPerPart.length; i++)
      for (let j = i + 1; j < patientsPerPart.length; j++)
        for (const p of patientsPerPart[i]!) expect(patientsPerPart[j]!.has(p)).toBe(false);

    const again = await cli('split', dir, '--task', 'tumor', '--folds', '5', '--seed', '11', '--json');
    expect(JSON.parse(again.out).parts).toEqual(json.parts);

    const text = await cli(
      'split',
      dir,
      '--task',
      'tumor',
      '--cohort',
      'positives',
      '--fractions',
      '0.5,0.5',
      '--seed',
      '1',
      '--name',
      'pos',
    );
    expect(text.code).toBe(0);
    // The cohort's ten positive slides less the excluded one, in five patients.
    expect(text.out).toBe(
      [
        'Split "pos" (tumor, cohort positives, seed 1)',
        'part   yes  slides  patients',
        'train  5    5       3',
        'test   4    4       2',
        'Left out: 1 excluded, 0 without a value.',
        '',
      ].join('\n'),
    );
    expect(
      await cli('split', dir, '--task', 'tumor', '--folds', '3', '--fractions', '0.5,0.5'),
    ).toMatchObject({ code: 2 });
    expect((await cli('split', dir, '--task', 'tumor', '--fractions', '0.5,0.6')).err).toMatch(
      /must add up to 1/,
    );
    expect((await cli('split', dir, '--task', 'nope', '--folds', '2')).err).toBe(
      'tessera: There is no task named "nope" in this project (tasks: tumor).\n',
    );
  });

  it('patients assigns from file names with a preview, or only previews with --dry-run', async () => {
    const { dir, project } = await projectWith(4, 2, false);
    project.close();
    const dry = await cli('patients', dir, '--dry-run');
    expect(dry.out).toContain('4 of 4 slide(s) match, 4 would change.');
    expect(dry.out).toContain('Dry run: nothing written.');
    const real = await cli('patients', dir);
    expect(real.out).toContain('Assigned patients to 4 slide(s).');
    expect(JSON.parse((await cli('project', 'info', dir, '--json')).out).patientCount).toBe(2);
  });
});
