/**
 * Splits as stored objects: gather a cohort's labeled, non-excluded slides with their patients, plan the
 * split (split-plan.ts) and keep it with its seed, scheme and exact member list (one transaction). A stored
 * split is read back as it was stored, whatever has happened to the slides since.
 */
import { randomInt } from 'node:crypto';
import type { SplitDetail, SplitMember, SplitPart, SplitScheme, SplitSummary } from '../contract/contract.js';
import { ApiError } from '../contract/errors.js';
import type { Db } from '../db/connection.js';
import { getCohort } from './cohorts.js';
import { selectTaskLabelValues } from './labels-repo.js';
import { selectSlideIdentities } from './patients-repo.js';
import { QC_BITS } from './qc-flags.js';
import { selectSlideIds } from './slide-query-repo.js';
import { partNames, planSplit, quartileBins, type SplitCandidate } from './split-plan.js';
import {
  deleteSplitRow,
  insertSplit,
  renameSplitRow,
  selectExcludedSlideIds,
  selectSplitByName,
  selectSplitMembers,
  selectSplitRow,
  selectSplitRows,
  type SplitRow,
} from './splits-repo.js';
import { getTask } from './tasks.js';

export interface SplitRequest {
  taskId: number;
  cohortId?: number;
  scheme: SplitScheme;
  seed?: number;
}

interface StoredSummary {
  classes: string[];
  parts: SplitPart[];
  left: { excluded: number; unlabeled: number };
  warnings: string[];
}

export function previewSplit(db: Db, req: SplitRequest, name?: string): SplitDetail {
  const task = getTask(db, req.taskId);
  const cohort = req.cohortId !== undefined ? getCohort(db, req.cohortId) : null;
  const seed = req.seed ?? randomInt(0, 2 ** 32 - 1);
  const slideIds = selectSlideIds(db, {
    filter: cohort ? { cohortId: cohort.id } : {},
    sort: { column: 'id' },
  });
  const labels = selectTaskLabelValues(db, task.id);
  const excluded = selectExcludedSlideIds(db, QC_BITS.exclude);
  const identity = new Map(selectSlideIdentities(db).map((s) => [s.id, s]));
  let unlabeled = 0;
  let excludedCount = 0;
  const picked: { id: number; value: string }[] = [];
  for (const id of slideIds) {
    const value = labels.get(id);
    if (value === undefined) unlabeled++;
    else if (excluded.has(id)) excludedCount++;
    else picked.push({ id, value });
  }
  const classOf =
    task.kind === 'continuous' ? quartileBins(picked.map((p) => Number(p.value))) : (v: string) => v;
  const candidates: SplitCandidate[] = picked.map((p) => {
    const s = identity.get(p.id)!;
    return {
      slideId: p.id,
      slideName: s.name,
      patient: s.patient,
      cls: task.kind === 'continuous' ? (classOf as (v: number) => string)(Number(p.value)) : p.value,
    };
  });
  if (!candidates.length)
    throw new ApiError(
      'conflict',
      `No slide${cohort ? ` of cohort ${cohort.name}` : ''} has a value for ${task.name} and is not excluded; label some first.`,
    );
  const classOrder = task.kind === 'continuous' ? [] : task.values.map((v) => v.name);
  const plan = planSplit(candidates, req.scheme, seed, classOrder);
  const valueOf = new Map(picked.map((p) => [p.id, p.value]));
  const members: Record<string, SplitMember[]> = {};
  const parts: SplitPart[] = plan.parts.map((part) => {
    members[part.name] = part.members.map((m) => ({
      slideId: m.slideId,
      slideName: m.slideName,
      patient: m.patient,
      value: valueOf.get(m.slideId)!,
    }));
    const counts: Record<string, number> = Object.fromEntries(plan.classes.map((c) => [c, 0]));
    for (const m of part.members) counts[m.cls]!++;
    return {
      name: part.name,
      slideCount: part.members.length,
      patientCount: new Set(part.members.map((m) => m.patient ?? `\u0000${m.slideId}`)).size,
      counts,
    };
  });
  return {
    id: null,
    name: name ?? defaultName(task.name, req.scheme, seed),
    taskId: task.id,
    taskName: task.name,
    cohortId: cohort?.id ?? null,
    cohortName: cohort?.name ?? null,
    seed,
    scheme: req.scheme,
    classes: plan.classes,
    parts,
    left: { excluded: excludedCount, unlabeled },
    warnings: plan.warnings,
    createdAt: null,
    members,
  };
}

function defaultName(task: string, scheme: SplitScheme, seed: number): string {
  const how =
    scheme.kind === 'folds'
      ? `${scheme.folds}-fold`
      : scheme.fractions.map((f) => Math.round(f * 100)).join('/');
  return `${task} ${how} seed ${seed}`;
}

export function createSplit(db: Db, req: SplitRequest & { name?: string }): SplitDetail {
  return db.transaction(() => {
    const plan = previewSplit(db, req, req.name?.trim());
    let name = plan.name;
    if (req.name !== undefined) {
      if (selectSplitByName(db, name))
        throw new ApiError('conflict', `A split named "${name}" already exists.`);
    } else {
      for (let i = 2; selectSplitByName(db, name); i++) name = `${plan.name} (${i})`;
    }
    const summary: StoredSummary = {
      classes: plan.classes,
      parts: plan.parts,
      left: plan.left,
      warnings: plan.warnings,
    };
    const id = insertSplit(
      db,
      {
        name,
        taskId: plan.taskId,
        taskName: plan.taskName,
        cohortId: plan.cohortId,
        cohortName: plan.cohortName,
        seed: plan.seed,
        scheme: JSON.stringify(plan.scheme),
        summary: JSON.stringify(summary),
      },
      Object.entries(plan.members).flatMap(([part, list]) => list.map((m) => ({ part, ...m }))),
    );
    return getSplit(db, id);
  })();
}

function summaryOf(row: SplitRow): SplitSummary {
  const s = JSON.parse(row.summary) as StoredSummary;
  return {
    id: row.id,
    name: row.name,
    taskId: row.taskId,
    taskName: row.taskName,
    cohortId: row.cohortId,
    cohortName: row.cohortName,
    seed: row.seed,
    scheme: JSON.parse(row.scheme) as SplitScheme,
    classes: s.classes,
    parts: s.parts,
    left: s.left,
    warnings: s.warnings,
    createdAt: row.createdAt,
  };
}

export function listSplits(db: Db): SplitSummary[] {
  return selectSplitRows(db).map(summaryOf);
}

export function getSplit(db: Db, id: number): SplitDetail {
  const row = selectSplitRow(db, id);
  if (!row) throw new ApiError('not-found', `There is no split with id ${id} in this project.`);
  const summary = summaryOf(row);
  const members: Record<string, SplitMember[]> = Object.fromEntries(
    partNames(summary.scheme).map((p) => [p, [] as SplitMember[]]),
  );
  for (const m of selectSplitMembers(db, id))
    (members[m.part] ??= []).push({
      slideId: m.slideId,
      slideName: m.slideName,
      patient: m.patient,
      value: m.value,
    });
  return { ...summary, members };
}

export function getSplitByName(db: Db, name: string): SplitDetail {
  const row = selectSplitByName(db, name);
  if (!row) throw new ApiError('not-found', `There is no split named "${name}" in this project.`);
  return getSplit(db, row.id);
}

export function renameSplit(db: Db, id: number, name: string): SplitSummary {
  db.transaction(() => {
    getSplit(db, id);
    const clash = selectSplitByName(db, name.trim());
    if (clash && clash.id !== id)
      throw new ApiError('conflict', `A split named "${clash.name}" already exists.`);
    renameSplitRow(db, id, name.trim());
  })();
  return summaryOf(selectSplitRow(db, id)!);
}

export function deleteSplit(db: Db, id: number): void {
  db.transaction(() => {
    getSplit(db, id);
    deleteSplitRow(db, id);
  })();
}
