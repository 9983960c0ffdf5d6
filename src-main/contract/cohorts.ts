/**
 * Cohorts (a saved filter or an explicit set of slides) and patient-level, stratified, seeded splits.
 * Included in contract.ts.
 */
import { z } from 'zod';
import { slideFilter, slideSelection, type SlideFilter } from './library.js';
import { id, shortText } from './schemas.js';

export interface Cohort {
  id: number;
  name: string;
  /** 'filter': re-evaluated whenever used; 'explicit': a fixed member list. */
  kind: 'filter' | 'explicit';
  /** The saved filter (kind 'filter'), null otherwise. */
  filter: SlideFilter | null;
  /** Slides in it now. */
  slideCount: number;
  createdAt: string;
}

/** k folds (parts fold-1..fold-k; fold i is held out when training on the others), or train/val/test
 * fractions (two fractions give train/test). */
export type SplitScheme = { kind: 'folds'; folds: number } | { kind: 'fractions'; fractions: number[] };
const splitScheme = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('folds'), folds: z.number().int().min(2).max(100) }).strict(),
  z
    .object({
      kind: z.literal('fractions'),
      fractions: z
        .array(z.number().min(0).max(1))
        .min(2)
        .max(3)
        .refine((f) => Math.abs(f.reduce((a, b) => a + b, 0) - 1) < 1e-6, 'the fractions must add up to 1')
        .refine((f) => f[0]! > 0, 'the training fraction must be above 0'),
    })
    .strict(),
]);

export interface SplitPart {
  /** 'fold-1'..'fold-k', or 'train', 'val', 'test'. */
  name: string;
  slideCount: number;
  patientCount: number;
  /** Slides per class (a continuous task's classes are its quartile bins, e.g. "Q1 (≤ 2.5)"). */
  counts: Record<string, number>;
}

export interface SplitSummary {
  /** Null for a preview that was not saved. */
  id: number | null;
  name: string;
  taskId: number;
  taskName: string;
  cohortId: number | null;
  cohortName: string | null;
  seed: number;
  scheme: SplitScheme;
  /** The classes in the order the count table shows them. */
  classes: string[];
  parts: SplitPart[];
  /** Slides of the cohort left out, and why. */
  left: { excluded: number; unlabeled: number };
  /** E.g. "fold-3 has no slide of class LUSC." or "4 slides have no patient; each counted as its own." */
  warnings: string[];
  createdAt: string | null;
}

export interface SplitMember {
  slideId: number;
  /** As stored when the split was made (the slide may since have been renamed or removed). */
  slideName: string;
  patient: string | null;
  value: string;
}

export interface SplitDetail extends SplitSummary {
  members: Record<string, SplitMember[]>;
}

const splitInput = z
  .object({
    taskId: id,
    /** Default: every slide of the project. */
    cohortId: id.optional(),
    scheme: splitScheme,
    /** Default: a random 32-bit seed (returned and stored). */
    seed: z.number().int().min(0).max(0xffffffff).optional(),
  })
  .strict();

export const cohortCommandInputs = {
  /** Every cohort with its current slide count. */
  'cohorts.list': z.object({}).strict(),
  /** A cohort from a filter (saved, re-evaluated when used) or from a selection (frozen to its ids now). */
  'cohorts.create': z.union([
    z.object({ name: shortText('the cohort name', 100), filter: slideFilter }).strict(),
    z.object({ name: shortText('the cohort name', 100), selection: slideSelection }).strict(),
  ]),
  'cohorts.rename': z.object({ cohortId: id, name: shortText('the cohort name', 100) }).strict(),
  /** Replaces a filter cohort's filter. */
  'cohorts.setFilter': z.object({ cohortId: id, filter: slideFilter }).strict(),
  /** Adds slides to, or removes them from, an explicit cohort. */
  'cohorts.addSlides': z.object({ cohortId: id, selection: slideSelection }).strict(),
  'cohorts.removeSlides': z.object({ cohortId: id, selection: slideSelection }).strict(),
  /** Deletes the cohort (not its slides; splits made from it keep their member lists). */
  'cohorts.delete': z.object({ cohortId: id }).strict(),
  /** The cohort's slide ids now, in id order. */
  'cohorts.evaluate': z.object({ cohortId: id }).strict(),
  /** What a split would be, without saving it (same seed, same result). */
  'splits.preview': splitInput,
  /** Makes and stores a split: seed, parameters and exact member list. Default name
   * "<task> <k>-fold seed <S>" or "<task> 70/15/15 seed <S>". */
  'splits.create': splitInput.extend({ name: shortText('the split name', 100).optional() }).strict(),
  /** Every stored split (without members), newest first. */
  'splits.list': z.object({}).strict(),
  /** A stored split with its members per part, exactly as stored. */
  'splits.get': z.object({ splitId: id }).strict(),
  'splits.rename': z.object({ splitId: id, name: shortText('the split name', 100) }).strict(),
  'splits.delete': z.object({ splitId: id }).strict(),
} as const;

export interface CohortCommandResults {
  'cohorts.list': { cohorts: Cohort[] };
  'cohorts.create': Cohort;
  'cohorts.rename': Cohort;
  'cohorts.setFilter': Cohort;
  'cohorts.addSlides': Cohort;
  'cohorts.removeSlides': Cohort;
  'cohorts.delete': null;
  'cohorts.evaluate': { slideIds: number[] };
  'splits.preview': SplitDetail;
  'splits.create': SplitDetail;
  'splits.list': { splits: SplitSummary[] };
  'splits.get': SplitDetail;
  'splits.rename': SplitSummary;
  'splits.delete': null;
}
