/**
 * Projects with slide rows but no slide files, made through the repository layer as import would store
 * them: for label, cohort and split tests and the library benchmark, where pixels do not matter.
 */
import { createProject, type Project } from '../../src-main/project/project.js';
import { upsertSlide } from '../../src-main/project/slides-repo.js';

export interface FakeSlide {
  name: string;
  /** Folder the fake path lies in (default /slides). */
  folder?: string;
}

export function insertFakeSlides(project: Project, slides: FakeSlide[]): number[] {
  return project.db.transaction(() =>
    slides.map(
      (s, i) =>
        upsertSlide(project.db, {
          path: `${s.folder ?? '/slides'}/${s.name}`,
          name: s.name,
          vendor: 'aperio',
          backend: 'tiff',
          width: 40_000 + i,
          height: 30_000,
          levelCount: 3,
          mppX: 0.25,
          mppY: 0.25,
          objectivePower: 40,
          fileSize: 1_000_000 + i,
          fingerprint: `${1_000_000 + i}-40000x30000-fake-${i}`,
        }).id,
    ),
  )();
}

/** TCGA-style file names: patient TCGA-AA-0000 + n, `perPatient` slides each. */
export function tcgaNames(count: number, perPatient = 1): string[] {
  return Array.from({ length: count }, (_, i) => {
    const patient = Math.floor(i / perPatient);
    const slide = i % perPatient;
    return `TCGA-${String.fromCharCode(65 + (patient % 26))}${String.fromCharCode(65 + (Math.floor(patient / 26) % 26))}-${String(patient).padStart(4, '0')}-01Z-00-DX${slide + 1}.svs`;
  });
}

export async function fakeLibrary(
  dir: string,
  names: string[],
): Promise<{ project: Project; ids: number[] }> {
  const project = await createProject(dir, 'Library');
  return {
    project,
    ids: insertFakeSlides(
      project,
      names.map((name) => ({ name })),
    ),
  };
}
