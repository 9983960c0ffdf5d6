import type { Command } from 'commander';
import type { SlideFilter } from '../../contract/contract.js';
import { ApiError } from '../../contract/errors.js';
import { createExplicitCohort, createFilterCohort, listCohorts } from '../../project/cohorts.js';
import { openProject } from '../../project/project.js';
import { selectExistingSlideIds } from '../../project/slide-query-repo.js';
import { readTaskValue } from '../../project/task-values.js';
import { getTaskByName } from '../../project/tasks.js';
import { UsageError } from '../errors.js';
import type { CliIo } from '../index.js';
import { openProjectForReading } from '../read-only-project.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `tessera cohorts create|list`: saved filters and fixed sets of slides. */
export function register(program: Command, io: CliIo): void {
  const cohorts = program
    .command('cohorts')
    .description('cohorts: saved slide filters or fixed sets of slides');

  cohorts
    .command('create')
    .description(
      'create a cohort: a saved filter from --where (re-evaluated when used), or a fixed set from --slides',
    )
    .argument('<dir>', 'project folder')
    .argument('<name>', 'cohort name')
    .option(
      '--where <TASK=VALUE>',
      'slides whose TASK is VALUE (TASK= for no value); repeat to narrow',
      collect,
    )
    .option('--slides <ids>', 'comma-separated slide ids (a fixed set)')
    .option('--json', 'print the cohort as JSON')
    .action(
      async (dir: string, name: string, opts: { where?: string[]; slides?: string; json?: boolean }) => {
        if (opts.where?.length && opts.slides) throw new UsageError('Give --where or --slides, not both.');
        const project = await openProject(dir);
        try {
          const cohort = opts.slides
            ? createExplicitCohort(project.db, name, slideIds(project.db, opts.slides))
            : createFilterCohort(project.db, name, whereFilter(project.db, opts.where ?? []));
          io.out(
            opts.json
              ? JSON.stringify(cohort, null, 2) + '\n'
              : `Created cohort ${cohort.name} (${cohort.kind === 'filter' ? 'saved filter' : 'fixed set'}): ${cohort.slideCount} slide(s) now.\n`,
          );
        } finally {
          project.close();
        }
      },
    );

  cohorts
    .command('list')
    .description('list the cohorts of project DIR with their slide counts')
    .argument('<dir>', 'project folder')
    .option('--json', 'print JSON')
    .action(async (dir: string, opts: { json?: boolean }) => {
      const project = await openProjectForReading(dir);
      try {
        const list = listCohorts(project.db);
        if (opts.json) io.out(JSON.stringify(list, null, 2) + '\n');
        else if (!list.length) io.out('No cohorts yet.\n');
        else io.out(list.map((c) => `${c.name}  ${c.kind}  ${c.slideCount} slide(s)`).join('\n') + '\n');
      } finally {
        project.close();
      }
    });
}

type Db = Parameters<typeof getTaskByName>[0];

function slideIds(db: Db, list: string): number[] {
  const ids = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = ids.filter((s) => !/^\d+$/.test(s));
  if (!ids.length || bad.length)
    throw new UsageError(`--slides takes comma-separated slide ids, got "${list}".`);
  const wanted = ids.map(Number);
  const existing = new Set(selectExistingSlideIds(db, wanted));
  const missing = wanted.filter((id) => !existing.has(id));
  if (missing.length)
    throw new ApiError('not-found', `There is no slide with id ${missing.join(', ')} in this project.`);
  return [...existing];
}

/** `TASK=VALUE` conditions: values of one task are alternatives, different tasks all must hold. */
function whereFilter(db: Db, where: string[]): SlideFilter {
  const values = new Map<number, string[]>();
  const missing: number[] = [];
  for (const w of where) {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new UsageError(`--where takes TASK=VALUE, got "${w}".`);
    const task = getTaskByName(db, w.slice(0, eq).trim());
    const raw = w.slice(eq + 1).trim();
    if (!raw) {
      missing.push(task.id);
      continue;
    }
    if (task.kind === 'continuous')
      throw new UsageError(
        `--where ${w}: ${task.name} is continuous; a cohort by its value is not supported from the command line.`,
      );
    const reading = readTaskValue(task, raw);
    if (!reading.ok || reading.value === null)
      throw new UsageError(`--where ${w}: ${reading.ok ? 'no value' : reading.reason}.`);
    values.set(task.id, [...(values.get(task.id) ?? []), reading.value]);
  }
  const filter: SlideFilter = {};
  if (values.size) filter.taskValues = [...values].map(([taskId, v]) => ({ taskId, values: v }));
  if (missing.length) filter.missingTaskIds = missing;
  return filter;
}
