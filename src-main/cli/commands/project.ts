import type { Command } from 'commander';
import type { ProjectInfo } from '../../contract/contract.js';
import { createProject, openProject, projectInfo } from '../../project/project.js';
import type { CliIo } from '../index.js';

export function register(program: Command, io: CliIo): void {
  const project = program.command('project').description('create and inspect projects');

  project
    .command('init')
    .description('create a new project in DIR (created if missing)')
    .argument('<dir>', 'project folder')
    .option('--name <name>', 'project name (default: the folder name)')
    .action(async (dir: string, opts: { name?: string }) => {
      const p = await createProject(dir, opts.name);
      const info = projectInfo(p);
      p.close();
      io.out(`Created project "${info.name}" in ${info.dir}\n`);
    });

  project
    .command('info')
    .description('show a project summary')
    .argument('<dir>', 'project folder')
    .option('--json', 'print JSON')
    .action(async (dir: string, opts: { json?: boolean }) => {
      const p = await openProject(dir, { readOnly: true });
      const info = projectInfo(p);
      p.close();
      io.out(opts.json ? JSON.stringify(info, null, 2) + '\n' : formatInfo(info));
    });
}

function formatInfo(info: ProjectInfo): string {
  const lines = [
    `Project   ${info.name}`,
    `Folder    ${info.dir}`,
    `Created   ${info.createdAt}`,
    `Schema    ${info.schemaVersion}`,
    `Slides    ${info.slideCount}`,
    `Patients  ${info.patientCount}`,
    `Tasks     ${info.taskCount}`,
    `Cohorts   ${info.cohortCount}`,
  ];
  if (info.migratedFromBackup) lines.push(`Migrated  backup of the older file: ${info.migratedFromBackup}`);
  return lines.join('\n') + '\n';
}
