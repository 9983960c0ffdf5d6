import { describe, expect, it } from 'vitest';
import {
  applyPatientPattern,
  previewPatientPattern,
  setPatients,
} from '../../../src-main/project/patients.js';
import { selectPatients } from '../../../src-main/project/patients-repo.js';
import { fakeLibrary } from '../../helpers/library.js';
import { tempDir } from '../../helpers/temp.js';

const names = [
  'TCGA-05-4244-01Z-00-DX1.d4ff32cd-38cf-40ea-8213-45c2b100ac01.svs',
  'TCGA-05-4244-01Z-00-DX2.svs',
  'TCGA-38-4625-01Z-00-DX1.svs',
  'case_017_B.ndpi',
];

describe('patients', () => {
  it("previews TCGA barcodes by default, writes nothing, then assigns them and lists patients' slide counts", async () => {
    const { project, ids } = await fakeLibrary(tempDir(), names);
    const { db } = project;
    const preview = previewPatientPattern(db, { overwrite: false, offset: 0, limit: 10 });
    expect(preview).toMatchObject({ considered: 4, matched: 3, unmatched: 1, changes: 3 });
    expect(preview.rows.map((r) => [r.name.slice(0, 12), r.proposed])).toEqual([
      ['case_017_B.n', null],
      ['TCGA-05-4244', 'TCGA-05-4244'],
      ['TCGA-05-4244', 'TCGA-05-4244'],
      ['TCGA-38-4625', 'TCGA-38-4625'],
    ]);
    expect(selectPatients(db)).toEqual([]);
    expect(applyPatientPattern(db, { overwrite: false })).toMatchObject({
      changed: 3,
      matched: 3,
      unmatched: 1,
    });
    expect(selectPatients(db).map((p) => [p.externalId, p.slideCount])).toEqual([
      ['TCGA-05-4244', 2],
      ['TCGA-38-4625', 1],
    ]);
    // A pattern of the user's, applied only where no patient is set unless asked to overwrite.
    setPatients(db, [ids[3]!], 'by hand');
    expect(
      previewPatientPattern(db, { pattern: '^case_(\\d+)', overwrite: false, offset: 0, limit: 10 })
        .considered,
    ).toBe(0);
    const over = applyPatientPattern(db, { pattern: '^case_(\\d+)', overwrite: true });
    expect(over).toMatchObject({ changed: 1, matched: 1, unmatched: 3 });
    // "by hand" lost its last slide and is gone.
    expect(selectPatients(db).map((p) => p.externalId)).toEqual(['017', 'TCGA-05-4244', 'TCGA-38-4625']);
    project.close();
  });

  it('refuses a pattern without a group, or an invalid one, with a sentence', async () => {
    const { project } = await fakeLibrary(tempDir(), names);
    expect(() =>
      previewPatientPattern(project.db, { pattern: '^TCGA', overwrite: false, offset: 0, limit: 1 }),
    ).toThrow('The pattern ^TCGA needs one group in parentheses: the part that is the patient id.');
    expect(() => applyPatientPattern(project.db, { pattern: '^(TCGA', overwrite: false })).toThrow(
      /is not a valid regular expression/,
    );
    project.close();
  });
});
