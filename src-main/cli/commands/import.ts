import type { Command } from 'commander';
import path from 'node:path';
import type { ImportProgress } from '../../contract/contract.js';
import { importSlides } from '../../project/import.js';
import { openProject } from '../../project/project.js';
import { slideToolkit } from '../../project/slide-toolkit.js';
import type { CliIo } from '../index.js';

export function register(program: Command, io: CliIo): void {
  program
    .command('import')
    .description('import the slides found in SLIDES_FOLDER (recursively) into project DIR')
    .argument('<dir>', 'project folder')
    .argument('<slides-folder>', 'folder with whole-slide images')
    .option('--json', 'print the summary as JSON')
    .action(async (dir: string, folder: string, opts: { json?: boolean }) => {
      const project = await openProject(dir);
      let summary: ImportProgress;
      try {
        let lastFile: string | null = null;
        summary = await importSlides(project, folder, slideToolkit(), {
          onProgress: (p) => {
            if (opts.json || !p.current || p.current === lastFile) return;
            lastFile = p.current;
            io.err(`[${p.done + 1}/${p.total}] ${path.relative(path.resolve(folder), p.current)}\n`);
          },
        });
      } finally {
        project.close();
      }
      if (opts.json) io.out(JSON.stringify(summary, null, 2) + '\n');
      else {
        io.out(
          `Imported ${summary.imported} new slide(s), refreshed ${summary.updated}, ${summary.errors.length} could not be read (of ${summary.total} found in ${summary.folder}).\n`,
        );
        for (const e of summary.errors) io.out(`  ${e.reason}\n`);
        if (summary.warnings.length > 0) io.out(`Imported with problems:\n`);
        for (const w of summary.warnings) io.out(`  ${w.reason}\n`);
      }
      if (summary.total > 0 && summary.errors.length === summary.total) {
        throw new Error(`None of the ${summary.total} file(s) in ${summary.folder} could be imported.`);
      }
    });
}
