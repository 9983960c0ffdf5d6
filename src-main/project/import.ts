/**
 * Slide import: walk a folder, open every candidate file, store its metadata and fingerprint, write a
 * thumbnail into the project's cache, and report progress. A file that cannot be read is listed with its
 * reason and never stops the import; each slide is stored in its own transaction, so cancelling or a
 * crash keeps every slide imported before it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ImportProgress } from '../contract/contract.js';
import { ApiError } from '../contract/errors.js';
import type { ReducedCopy } from '../slides/index.js';
import type { SlideReader } from '../slides/types.js';
import { reducedCopyPath, saveReducedCopy } from './reduced-copies.js';
import type { Project } from './project.js';
import { upsertSlide } from './slides-repo.js';

/** File endings of the formats the built-in reader or OpenSlide can open. */
export const SLIDE_EXTENSIONS = [
  '.svs',
  '.tif',
  '.tiff',
  '.btf',
  '.ndpi',
  '.mrxs',
  '.scn',
  '.vms',
  '.vmu',
  '.bif',
  '.svslide',
];

export interface SlideToolkit {
  open(file: string): Promise<SlideReader>;
  /** JPEG bytes of a thumbnail whose longer side is at most `maxSize`. */
  thumbnail(reader: SlideReader, maxSize: number): Promise<Uint8Array>;
  fingerprint(reader: SlideReader): Promise<string>;
  /** The reduced copy the viewer's coarse levels come from, where the slide needs one (reduced-copies.ts). */
  reducedCopy(reader: SlideReader): Promise<ReducedCopy | undefined>;
}

export const THUMBNAIL_SIZE = 256;

export function thumbnailPath(project: Project, slideId: number): string {
  return path.join(project.dir, 'cache', 'thumbnails', `${slideId}.jpg`);
}

export async function findSlideFiles(folder: string): Promise<string[]> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(folder);
  } catch {
    throw new ApiError('not-found', `The folder ${folder} does not exist.`);
  }
  if (!stat.isDirectory()) throw new ApiError('bad-input', `${folder} is a file, not a folder.`);
  const entries = await fs.promises.readdir(folder, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => path.join(e.parentPath, e.name))
    .filter((f) => SLIDE_EXTENSIONS.includes(path.extname(f).toLowerCase()))
    .sort();
}

export async function importSlides(
  project: Project,
  folderInput: string,
  toolkit: SlideToolkit,
  options: { onProgress?: (p: ImportProgress) => void; signal?: AbortSignal; importId?: string } = {},
): Promise<ImportProgress> {
  const folder = path.resolve(folderInput);
  const files = await findSlideFiles(folder);
  const progress: ImportProgress = {
    importId: options.importId ?? '',
    folder,
    total: files.length,
    done: 0,
    current: null,
    imported: 0,
    updated: 0,
    errors: [],
    warnings: [],
    state: 'running',
  };
  const report = () => {
    const snapshot: ImportProgress = {
      ...progress,
      errors: [...progress.errors],
      warnings: [...progress.warnings],
    };
    options.onProgress?.(snapshot);
  };
  report();
  fs.mkdirSync(path.dirname(thumbnailPath(project, 0)), { recursive: true });
  for (const file of files) {
    progress.current = file;
    report();
    // Checked after reporting, so a cancel asked for on any progress event stops before the next file.
    if (options.signal?.aborted) {
      progress.state = 'cancelled';
      break;
    }
    try {
      const { created, problems } = await importOne(project, file, toolkit);
      for (const reason of problems) progress.warnings.push({ file, reason });
      if (created) progress.imported++;
      else progress.updated++;
    } catch (err) {
      progress.errors.push({ file, reason: err instanceof Error ? err.message : String(err) });
    }
    progress.done++;
  }
  progress.current = null;
  if (progress.state === 'running') progress.state = 'finished';
  report();
  return progress;
}

/** Reads everything first, then writes: a file that fails half-way leaves no row and no thumbnail. */
async function importOne(
  project: Project,
  file: string,
  toolkit: SlideToolkit,
): Promise<{ created: boolean; problems: string[] }> {
  const reader = await toolkit.open(file);
  try {
    const { metadata } = reader;
    const level0 = metadata.levels[0];
    if (!level0) throw new Error(`Cannot read slide ${path.basename(file)}: it has no image levels.`);
    const [thumbnail, fingerprint, stat] = await Promise.all([
      toolkit.thumbnail(reader, THUMBNAIL_SIZE),
      toolkit.fingerprint(reader),
      fs.promises.stat(file),
    ]);
    const reduced = await toolkit.reducedCopy(reader);
    const { id, created } = project.db.transaction(() =>
      upsertSlide(project.db, {
        path: file,
        name: path.basename(file),
        vendor: metadata.vendor,
        backend: metadata.backend,
        width: level0.width,
        height: level0.height,
        levelCount: metadata.levels.length,
        mppX: metadata.mppX ?? null,
        mppY: metadata.mppY ?? null,
        objectivePower: metadata.objectivePower ?? null,
        fileSize: stat.size,
        fingerprint,
      }),
    )();
    const target = thumbnailPath(project, id);
    fs.writeFileSync(`${target}.tmp`, thumbnail);
    fs.renameSync(`${target}.tmp`, target);
    if (reduced) await saveReducedCopy(project, id, fingerprint, reduced);
    else fs.rmSync(reducedCopyPath(project, id), { force: true });
    return { created, problems: metadata.problems };
  } finally {
    await reader.close();
  }
}
