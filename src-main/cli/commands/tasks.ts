import type { Command } from 'commander';
import { TASK_KINDS, type Task, type TaskKind } from '../../contract/contract.js';
import { openProject } from '../../project/project.js';
import { createTask, listTasks } from '../../project/tasks.js';
import { UsageError } from '../errors.js';
import type { CliIo } from '../index.js';
import { openProjectForReading } from '../read-only-project.js';

/** `tessera tasks add|list`: the label schemas of a project. */
export function register(program: Command, io: CliIo): void {
  const tasks = program.command('tasks').description('label tasks (binary, categorical, continuous)');

  tasks
    .command('add')
    .description('add a task to project DIR')
    .argument('<dir>', 'project folder')
    .argument('<name>', 'task name')
    .requiredOption('--kind <kind>', `one of ${TASK_KINDS.join(', ')}`)
    .option('--values <a,b,...>', 'allowed values (binary: negative,positive; default no,yes)')
    .option('--min <n>', 'smallest value (continuous)')
    .option('--max <n>', 'largest value (continuous)')
    .option('--json', 'print the task as JSON')
    .action(async (dir: string, name: string, opts: Record<string, string | boolean | undefined>) => {
      const kind = opts.kind as string;
      if (!(TASK_KINDS as readonly string[]).includes(kind))
        throw new UsageError(`--kind must be one of ${TASK_KINDS.join(', ')}, got "${kind}".`);
      const values =
        typeof opts.values === 'string'
          ? opts.values
              .split(',')
              .map((v) => v.trim())
              .filter(Boolean)
              .map((v) => ({ name: v }))
          : undefined;
      const bound = (flag: string, v: unknown) => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isFinite(n)) throw new UsageError(`${flag} must be a number, got "${String(v)}".`);
        return n;
      };
      const project = await openProject(dir);
      try {
        const task = createTask(project.db, {
          name,
          kind: kind as TaskKind,
          values,
          min: bound('--min', opts.min),
          max: bound('--max', opts.max),
        });
        io.out(opts.json ? JSON.stringify(task, null, 2) + '\n' : `Added task ${describe(task)}\n`);
      } finally {
        project.close();
      }
    });

  tasks
    .command('list')
    .description('list the tasks of project DIR with their values and label counts')
    .argument('<dir>', 'project folder')
    .option('--json', 'print JSON')
    .action(async (dir: string, opts: { json?: boolean }) => {
      const project = await openProjectForReading(dir);
      try {
        const list = listTasks(project.db);
        if (opts.json) io.out(JSON.stringify(list, null, 2) + '\n');
        else if (!list.length) io.out('No tasks yet (add one with `tessera tasks add`).\n');
        else io.out(list.map((t) => `${describe(t)}  ${t.labelCount} label(s)`).join('\n') + '\n');
      } finally {
        project.close();
      }
    });
}

function describe(t: Task): string {
  const what =
    t.kind === 'continuous'
      ? `continuous${t.min !== null || t.max !== null ? ` ${t.min ?? '-∞'}..${t.max ?? '∞'}` : ''}`
      : `${t.kind}: ${t.values.map((v) => `${v.name}${v.key ? ` [${v.key}]` : ''}`).join(', ')}`;
  return `${t.name} (${what})`;
}
