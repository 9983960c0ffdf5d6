import type { Command } from 'commander';
import type { SplitDetail, SplitScheme } from '../../contract/contract.js';
import { getCohortByName } from '../../project/cohorts.js';
import { openProject } from '../../project/project.js';
import { createSplit } from '../../project/splits.js';
import { getTaskByName } from '../../project/tasks.js';
import { parseIntegerOption, UsageError } from '../errors.js';
import type { CliIo } from '../index.js';

/** `tessera split`: a stored, patient-level, stratified, seeded split. */
export function register(program: Command, io: CliIo): void {
  program
    .command('split')
    .description(
      'split the labeled, non-excluded slides of a cohort (default: all) by patient, stratified by a task, ' +
        'into k folds or train/val/test fractions; the split is stored with its seed and members',
    )
    .argument('<dir>', 'project folder')
    .requiredOption('--task <name>', 'the task to stratify by')
    .option('--cohort <name>', 'the cohort to split (default: every slide)')
    .option('--folds <k>', 'number of folds')
    .option('--fractions <a,b[,c]>', 'train,val,test fractions (or train,test), adding up to 1')
    .option('--seed <n>', 'random seed (default: a random one, stored and printed)')
    .option('--name <name>', 'split name (default: "<task> <scheme> seed <n>")')
    .option('--json', "print the split's name and every part's slides with patient and value")
    .action(async (dir: string, opts: Record<string, string | boolean | undefined>) => {
      const scheme = parseScheme(opts.folds as string | undefined, opts.fractions as string | undefined);
      const seed =
        opts.seed !== undefined
          ? parseIntegerOption('--seed', opts.seed as string, 0, 0xffffffff)
          : undefined;
      const project = await openProject(dir);
      let split: SplitDetail;
      try {
        const task = getTaskByName(project.db, opts.task as string);
        const cohort = opts.cohort ? getCohortByName(project.db, opts.cohort as string) : undefined;
        split = createSplit(project.db, {
          taskId: task.id,
          cohortId: cohort?.id,
          scheme,
          seed,
          name: opts.name as string | undefined,
        });
      } finally {
        project.close();
      }
      io.out(opts.json ? JSON.stringify(splitJson(split), null, 2) + '\n' : splitTable(split));
    });
}

function parseScheme(folds: string | undefined, fractions: string | undefined): SplitScheme {
  if ((folds === undefined) === (fractions === undefined))
    throw new UsageError('Give either --folds K or --fractions 0.7,0.15,0.15.');
  if (folds !== undefined) return { kind: 'folds', folds: parseIntegerOption('--folds', folds, 2, 100) };
  const parts = fractions!.split(',').map((f) => Number(f.trim()));
  if (parts.length < 2 || parts.length > 3 || parts.some((f) => !Number.isFinite(f) || f < 0 || f > 1))
    throw new UsageError(`--fractions takes two or three numbers between 0 and 1, got "${fractions}".`);
  if (Math.abs(parts.reduce((a, b) => a + b, 0) - 1) > 1e-6)
    throw new UsageError(`--fractions must add up to 1, got ${parts.join(' + ')}.`);
  if (parts[0] === 0) throw new UsageError('--fractions: the training fraction must be above 0.');
  return { kind: 'fractions', fractions: parts };
}

function splitJson(s: SplitDetail) {
  return {
    name: s.name,
    id: s.id,
    task: s.taskName,
    cohort: s.cohortName,
    seed: s.seed,
    scheme: s.scheme,
    counts: Object.fromEntries(s.parts.map((p) => [p.name, p.counts])),
    warnings: s.warnings,
    parts: Object.fromEntries(
      Object.entries(s.members).map(([part, list]) => [
        part,
        list.map((m) => ({ slideId: m.slideId, slide: m.slideName, patient: m.patient, value: m.value })),
      ]),
    ),
  };
}

function splitTable(s: SplitDetail): string {
  const head = ['part', ...s.classes, 'slides', 'patients'];
  const rows = s.parts.map((p) => [
    p.name,
    ...s.classes.map((c) => String(p.counts[c] ?? 0)),
    String(p.slideCount),
    String(p.patientCount),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return (
    [
      `Split "${s.name}" (${s.taskName}${s.cohortName ? `, cohort ${s.cohortName}` : ''}, seed ${s.seed})`,
      line(head),
      ...rows.map(line),
      `Left out: ${s.left.excluded} excluded, ${s.left.unlabeled} without a value.`,
      ...s.warnings.map((w) => `Warning: ${w}`),
    ].join('\n') + '\n'
  );
}
