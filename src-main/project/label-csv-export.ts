/**
 * Label export in the format the import reads (Slideflow's and CLAM's shape): `patient`, `slide` (the file
 * name, or the path where two slides share a name), then one column per task with its value or an empty
 * cell. UTF-8 without a BOM (pandas would keep one in the first header), written by csv-stringify.
 */
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { ApiError } from '../contract/errors.js';
import type { Db } from '../db/connection.js';
import { selectLabelsOfSlides } from './labels-repo.js';
import { selectSlideIdentities } from './patients-repo.js';
import { listTasks } from './tasks.js';

export function exportLabelsCsv(db: Db, taskIds?: number[]): { csv: string; rows: number } {
  const all = listTasks(db);
  const tasks = taskIds ? all.filter((t) => taskIds.includes(t.id)) : all;
  const missing = taskIds?.filter((id) => !all.some((t) => t.id === id)) ?? [];
  if (missing.length)
    throw new ApiError('not-found', `There is no task with id ${missing.join(', ')} in this project.`);
  const slides = selectSlideIdentities(db);
  const nameCount = new Map<string, number>();
  for (const s of slides) nameCount.set(s.name.toLowerCase(), (nameCount.get(s.name.toLowerCase()) ?? 0) + 1);
  const values = new Map<number, Map<number, string>>();
  for (const l of selectLabelsOfSlides(
    db,
    slides.map((s) => s.id),
  )) {
    let m = values.get(l.s);
    if (!m) values.set(l.s, (m = new Map()));
    m.set(l.t, l.v);
  }
  const records = slides.map((s) => [
    s.patient ?? '',
    nameCount.get(s.name.toLowerCase())! > 1 ? s.path : s.name,
    ...tasks.map((t) => values.get(s.id)?.get(t.id) ?? ''),
  ]);
  const csv = stringify([['patient', 'slide', ...tasks.map((t) => t.name)], ...records], {
    record_delimiter: '\n',
  });
  return { csv, rows: records.length };
}

/** Writes the text beside the target first and renames it over, so a failed write leaves no half file. */
export function writeTextFile(file: string, text: string): string {
  const target = path.resolve(file);
  const temp = `${target}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temp, text);
    fs.renameSync(temp, target);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw new ApiError('unreadable', `Cannot write ${target}: ${(err as Error).message}.`);
  }
  return target;
}
