/**
 * Removing slides from a project: their rows go in one transaction (labels with them, each leaving a
 * history row marked slide-removed; cohort memberships; patients left with no slide), then their cache
 * files: thumbnail and reduced copy by slide id, and, where no slide left in the project has the same file
 * (fingerprint), the files `fileCaches` names for it (the caller knows the caches kept per slide file: tissue
 * masks, heatmap rasters). The slide files themselves are never touched. Stored splits keep their member lists, and removed
 * ids are never given to a new slide.
 */
import fs from 'node:fs';
import type { Db } from '../db/connection.js';
import { thumbnailPath } from './import.js';
import { withWriteReason } from './labels-repo.js';
import { deleteOrphanPatients } from './patients-repo.js';
import type { Project } from './project.js';
import { reducedCopyPath } from './reduced-copies.js';
import { raiseHighWater } from './row-ids-repo.js';
import { deleteSlideRow, getSlide } from './slides-repo.js';

export function removeSlides(
  project: Project,
  slideIds: number[],
  fileCaches: (fingerprint: string) => string[] = () => [],
): { removed: number; cacheFilesRemoved: number } {
  const db: Db = project.db;
  const fingerprints = new Set<string>();
  const removed = db.transaction(() =>
    withWriteReason(db, 'slide-removed', () => {
      const gone: number[] = [];
      for (const id of slideIds) {
        const fingerprint = getSlide(db, id)?.fingerprint;
        if (deleteSlideRow(db, id)) {
          gone.push(id);
          if (fingerprint) fingerprints.add(fingerprint);
        }
      }
      if (gone.length) raiseHighWater(db, 'slides', Math.max(...gone));
      deleteOrphanPatients(db);
      return gone;
    }),
  )();
  const files = removed.flatMap((id) => [thumbnailPath(project, id), reducedCopyPath(project, id)]);
  const stillUsed = db.prepare('SELECT 1 FROM slides WHERE fingerprint = ? LIMIT 1');
  for (const fingerprint of fingerprints)
    if (!stillUsed.get(fingerprint)) files.push(...fileCaches(fingerprint));
  let cacheFilesRemoved = 0;
  for (const file of files) {
    try {
      fs.unlinkSync(file);
      cacheFilesRemoved++;
    } catch {
      // Not made for this slide (or already gone): nothing to remove.
    }
  }
  return { removed: removed.length, cacheFilesRemoved };
}
