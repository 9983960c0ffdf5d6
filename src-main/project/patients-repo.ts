/** SQL over patients and the slides' patient link. Callers wrap multi-row changes in one transaction. */
import type { PatientInfo } from '../contract/contract.js';
import type { Db } from '../db/connection.js';
import { prepared } from '../db/statements.js';

export interface SlideIdentity {
  id: number;
  name: string;
  path: string;
  patient: string | null;
}

export function selectPatients(db: Db): PatientInfo[] {
  return prepared(
    db,
    `SELECT p.id, p.external_id AS externalId, count(s.id) AS slideCount
     FROM patients p LEFT JOIN slides s ON s.patient_id = p.id
     GROUP BY p.id ORDER BY p.external_id COLLATE NOCASE`,
  ).all() as PatientInfo[];
}

/** Every slide's id, file name, path and patient, in name order. */
export function selectSlideIdentities(db: Db): SlideIdentity[] {
  return prepared(
    db,
    `SELECT s.id, s.name, s.path, p.external_id AS patient
     FROM slides s LEFT JOIN patients p ON p.id = s.patient_id ORDER BY s.name COLLATE NOCASE, s.id`,
  ).all() as SlideIdentity[];
}

export function selectSlidePatient(db: Db, slideId: number): { patient: string | null } | undefined {
  return prepared(
    db,
    'SELECT p.external_id AS patient FROM slides s LEFT JOIN patients p ON p.id = s.patient_id WHERE s.id = ?',
  ).get(slideId) as { patient: string | null } | undefined;
}

/** Links the slide to the patient with this external id (created if new), or to none. False if no slide. */
export function writeSlidePatient(db: Db, slideId: number, externalId: string | null): boolean {
  let patientId: number | null = null;
  if (externalId !== null) {
    prepared(db, 'INSERT INTO patients (external_id) VALUES (?) ON CONFLICT (external_id) DO NOTHING').run(
      externalId,
    );
    patientId = (
      prepared(db, 'SELECT id FROM patients WHERE external_id = ?').get(externalId) as { id: number }
    ).id;
  }
  return prepared(db, 'UPDATE slides SET patient_id = ? WHERE id = ?').run(patientId, slideId).changes > 0;
}

/** Patients no slide refers to any more. */
export function deleteOrphanPatients(db: Db): number {
  return prepared(
    db,
    'DELETE FROM patients WHERE id NOT IN (SELECT patient_id FROM slides WHERE patient_id IS NOT NULL)',
  ).run().changes;
}
