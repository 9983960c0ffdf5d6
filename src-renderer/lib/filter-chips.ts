/**
 * The Library's filter as the chips the user edits ("tumor is yes", "no value for subtype", "QC: blur",
 * "in cohort Training set") and back. Every chip must hold for a slide to be listed. Pure.
 */
import type { QcFlag, SlideFilter } from '../../src-main/contract/contract.js';
import { normalizeFilter } from './list-query.js';

export type TaskChoice =
  /** Has some value. */
  | { kind: 'any' }
  /** Has no value ("no value for task T"). */
  | { kind: 'none' }
  /** One of these values (binary, categorical). */
  | { kind: 'values'; values: string[] }
  /** Within [min, max] (continuous; either may be absent). */
  | { kind: 'range'; min: number | null; max: number | null };

export type QcChoice = { kind: 'clean' } | { kind: 'flagged' } | { kind: 'flag'; flag: QcFlag; set: boolean };

export type FilterChip =
  | { kind: 'task'; taskId: number; choice: TaskChoice }
  | { kind: 'qc'; choice: QcChoice }
  | { kind: 'cohort'; cohortId: number }
  | { kind: 'patient'; patient: string | null };

export function chipsToFilter(chips: readonly FilterChip[], text: string): SlideFilter {
  const filter: SlideFilter = {};
  if (text.trim()) filter.text = text.trim();
  const taskValues: NonNullable<SlideFilter['taskValues']> = [];
  const missing: number[] = [];
  const qc: NonNullable<SlideFilter['qc']> = [];
  for (const chip of chips) {
    switch (chip.kind) {
      case 'task': {
        const c = chip.choice;
        if (c.kind === 'none') missing.push(chip.taskId);
        else if (c.kind === 'any') taskValues.push({ taskId: chip.taskId });
        else if (c.kind === 'values') taskValues.push({ taskId: chip.taskId, values: c.values });
        else {
          const entry: (typeof taskValues)[number] = { taskId: chip.taskId };
          if (c.min !== null) entry.min = c.min;
          if (c.max !== null) entry.max = c.max;
          taskValues.push(entry);
        }
        break;
      }
      case 'qc': {
        const c = chip.choice;
        if (c.kind === 'clean') filter.qcClean = true;
        else if (c.kind === 'flagged') filter.qcClean = false;
        else qc.push({ flag: c.flag, set: c.set });
        break;
      }
      case 'cohort':
        filter.cohortId = chip.cohortId;
        break;
      case 'patient':
        filter.patient = chip.patient;
        break;
    }
  }
  if (taskValues.length) filter.taskValues = taskValues;
  if (missing.length) filter.missingTaskIds = missing;
  if (qc.length) filter.qc = qc;
  return normalizeFilter(filter);
}

export function filterToChips(filter: SlideFilter): FilterChip[] {
  const chips: FilterChip[] = [];
  if (filter.cohortId !== undefined) chips.push({ kind: 'cohort', cohortId: filter.cohortId });
  for (const tv of filter.taskValues ?? []) {
    let choice: TaskChoice;
    if (tv.values) choice = { kind: 'values', values: tv.values };
    else if (tv.min !== undefined || tv.max !== undefined)
      choice = { kind: 'range', min: tv.min ?? null, max: tv.max ?? null };
    else choice = { kind: 'any' };
    chips.push({ kind: 'task', taskId: tv.taskId, choice });
  }
  for (const taskId of filter.missingTaskIds ?? [])
    chips.push({ kind: 'task', taskId, choice: { kind: 'none' } });
  if (filter.qcClean !== undefined)
    chips.push({ kind: 'qc', choice: { kind: filter.qcClean ? 'clean' : 'flagged' } });
  for (const q of filter.qc ?? [])
    chips.push({ kind: 'qc', choice: { kind: 'flag', flag: q.flag, set: q.set } });
  if (filter.patient !== undefined) chips.push({ kind: 'patient', patient: filter.patient });
  return chips;
}

/** The `<select>` value of a QC choice, and back. */
export function qcChoiceKey(c: QcChoice): string {
  return c.kind === 'flag' ? `${c.flag}:${c.set ? 'set' : 'unset'}` : c.kind;
}

export function parseQcChoiceKey(key: string): QcChoice {
  if (key === 'clean' || key === 'flagged') return { kind: key };
  const [flag, state] = key.split(':');
  return { kind: 'flag', flag: flag as QcFlag, set: state === 'set' };
}

/** The `<select>` value of a task choice (binary and categorical), and back. */
export function taskChoiceKey(c: TaskChoice): string {
  if (c.kind === 'values')
    return c.values.length === 1 ? `value:${c.values[0]}` : `values:${JSON.stringify(c.values)}`;
  return c.kind;
}

export function parseTaskChoiceKey(key: string): TaskChoice {
  if (key === 'any' || key === 'none') return { kind: key };
  if (key.startsWith('value:')) return { kind: 'values', values: [key.slice('value:'.length)] };
  if (key.startsWith('values:')) {
    try {
      const values: unknown = JSON.parse(key.slice('values:'.length));
      if (Array.isArray(values))
        return { kind: 'values', values: values.filter((v) => typeof v === 'string') };
    } catch {
      // fall through
    }
  }
  if (key === 'range') return { kind: 'range', min: null, max: null };
  return { kind: 'any' };
}

/** A filter in words, for a saved cohort: `tumor is yes · no value for subtype · QC: no flag`. */
export function describeFilter(
  filter: SlideFilter,
  taskName: (id: number) => string,
  cohortName: (id: number) => string,
): string {
  const parts: string[] = [];
  if (filter.text) parts.push(`“${filter.text}”`);
  for (const chip of filterToChips(filter)) {
    if (chip.kind === 'task') {
      const name = taskName(chip.taskId);
      const c = chip.choice;
      if (c.kind === 'none') parts.push(`no value for ${name}`);
      else if (c.kind === 'any') parts.push(`${name} has a value`);
      else if (c.kind === 'values') parts.push(`${name} is ${c.values.join(' or ') || 'nothing'}`);
      else
        parts.push(
          c.min !== null && c.max !== null
            ? `${name} from ${c.min} to ${c.max}`
            : c.min !== null
              ? `${name} ≥ ${c.min}`
              : c.max !== null
                ? `${name} ≤ ${c.max}`
                : `${name} has a value`,
        );
    } else if (chip.kind === 'qc') {
      const c = chip.choice;
      parts.push(
        c.kind === 'clean'
          ? 'QC: no flag'
          : c.kind === 'flagged'
            ? 'QC: any flag'
            : `QC: ${c.set ? '' : 'not '}${c.flag}`,
      );
    } else if (chip.kind === 'cohort') parts.push(`in ${cohortName(chip.cohortId)}`);
    else parts.push(chip.patient === null ? 'no patient' : `patient ${chip.patient}`);
  }
  return parts.length ? parts.join(' · ') : 'every slide';
}
