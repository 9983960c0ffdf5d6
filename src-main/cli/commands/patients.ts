import type { Command } from 'commander';
import { applyPatientPattern, previewPatientPattern, TCGA_PATIENT_PATTERN } from '../../project/patients.js';
import { openProject } from '../../project/project.js';
import type { CliIo } from '../index.js';

const SHOWN = 20;

/** `tessera patients`: assign patients from the slides' file names. */
export function register(program: Command, io: CliIo): void {
  program
    .command('patients')
    .description(
      'assign each slide a patient from its file name: the first group of a regular expression ' +
        '(default: the TCGA barcode, the first 12 characters of TCGA file names)',
    )
    .argument('<dir>', 'project folder')
    .option('--pattern <regex>', `regular expression with one group (default ${TCGA_PATIENT_PATTERN})`)
    .option('--overwrite', 'also change slides that already have a patient')
    .option('--dry-run', 'show what would be assigned, write nothing')
    .option('--json', 'print JSON')
    .action(
      async (
        dir: string,
        opts: { pattern?: string; overwrite?: boolean; dryRun?: boolean; json?: boolean },
      ) => {
        const project = await openProject(dir);
        try {
          const q = { pattern: opts.pattern, overwrite: !!opts.overwrite };
          const preview = previewPatientPattern(project.db, {
            ...q,
            offset: 0,
            limit: opts.json ? 1_000_000 : SHOWN,
          });
          const applied = opts.dryRun ? null : applyPatientPattern(project.db, q);
          if (opts.json) {
            io.out(
              JSON.stringify({ ...preview, dryRun: !!opts.dryRun, changed: applied?.changed ?? 0 }, null, 2) +
                '\n',
            );
            return;
          }
          const lines = [
            `Pattern ${preview.pattern}: ${preview.matched} of ${preview.considered} slide(s) match, ${preview.changes} would change.`,
            ...preview.rows.map(
              (r) =>
                `  ${r.name}  →  ${r.proposed ?? '(no match)'}${r.current && r.current !== r.proposed ? ` (was ${r.current})` : ''}`,
            ),
            ...(preview.considered > SHOWN ? [`  … and ${preview.considered - SHOWN} more`] : []),
            applied ? `Assigned patients to ${applied.changed} slide(s).` : 'Dry run: nothing written.',
          ];
          io.out(lines.join('\n') + '\n');
        } finally {
          project.close();
        }
      },
    );
}
