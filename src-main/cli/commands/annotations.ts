import type { Command } from 'commander';
import type { Db } from '../../db/connection.js';
import { geometryArea } from '../../contract/annotation-shapes.js';
import { importFeatures, toAnnotation } from '../../project/annotations.js';
import { selectAnnotationClasses, selectSlideAnnotations } from '../../project/annotations-repo.js';
import { featureCollectionText } from '../../project/geojson-write.js';
import { readGeoJsonFile } from '../../project/geojson-read.js';
import { writeTextFile } from '../../project/label-csv-export.js';
import { selectSlideIdentities, type SlideIdentity } from '../../project/patients-repo.js';
import { openProject } from '../../project/project.js';
import { SlideMatcher } from '../../project/slide-matcher.js';
import { getSlide } from '../../project/slides-repo.js';
import { UsageError } from '../errors.js';
import type { CliIo } from '../index.js';
import { openProjectForReading } from '../read-only-project.js';

/** The slide SLIDE names: its file name, its name without extension, its path, or its id. */
function findSlide(db: Db, slide: string): SlideIdentity {
  const match = new SlideMatcher(selectSlideIdentities(db)).match(slide);
  if ('error' in match) throw new UsageError(`SLIDE: ${match.error}.`);
  return match.slide;
}

/** `tessera annotations import|export|list`: a slide's region annotations as QuPath-style GeoJSON. */
export function register(program: Command, io: CliIo): void {
  const annotations = program
    .command('annotations')
    .description('import and export region annotations as GeoJSON (QuPath 0.4/0.5)');

  annotations
    .command('import')
    .description(
      'read a GeoJSON FeatureCollection (or QuPath\u2019s array of features) onto a slide; classes it names ' +
        'are created; features that cannot be kept are listed and make the exit status 1',
    )
    .argument('<dir>', 'project folder')
    .argument('<slide>', 'slide: file name, name without extension, path or id')
    .argument('<file>', 'GeoJSON file (level-0 pixel coordinates)')
    .option('--author <name>', 'recorded as the shapes\u2019 author')
    .option('--json', 'print the outcome as JSON')
    .action(
      async (dir: string, slideName: string, file: string, opts: { author?: string; json?: boolean }) => {
        const read = await readGeoJsonFile(file);
        const project = await openProject(dir);
        let outcome: ReturnType<typeof importFeatures>;
        let slide: SlideIdentity;
        try {
          slide = findSlide(project.db, slideName);
          outcome = importFeatures(project.db, slide.id, read, opts.author ?? null);
        } finally {
          project.close();
        }
        if (opts.json) {
          const { edit: _edit, annotationIds: _ids, ...rest } = outcome;
          io.out(
            JSON.stringify(
              { file, slide: slide.name, ...rest, repaired: read.repaired, skipped: read.skipped },
              null,
              2,
            ) + '\n',
          );
        } else {
          const lines = [`Imported ${outcome.imported} feature(s) of ${read.fileName} onto ${slide.name}.`];
          if (outcome.classesCreated.length) lines.push(`New classes: ${outcome.classesCreated.join(', ')}.`);
          for (const w of outcome.warnings) if (!w.startsWith('The import is too large')) lines.push(w);
          for (const s of read.skipped) lines.push(`  skipped feature ${s.index}: ${s.reason}`);
          io.out(lines.join('\n') + '\n');
        }
        if (read.skipped.length)
          throw new Error(`${read.skipped.length} feature(s) of ${file} were not imported (reasons above).`);
      },
    );

  annotations
    .command('export')
    .description('write the annotations of a slide as a GeoJSON FeatureCollection, as QuPath writes it')
    .argument('<dir>', 'project folder')
    .argument('<slide>', 'slide: file name, name without extension, path or id')
    .requiredOption('-o, --output <file.geojson>', 'GeoJSON file to write')
    .action(async (dir: string, slideName: string, opts: { output: string }) => {
      const project = await openProjectForReading(dir);
      try {
        const slide = findSlide(project.db, slideName);
        const { text, features } = featureCollectionText(
          selectSlideAnnotations(project.db, slide.id),
          selectAnnotationClasses(project.db),
        );
        const target = writeTextFile(opts.output, text);
        io.out(`Wrote ${features} feature(s) of ${slide.name} to ${target}\n`);
      } finally {
        project.close();
      }
    });

  annotations
    .command('list')
    .description(
      'count a slide\u2019s annotations by class, with their area (µm² where the slide has a resolution)',
    )
    .argument('<dir>', 'project folder')
    .argument('<slide>', 'slide: file name, name without extension, path or id')
    .action(async (dir: string, slideName: string) => {
      const project = await openProjectForReading(dir);
      try {
        const slide = findSlide(project.db, slideName);
        const row = getSlide(project.db, slide.id);
        const mpp = row?.mppX && row.mppY ? row.mppX * row.mppY : null;
        const classes = new Map(selectAnnotationClasses(project.db).map((c) => [c.id, c.name]));
        const byClass = new Map<string, { n: number; area: number }>();
        for (const r of selectSlideAnnotations(project.db, slide.id)) {
          const a = toAnnotation(r);
          const key = a.classId !== null ? (classes.get(a.classId) ?? '?') : '(no class)';
          const entry = byClass.get(key) ?? { n: 0, area: 0 };
          entry.n += 1;
          entry.area += geometryArea(a.geometry);
          byClass.set(key, entry);
        }
        const unit = mpp ? 'µm²' : 'px²';
        const lines = [...byClass].map(
          ([name, { n, area }]) => `${name}\t${n}\t${Math.round(mpp ? area * mpp : area)} ${unit}`,
        );
        io.out(`class\tshapes\tarea\n${lines.join('\n')}${lines.length ? '\n' : ''}`);
      } finally {
        project.close();
      }
    });
}
