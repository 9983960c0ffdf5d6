/**
 * Which patient each slide belongs to: set by hand, or read from the file name with a regular expression
 * whose first group is the patient id (TCGA's 12-character barcode by default), previewed before it is
 * applied. Each change is one transaction and one edit for the undo stack; patients left with no slide go.
 */
import type { PatientPatternPreview } from '../contract/contract.js';
import { ApiError } from '../contract/errors.js';
import type { Db } from '../db/connection.js';
import { plural, type CellChange, type Edit } from './edits.js';
import {
  deleteOrphanPatients,
  selectSlideIdentities,
  selectSlidePatient,
  writeSlidePatient,
  type SlideIdentity,
} from './patients-repo.js';

/** TCGA-<TSS>-<participant>: the first 12 characters of a TCGA slide's file name. */
export const TCGA_PATIENT_PATTERN = '^(TCGA-[A-Za-z0-9]{2}-[A-Za-z0-9]{4})';

export function compilePatientPattern(pattern: string): RegExp {
  let re: RegExp;
  try {
    re = new RegExp(pattern, 'u');
  } catch (err) {
    throw new ApiError(
      'bad-input',
      `The pattern ${pattern} is not a valid regular expression: ${(err as Error).message}.`,
    );
  }
  const groups = new RegExp(`${pattern}|`, 'u').exec('')!.length - 1;
  if (groups < 1)
    throw new ApiError(
      'bad-input',
      `The pattern ${pattern} needs one group in parentheses: the part that is the patient id.`,
    );
  return re;
}

export function patientFromName(re: RegExp, name: string): string | null {
  const m = re.exec(name);
  const id = m?.[1]?.trim();
  return id ? id : null;
}

interface Proposal {
  slide: SlideIdentity;
  proposed: string | null;
}

function propose(db: Db, pattern: string, overwrite: boolean): Proposal[] {
  const re = compilePatientPattern(pattern);
  return selectSlideIdentities(db)
    .filter((s) => overwrite || s.patient === null)
    .map((slide) => ({ slide, proposed: patientFromName(re, slide.name) }));
}

export function previewPatientPattern(
  db: Db,
  q: { pattern?: string; overwrite: boolean; offset: number; limit: number },
): PatientPatternPreview {
  const pattern = q.pattern ?? TCGA_PATIENT_PATTERN;
  const proposals = propose(db, pattern, q.overwrite);
  const matched = proposals.filter((p) => p.proposed !== null);
  return {
    pattern,
    considered: proposals.length,
    matched: matched.length,
    unmatched: proposals.length - matched.length,
    changes: matched.filter((p) => p.proposed !== p.slide.patient).length,
    rows: proposals.slice(q.offset, q.offset + q.limit).map((p) => ({
      slideId: p.slide.id,
      name: p.slide.name,
      current: p.slide.patient,
      proposed: p.proposed,
    })),
  };
}

/** Assigns the pattern's patients; slides it does not match keep theirs. */
export function applyPatientPattern(
  db: Db,
  q: { pattern?: string; overwrite: boolean },
): { changed: number; matched: number; unmatched: number; edit: Edit | null } {
  return db.transaction(() => {
    const proposals = propose(db, q.pattern ?? TCGA_PATIENT_PATTERN, q.overwrite);
    const changes: CellChange[] = [];
    let matched = 0;
    for (const { slide, proposed } of proposals) {
      if (proposed === null) continue;
      matched++;
      if (proposed === slide.patient) continue;
      writeSlidePatient(db, slide.id, proposed);
      changes.push({ kind: 'patient', slideId: slide.id, before: slide.patient, after: proposed });
    }
    deleteOrphanPatients(db);
    return {
      changed: changes.length,
      matched,
      unmatched: proposals.length - matched,
      edit: changes.length
        ? { description: `assign patients from file names to ${plural(changes.length, 'slide')}`, changes }
        : null,
    };
  })();
}

/** Sets (or with null clears) the patient of these slides. */
export function setPatients(
  db: Db,
  slideIds: number[],
  patient: string | null,
): { changed: number; edit: Edit | null } {
  const next = patient?.trim() || null;
  return db.transaction(() => {
    const changes: CellChange[] = [];
    for (const id of slideIds) {
      const row = selectSlidePatient(db, id);
      if (!row || row.patient === next) continue;
      writeSlidePatient(db, id, next);
      changes.push({ kind: 'patient', slideId: id, before: row.patient, after: next });
    }
    deleteOrphanPatients(db);
    const what = next === null ? 'clear the patient' : `set patient ${next}`;
    return {
      changed: changes.length,
      edit: changes.length ? { description: `${what} on ${plural(changes.length, 'slide')}`, changes } : null,
    };
  })();
}
