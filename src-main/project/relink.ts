/**
 * Relinking moved slides: for every slide whose file is no longer at its stored path, look in a folder
 * (recursively) for a file with the same fingerprint (import stores it: size, level-0 size, hashes of the
 * header and of samples). Only files whose size matches a missing slide's are opened, so a large folder
 * costs little. Matched slides get their new path (and file name) in one transaction; ids, labels and
 * cache files stay.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RelinkResult } from '../contract/contract.js';
import { findSlideFiles, type SlideToolkit } from './import.js';
import type { Project } from './project.js';
import { selectSlideFiles, updateSlidePath } from './slides-repo.js';

/** The file size a fingerprint starts with (slides/fingerprint.ts: `<size>-<w>x<h>-...`). */
function fingerprintSize(fingerprint: string | null): number | null {
  const m = fingerprint ? /^(\d+)-/.exec(fingerprint) : null;
  return m ? Number(m[1]) : null;
}

export async function relinkSlides(
  project: Project,
  folder: string,
  toolkit: Pick<SlideToolkit, 'open' | 'fingerprint'>,
  dryRun: boolean,
): Promise<RelinkResult> {
  const root = path.resolve(folder);
  const slides = selectSlideFiles(project.db);
  const missing = slides.filter((s) => !fs.existsSync(s.path));
  const known = new Set(slides.map((s) => s.path));
  const files = (await findSlideFiles(root)).filter((f) => !known.has(f));
  const bySize = new Map<number, typeof missing>();
  for (const s of missing) {
    const size = fingerprintSize(s.fingerprint);
    if (size === null) continue;
    const list = bySize.get(size);
    if (list) list.push(s);
    else bySize.set(size, [s]);
  }
  const matched: RelinkResult['matched'] = [];
  const taken = new Set<number>();
  const used = new Set<string>();
  for (const file of files) {
    let size: number;
    try {
      size = (await fs.promises.stat(file)).size;
    } catch {
      continue;
    }
    const candidates = bySize.get(size)?.filter((s) => !taken.has(s.id));
    if (!candidates?.length) continue;
    let fingerprint: string;
    try {
      const reader = await toolkit.open(file);
      try {
        fingerprint = await toolkit.fingerprint(reader);
      } finally {
        await reader.close();
      }
    } catch {
      continue; // An unreadable file matches nothing; it is listed as unused.
    }
    const slide = candidates.find((s) => s.fingerprint === fingerprint);
    if (!slide) continue;
    taken.add(slide.id);
    used.add(file);
    matched.push({ slideId: slide.id, name: slide.name, oldPath: slide.path, newPath: file });
  }
  if (!dryRun && matched.length) {
    project.db.transaction(() => {
      for (const m of matched) updateSlidePath(project.db, m.slideId, m.newPath, path.basename(m.newPath));
    })();
  }
  return {
    matched,
    unmatched: missing
      .filter((s) => !taken.has(s.id))
      .map((s) => ({ slideId: s.id, name: s.name, path: s.path })),
    unusedFiles: files.filter((f) => !used.has(f)),
    present: slides.length - missing.length,
    dryRun,
  };
}

/** Slides whose file is not at its stored path. */
export function missingSlides(project: Project): { id: number; name: string; path: string }[] {
  return selectSlideFiles(project.db)
    .filter((s) => !fs.existsSync(s.path))
    .map(({ id, name, path: p }) => ({ id, name, path: p }));
}
