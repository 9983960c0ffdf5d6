import type { Command } from 'commander';
import type { CsvColumn, CsvColumnMapping } from '../../contract/contract.js';
import { exportLabelsCsv, writeTextFile } from '../../project/label-csv-export.js';
import { applyCsvImport, previewCsvImport, type CsvImportOptions } from '../../project/label-csv-import.js';
import type { CsvPlan } from '../../project/label-csv-plan.js';
import { readCsvFile } from '../../project/label-csv-read.js';
import { openProject } from '../../project/project.js';
import { listTasks } from '../../project/tasks.js';
import { UsageError } from '../errors.js';
import type { CliIo } from '../index.js';
import { openProjectForReading } from '../read-only-project.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `tessera labels import|export`: slide labels as CSV (Slideflow/CLAM columns). */
export function register(program: Command, io: CliIo): void {
  const labels = program.command('labels').description('import and export slide labels as CSV');

  labels
    .command('import')
    .description(
      'import labels from a CSV (a slide column, optionally a patient column, one column per task); ' +
        'rows that cannot be taken are listed with their reason and make the exit status 1',
    )
    .argument('<dir>', 'project folder')
    .argument('<file>', 'CSV file (comma, semicolon or tab separated)')
    .option(
      '--map <column=role>',
      'map a column to patient, slide, ignore or a task name (repeatable)',
      collect,
    )
    .option('--create-tasks', 'make a task of every column that names none (binary for two values)')
    .option('--dry-run', 'show what would change, write nothing')
    .option('--author <name>', 'recorded as the labels’ author')
    .option('--json', 'print the outcome as JSON')
    .action(
      async (
        dir: string,
        file: string,
        opts: { map?: string[]; createTasks?: boolean; dryRun?: boolean; author?: string; json?: boolean },
      ) => {
        const table = await readCsvFile(file);
        const project = await openProject(dir);
        let plan: CsvPlan;
        let taskNames: Map<number, string>;
        try {
          const options: CsvImportOptions = {
            mapping: parseMappings(opts.map ?? [], table.header, project.db, !!opts.createTasks),
            createTasks: !!opts.createTasks,
          };
          plan = opts.dryRun
            ? previewCsvImport(project.db, table, options)
            : applyCsvImport(project.db, table, options, opts.author ?? null).plan;
          taskNames = new Map(listTasks(project.db).map((t) => [t.id, t.name]));
        } finally {
          project.close();
        }
        if (opts.json) {
          const { summary, columns, rejected, warnings } = plan;
          io.out(
            JSON.stringify({ file, dryRun: !!opts.dryRun, summary, columns, rejected, warnings }, null, 2) +
              '\n',
          );
        } else io.out(report(file, table.delimiter, plan, taskNames, !!opts.dryRun));
        if (plan.rejected.length)
          throw new Error(`${plan.rejected.length} row(s) of ${file} were not imported (reasons above).`);
      },
    );

  labels
    .command('export')
    .description('write the labels of project DIR as CSV (patient, slide, one column per task)')
    .argument('<dir>', 'project folder')
    .requiredOption('-o, --output <file.csv>', 'CSV file to write')
    .action(async (dir: string, opts: { output: string }) => {
      const project = await openProjectForReading(dir);
      try {
        const { csv, rows } = exportLabelsCsv(project.db);
        const target = writeTextFile(opts.output, csv);
        io.out(`Wrote ${rows} slide(s) to ${target}\n`);
      } finally {
        project.close();
      }
    });
}

/** `--map COLUMN=patient|slide|ignore|TASK`: a task by name; a new one with --create-tasks. */
function parseMappings(
  maps: string[],
  header: string[],
  db: Parameters<typeof listTasks>[0],
  createTasks: boolean,
): Record<string, CsvColumnMapping> {
  const tasks = listTasks(db);
  const out: Record<string, CsvColumnMapping> = {};
  for (const m of maps) {
    const eq = m.indexOf('=');
    if (eq <= 0 || eq === m.length - 1)
      throw new UsageError(`--map takes COLUMN=patient|slide|ignore|TASK, got "${m}".`);
    const column = m.slice(0, eq).trim();
    const target = m.slice(eq + 1).trim();
    const match =
      header.find((h) => h === column) ?? header.find((h) => h.toLowerCase() === column.toLowerCase());
    if (!match)
      throw new UsageError(
        `--map names column "${column}", which the file does not have (columns: ${header.join(', ')}).`,
      );
    const role = target.toLowerCase();
    if (role === 'patient' || role === 'slide' || role === 'ignore') out[match] = { role };
    else {
      const task = tasks.find((t) => t.name.toLowerCase() === role);
      if (task) out[match] = { role: 'task', taskId: task.id };
      else if (createTasks) out[match] = { role: 'new-task', name: target };
      else
        throw new UsageError(
          `--map ${m}: there is no task named "${target}" (add it with \`tessera tasks add\`, or pass --create-tasks).`,
        );
    }
  }
  return out;
}

function describeColumn(c: CsvColumn, plan: CsvPlan, taskNames: Map<number, string>): string {
  const m = c.mapping;
  if (m.role === 'task') return `${c.name} → task ${taskNames.get(m.taskId) ?? m.taskId}`;
  if (m.role === 'new-task') {
    const t = plan.newTasks.find((n) => n.column === c.index);
    return `${c.name} → new ${t?.kind ?? ''} task ${t?.name ?? c.name}${t?.values.length ? ` (${t.values.join(', ')})` : ''}`;
  }
  return `${c.name} → ${m.role === 'ignore' ? 'ignored' : m.role}`;
}

function report(
  file: string,
  delimiter: string,
  plan: CsvPlan,
  taskNames: Map<number, string>,
  dryRun: boolean,
): string {
  const s = plan.summary;
  const lines = [
    `Read ${file}: ${s.rows} row(s), ${delimiter === '\t' ? 'tab' : `"${delimiter}"`}-separated.`,
    `Columns: ${plan.columns.map((c) => describeColumn(c, plan, taskNames)).join('; ')}`,
    `${dryRun ? 'Would import' : 'Imported'}: ${s.new} new label(s), ${s.changed} changed, ${s.unchanged} unchanged` +
      `${s.patientsAssigned ? `; ${s.patientsAssigned} patient(s) assigned` : ''}` +
      `${s.newTasks.length ? `; ${dryRun ? 'would create' : 'created'} task(s) ${s.newTasks.map((t) => t.name).join(', ')}` : ''}.`,
    ...plan.warnings.map((w) => `Warning: ${w}`),
  ];
  if (plan.rejected.length) {
    lines.push(`Rejected ${plan.rejected.length} row(s):`);
    for (const r of plan.rejected) lines.push(`  ${r.reason}`);
  }
  return lines.join('\n') + '\n';
}
